"""What every benchmark shares: a fresh database, timers, memory peaks, results."""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """One line of the table: our figure, the baseline's, and the target ratio."""

    benchmark: str
    measure: str
    ours: float
    baseline: float | None = None
    unit: str = ""
    target: float | None = None  # ours / baseline must stay at or below this
    at_least: bool = False  # the target is a floor instead: ours / baseline at or above it

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        figure = self.ours if self.baseline is None else self.ratio
        if figure is None:
            return False
        return figure >= self.target if self.at_least else figure <= self.target


def format_table(results: list[Result]) -> str:
    """A Markdown table, readable in a terminal and in docs/benchmarks.md alike."""
    lines = [
        "| benchmark | measure | ours | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]

    def number(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"

    for result in results:
        ratio = result.ratio
        baseline = "" if result.baseline is None else f"{number(result.baseline)} {result.unit}"
        target = ""
        if result.target is not None:
            target = f"{'≥' if result.at_least else '≤'} {result.target:g}"
            target += "×" if result.baseline is not None else ""
        lines.append(
            f"| {result.benchmark} | {result.measure} | {number(result.ours)} {result.unit} "
            f"| {baseline} | {'' if ratio is None else f'{ratio:.2f}×'} | {target} "
            f"| {({True: 'yes', False: 'NO', None: ''})[result.met]} |"
        )
    return "\n".join(lines)


def setup_django(database_url: str | None = None) -> str:
    """Point Django at a fresh benchmark database, migrate it, return its vendor.

    Without ``database_url`` a new SQLite file is used; a PostgreSQL database is
    emptied first, so its name must contain "bench".
    """
    if database_url:
        _create_postgres_database(database_url)
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        handle, path = tempfile.mkstemp(
            prefix="slack-installs-bench-", suffix=".sqlite3", dir=os.environ.get("BENCH_TMPDIR")
        )
        os.close(handle)
        os.environ["BENCH_SQLITE_PATH"] = path
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        if "bench" not in name:
            raise SystemExit(f"refusing to empty database {name!r}: its name must contain 'bench'")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


def _create_postgres_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it does not exist yet."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    ) as server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            server.execute(f'CREATE DATABASE "{name}"')


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.pg_version // 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def sqlalchemy_url() -> str:
    """The same database as Django's, as a SQLAlchemy URL."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgresql+psycopg://{settings['USER']}{password}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def create_installations(app: Any, rows: int, *, also_for: Any = None) -> list[str]:
    """Bulk-create ``rows`` installations of ``app`` (every tenth workspace also of
    ``also_for``, so lookups must tell apps apart); return their team ids."""
    from slack_installs import crypto
    from slack_installs.fields import Ciphertext
    from slack_installs.models import Installation

    team_ids = [f"T{index:08d}" for index in range(rows)]
    batch: list[Installation] = []
    for index, team_id in enumerate(team_ids):
        token = Ciphertext(crypto.encrypt(f"xoxb-{index}-bench-token-abcdefghijklmnop"))
        owners = (app, also_for) if also_for is not None and index % 10 == 0 else (app,)
        batch.extend(
            Installation(
                app=owner,
                team_id=team_id,
                team_name=f"Team {index}",
                bot_token=token,
                bot_user_id="U0BOT",
                bot_id="B0BOT",
                bot_scopes="chat:write",
            )
            for owner in owners
        )
        if len(batch) >= 5000:
            Installation.objects.bulk_create(batch)
            batch = []
    Installation.objects.bulk_create(batch)
    return team_ids


@dataclass
class Timing:
    median_us: float
    p95_us: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Timing:
        ordered = sorted(samples_ns)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return cls(statistics.median(ordered) / 1000, p95 / 1000)


def time_calls(function: Callable[[Any], Any], arguments: list[Any]) -> Timing:
    """Time one call per argument, after a short warm-up."""
    for argument in arguments[:50]:
        function(argument)
    samples = []
    clock = time.perf_counter_ns
    for argument in arguments:
        start = clock()
        function(argument)
        samples.append(clock() - start)
    return Timing.of(samples)


def timed(function: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """The best wall time of ``repeat`` calls, and the last call's result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory(function: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated by Python while ``function`` runs (tracemalloc), and its result."""
    tracemalloc.start()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


@dataclass
class DecryptCount:
    count: int = 0


@contextlib.contextmanager
def counting_decrypts() -> Iterator[DecryptCount]:
    """Count the values ``slack_installs.crypto.decrypt`` decrypts inside the block (what a
    page or an export must keep at 0)."""
    from unittest import mock

    from slack_installs import crypto

    counted = DecryptCount()
    real_decrypt = crypto.decrypt

    def counting_decrypt(stored: str) -> str:
        counted.count += 1
        return real_decrypt(stored)

    with mock.patch.object(crypto, "decrypt", counting_decrypt):
        yield counted
