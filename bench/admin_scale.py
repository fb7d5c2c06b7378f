"""The admin at scale: server time and query count of the Installation changelist (first
page, searches, every list filter) and the overview, as the installations grow.

    python -m bench admin_scale                        # 10,000 and 50,000 rows, in the table
    python -m bench.admin_scale --rows 10000,100000,1000000 \\
        --database-url postgres://postgres@127.0.0.1:5432/slack_installs_bench

The second form (docs/benchmarks.md's figures) also prints the table per page and size.

Each size runs in a process of its own on a fresh database: the installations are
written in one stream (``COPY`` on PostgreSQL, ``executemany`` elsewhere), every
encrypted column holding one fixed ciphertext, then ``VACUUM ANALYZE`` (a settled
table, as autovacuum leaves it). The apps, names and flags follow ``_rows``: four apps
of very different sizes, team names from a vocabulary (a word alone matches 1 row in
40), some revoked, needing re-install, missing scopes, org-wide, tokens due. Each
installation has its history (``InstallationEvent``, and the weekly counts kept from it),
and there is one install attempt per 50 installations over the last 90 days.

A page is fetched with Django's test client as a logged-in superuser: the figure is
the median of ``--repeat`` fetches after one discarded. Every fetch also counts its
queries and the values decrypted (``slack_installs.crypto.decrypt`` wrapped): the
admin must answer in as many queries at every size and decrypt nothing.
The figure followed is the time at each size against the smallest: target ≤ 3×.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from bench.harness import Result, counting_decrypts, database_label, setup_django

TARGET = 3.0
DEFAULT_ROWS = "10000,50000"
# name, share of the installations
APPS = [("Main", 0.70), ("Second", 0.20), ("Third", 0.09), ("Small", 0.01)]
ADJECTIVES = [
    "Agile",
    "Amber",
    "Ancient",
    "Arctic",
    "Azure",
    "Bold",
    "Brave",
    "Bright",
    "Calm",
    "Clever",
    "Cobalt",
    "Cosmic",
    "Crimson",
    "Daring",
    "Eager",
    "Electric",
    "Emerald",
    "Fancy",
    "Fierce",
    "Gentle",
    "Golden",
    "Grand",
    "Happy",
    "Hidden",
    "Honest",
    "Iron",
    "Jolly",
    "Lucky",
    "Lunar",
    "Mighty",
    "Noble",
    "Quiet",
    "Rapid",
    "Royal",
    "Silent",
    "Silver",
    "Solar",
    "Swift",
]
NOUNS = [
    "Otter",
    "Falcon",
    "Harbor",
    "Forge",
    "Meadow",
    "Summit",
    "Canyon",
    "River",
    "Beacon",
    "Anchor",
    "Badger",
    "Comet",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Garden",
    "Glacier",
    "Hawk",
    "Island",
    "Jaguar",
    "Lantern",
    "Maple",
    "Nebula",
    "Orchard",
    "Panda",
    "Pioneer",
    "Quarry",
    "Raven",
    "Rocket",
    "Sparrow",
    "Tiger",
    "Tundra",
    "Valley",
    "Willow",
    "Yak",
]
SUFFIX_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _rows(rows: int, app_ids: list[int], token: str, refresh: str) -> Iterator[dict[str, Any]]:
    """``rows`` installations as {attname: value}, the same for a given size on every run."""
    rng = random.Random(17)
    now = datetime.datetime.now(datetime.UTC)
    cumulative = []
    total = 0.0
    for app_id, (_, share) in zip(app_ids, APPS, strict=True):
        total += share
        cumulative.append((total, app_id))
    for index in range(rows):
        draw = rng.random()
        app_id = next(app for bound, app in cumulative if draw <= bound) if draw < 1 else app_ids[0]
        suffix = "".join(rng.choice(SUFFIX_LETTERS) for _ in range(5))
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {suffix}"
        org_wide = rng.random() < 0.03
        in_grid = org_wide or rng.random() < 0.05
        installed_at = now - datetime.timedelta(seconds=rng.randrange(3 * 365 * 86400))
        revoked = rng.random() < 0.05
        rotating = rng.random() < 0.5
        expires = None
        if rotating and not revoked:
            # Tokens live 12 hours: about one in twelve expires within the hour.
            expires = now + datetime.timedelta(seconds=rng.randrange(-600, 12 * 3600))
        enterprise_id = f"E{index % 5000:08d}" if in_grid else ""
        yield {
            "app_id": app_id,
            "enterprise_id": f"E{index:09d}" if org_wide else enterprise_id,
            "enterprise_name": f"{name.split()[0]} Group" if in_grid else "",
            "enterprise_url": "",
            "team_id": "" if org_wide else f"T{index:09d}",
            "team_name": "" if org_wide else name,
            "is_enterprise_install": org_wide,
            "bot_user_id": "U0BOT",
            "bot_id": "B0BOT",
            "bot_scopes": "chat:write,commands",
            "bot_token": None if revoked else token,
            "bot_refresh_token": refresh if rotating and not revoked else None,
            "bot_token_expires_at": expires,
            "incoming_webhook_url": None,
            "incoming_webhook_channel": "",
            "incoming_webhook_channel_id": "",
            "incoming_webhook_configuration_url": "",
            "installer_user_id": "U0INSTALLER",
            "installed_by_id": None,
            "installed_at": installed_at,
            "updated_at": installed_at,
            "revoked_at": installed_at + datetime.timedelta(days=30) if revoked else None,
            "needs_reinstall_at": now if not revoked and rng.random() < 0.01 else None,
            "custom_values": "{}",
            "scopes_missing": rng.random() < 0.02,
            "checked_at": None,
        }


def _write(model: Any, source: Iterable[dict[str, Any]]) -> int:
    """Write ``source``'s rows ({attname: value}; a missing column gets its field's default)
    into ``model``'s table in one stream; return how many.

    Hand-written for speed (this benchmark's fill): a million rows through the ORM would
    take longer than every measurement together.
    """
    from django.db import connections, router, transaction

    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = {field.attname: field.get_default() for field in fields}
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    written = 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        values = ([{**defaults, **row}[field.attname] for field in fields] for row in source)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:  # psycopg's own cursor: COPY
                    copy.write_row(row)
                    written += 1
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            batch: list[list[Any]] = []
            for row in values:
                batch.append(row)
                if len(batch) == 5000:
                    cursor.executemany(sql, batch)
                    written += len(batch)
                    batch.clear()
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


# The two below read the table they derive from in full before they return: the rows are
# written while a COPY holds the connection, which can then run no other query.


def _events() -> list[dict[str, Any]]:
    """The history of every installation written: installed at its ``installed_at`` and,
    when revoked, revoked at its ``revoked_at``, as ``InstallationEvent.record`` keeps it."""
    from slack_installs.models import Installation

    rows = Installation.objects.order_by("pk").values_list(
        "pk", "app_id", "installed_at", "revoked_at"
    )
    events = []
    for pk, app_id, installed_at, revoked_at in rows.iterator(chunk_size=10_000):
        events.append(
            {"app_id": app_id, "installation_id": pk, "kind": "installed", "at": installed_at}
        )
        if revoked_at is not None:
            events.append(
                {"app_id": app_id, "installation_id": pk, "kind": "revoked", "at": revoked_at}
            )
    return events


def _weekly_counts() -> list[dict[str, Any]]:
    """The events rolled up per app, week and kind, as ``InstallationEvent.record`` does."""
    from slack_installs.models import InstallationEvent, week_of

    counts: Counter[tuple[int, datetime.date, str]] = Counter()
    events = InstallationEvent.objects.values_list("app_id", "at", "kind")
    for app_id, at, kind in events.iterator(chunk_size=10_000):
        counts[(app_id, week_of(at), kind)] += 1
    return [
        {"app_id": app_id, "week": week, "kind": kind, "count": count}
        for (app_id, week, kind), count in counts.items()
    ]


# Install attempts: one per 50 installations over the last 90 days (what cleanup keeps).
ATTEMPTS_PER_INSTALLATION = 0.02
OUTCOMES = [
    ("succeeded", "", 0.80),
    ("failed", "access_denied", 0.06),
    ("failed", "invalid_state", 0.03),
    ("failed", "slack_error", 0.02),
    ("denied", "", 0.04),
    ("pending", "", 0.05),
]


def _attempts(rows: int, app_ids: list[int]) -> Iterator[dict[str, Any]]:
    rng = random.Random(29)
    now = datetime.datetime.now(datetime.UTC)
    for index in range(int(rows * ATTEMPTS_PER_INSTALLATION)):
        created = now - datetime.timedelta(seconds=rng.randrange(90 * 86400))
        status, error, _ = rng.choices(OUTCOMES, weights=[share for *_, share in OUTCOMES])[0]
        yield {
            "app_id": rng.choices(app_ids, weights=[share for _, share in APPS])[0],
            "status": status,
            "error": error,
            "state_digest": f"{index:064x}",
            "created_at": created,
            "expires_at": created + datetime.timedelta(minutes=10),
            "finished_at": None if status == "pending" else created,
            "response": None,
        }


def populate(rows: int) -> dict[str, Any]:
    """Write the apps and ``rows`` installations; return what the pages will ask for."""
    from django.db import connections, router

    from slack_installs import crypto
    from slack_installs.models import (
        Installation,
        InstallationEvent,
        InstallationEventCount,
        OAuthAttempt,
        SlackApp,
    )

    apps = [
        SlackApp.objects.create(
            name=name, slug=name.lower(), client_id=f"bench.{index}", client_secret="secret"
        )
        for index, (name, _) in enumerate(APPS)
    ]
    token = crypto.encrypt("xoxb-1-bench-token-abcdefghijklmnop")
    refresh = crypto.encrypt("xoxe-1-bench-refresh-abcdefghijklmnop")
    started = time.perf_counter()
    _write(Installation, _rows(rows, [app.pk for app in apps], token, refresh))
    events = _write(InstallationEvent, _events())
    _write(InstallationEventCount, _weekly_counts())
    attempts = _write(OAuthAttempt, _attempts(rows, [app.pk for app in apps]))
    filled = time.perf_counter() - started
    connection = connections[router.db_for_write(Installation)]
    with connection.cursor() as cursor:
        # VACUUM (visibility map, as autovacuum leaves a settled table) cannot run in a
        # transaction, which a test's fill is in.
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        settle = "VACUUM ANALYZE" if vacuum else "ANALYZE"
        if connection.vendor == "mysql":
            # ANALYZE TABLE commits on MariaDB/MySQL: not inside a test's transaction.
            settle = "" if connection.in_atomic_block else "ANALYZE TABLE"
        for model in (Installation, InstallationEvent, InstallationEventCount, OAuthAttempt):
            if settle:
                cursor.execute(f"{settle} {connection.ops.quote_name(model._meta.db_table)}")
    print(
        f"  admin_scale: {rows:,} rows, {events:,} events and {attempts:,} attempts written "
        f"in {filled:.1f}s, analysed in {time.perf_counter() - started - filled:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    first = (
        Installation.objects.exclude(team_name="").order_by("pk").values("team_name", "team_id")[0]
    )
    return {"apps": apps, "name": first["team_name"], "team_id": first["team_id"]}


def pages(found: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) of every page measured."""
    from django.urls import reverse

    changelist = reverse("admin:slack_installs_installation_changelist")
    apps = found["apps"]
    name = found["name"]
    listed = [
        ("changelist, first page", ""),
        ("search: team-name prefix, selective", f"q={name[: name.rfind(' ') + 3]}"),
        ("search: team-name prefix, one word (1 in 40)", f"q={name.split()[0]}"),
        ("search: team id", f"q={found['team_id']}"),
        ("filter: app (70% of rows)", f"app__id__exact={apps[0].pk}"),
        ("filter: app (1% of rows)", f"app__id__exact={apps[-1].pk}"),
        ("filter: status active", "status=active"),
        ("filter: status revoked", "status=revoked"),
        ("filter: kind Enterprise Grid", "kind=enterprise"),
        ("filter: kind standalone", "kind=workspace"),
        ("filter: org-wide yes", "is_enterprise_install__exact=1"),
        ("filter: org-wide no", "is_enterprise_install__exact=0"),
        ("filter: needs re-install yes", "needs_reinstall=yes"),
        ("filter: needs re-install no", "needs_reinstall=no"),
        ("filter: scopes missing", "scopes=missing"),
        ("filter: scopes up to date", "scopes=up_to_date"),
        ("filter: active and scopes missing", "status=active&scopes=missing"),
        ("filter: bot token due for refresh", "token=due"),
    ]
    urls = [(label, f"{changelist}?{query}" if query else changelist) for label, query in listed]
    urls.append(("overview", reverse("admin:slack_installs_overview")))
    # What a bar of the overview's weekly chart links to: one app's installs of one week.
    week = datetime.datetime.now(datetime.UTC) - datetime.timedelta(weeks=3)
    events = reverse("admin:slack_installs_installationevent_changelist")
    bounds = urlencode(
        {
            "app__id__exact": apps[0].pk,
            "kind__in": "installed,reinstalled",
            "at__gte": week.isoformat(),
            "at__lt": (week + datetime.timedelta(weeks=1)).isoformat(),
        }
    )
    urls.append(("events of one week (an overview bar's link)", f"{events}?{bounds}"))
    return urls


def measure_page(client: Any, url: str, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    queries = []
    with counting_decrypts() as decrypted:
        for run in range(repeat + 1):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if run:  # the first fetch warms caches and is discarded
                samples.append(elapsed * 1000)
                queries.append(len(captured))
    return {
        "ms": statistics.median(samples),
        "queries": max(queries),
        "decrypted": decrypted.count,
    }


def measure(rows: int, repeat: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    found = populate(rows)
    user = get_user_model().objects.create_superuser("bench-admin", "admin@bench.invalid", "x")
    client = Client()
    client.force_login(user)
    figures = {}
    for label, url in pages(found):
        figures[label] = measure_page(client, url, repeat)
    return {"rows": rows, "database": database_label(), "pages": figures}


def one_size(argv: list[str]) -> None:
    """In a fresh process: fill one size, measure, print the figures as one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    setup_django(args.database_url)
    print(json.dumps(measure(args.size, args.repeat)))


def wide_table(runs: list[dict[str, Any]]) -> str:
    """page | ms at each size | ratio largest/smallest | queries (docs/benchmarks.md's table)."""
    sizes = [run["rows"] for run in runs]
    head = " | ".join(f"{size:,} rows, ms" for size in sizes)
    lines = [
        f"| page | {head} | ratio | queries | decrypted |",
        "|---|" + "---|" * (len(sizes) + 3),
    ]
    for label in runs[-1]["pages"]:
        cells = [run["pages"].get(label) for run in runs]
        times = " | ".join("" if cell is None else f"{cell['ms']:.1f}" for cell in cells)
        ratio = ""
        if cells[0] and cells[-1]:
            ratio = f"{cells[-1]['ms'] / cells[0]['ms']:.2f}×"
        counts = sorted({cell["queries"] for cell in cells if cell})
        decrypted = sum(cell["decrypted"] for cell in cells if cell)
        lines.append(
            f"| {label} | {times} | {ratio} | {'/'.join(map(str, counts))} | {decrypted} |"
        )
    return "\n".join(lines)


def run(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m bench admin_scale", description=__doc__)
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=5, help="fetches per page (after one)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args, _ = parser.parse_known_args(argv)
    sizes = [int(size) for size in args.rows.split(",")]
    database = ["--database-url", args.database_url] if args.database_url else []
    runs = []
    for size in sizes:
        print(f"  admin_scale: {size:,} installations", file=sys.stderr, flush=True)
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from bench.admin_scale import one_size; one_size(sys.argv[1:])",
                "--size",
                str(size),
                "--repeat",
                str(args.repeat),
                *database,
            ],
            capture_output=True,
            text=True,
        )
        sys.stderr.write(completed.stderr)
        if completed.returncode != 0:
            raise SystemExit(f"admin_scale at {size:,} rows failed")
        runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    print(wide_table(runs), file=sys.stderr, flush=True)
    smallest = runs[0]
    results = []
    # The target is PostgreSQL's: SQLite has no index for the prefix search.
    target = TARGET if smallest["database"].startswith("PostgreSQL") else None
    for run_ in runs[1:]:
        for label, figure in run_["pages"].items():
            base = smallest["pages"].get(label)
            if base is None:
                continue
            results.append(
                Result(
                    f"admin at scale ({run_['database']})",
                    f"{label}: ms at {run_['rows']:,} vs {smallest['rows']:,} rows",
                    figure["ms"],
                    base["ms"],
                    "ms",
                    target,
                )
            )
        results.append(
            Result(
                f"admin at scale ({run_['database']})",
                f"most queries of a page at {run_['rows']:,} vs {smallest['rows']:,} rows",
                max(figure["queries"] for figure in run_["pages"].values()),
                max(figure["queries"] for figure in smallest["pages"].values()),
                "",
                1.0,
            )
        )
    results.append(
        Result(
            f"admin at scale ({runs[-1]['database']})",
            "values decrypted by every page at every size",
            sum(f["decrypted"] for run_ in runs for f in run_["pages"].values()),
            None,
            "",
            0,
        )
    )
    return results


if __name__ == "__main__":
    from bench.harness import format_table

    print(format_table(run(sys.argv[1:])))
