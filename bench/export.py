"""Export N installations to CSV: our streamed resource against import-export's default.

The baseline is what a project writes without thinking: a plain ``ModelResource``
over the same model columns, exported the way the admin does it (a
``tablib.Dataset``, then ``CSV().export_data``). Ours is
``InstallationResource().stream_csv``, read to the end as a download would be.
A plain ``values_list`` + ``csv.writer`` loop is shown as the floor.

    python -m bench export --rows 2000
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools

from bench.harness import (
    Result,
    counting_decrypts,
    database_label,
    peak_memory,
    setup_django,
    timed,
)

MiB = 1024 * 1024
TARGET = 0.3  # time and peak memory, as a ratio to the baseline


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench export", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="installations to export")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the best one counts")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    options, _ = parser.parse_known_args(argv)
    return options


def seed(rows: int) -> None:
    """Replace every installation with ``rows`` new ones (a third with a user token)."""
    from slack_installs import crypto
    from slack_installs.fields import Ciphertext
    from slack_installs.models import Installation, SlackApp, UserToken

    Installation.objects.all().delete()
    app, _ = SlackApp.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "client_id": "bench.1", "client_secret": "x" * 32}
    )
    # Encrypting is not what is measured: a handful of stored values, reused.
    tokens = [Ciphertext(crypto.encrypt(f"xoxb-bench-token-{n:04d}")) for n in range(8)]
    webhook = Ciphertext(crypto.encrypt("https://hooks.slack.com/services/T/B/bench"))
    numbers = iter(range(rows))
    while batch := list(itertools.islice(numbers, 5000)):
        Installation.objects.bulk_create(
            Installation(
                app=app,
                team_id=f"T{n:08d}",
                team_name=f"Workspace {n}",
                enterprise_id=f"E{n % 50:05d}" if n % 10 == 0 else "",
                enterprise_name=f"Grid {n % 50}" if n % 10 == 0 else "",
                bot_user_id=f"U{n:08d}",
                bot_id=f"B{n:08d}",
                bot_scopes="chat:write,commands,channels:read",
                bot_token=tokens[n % len(tokens)],
                incoming_webhook_url=webhook if n % 4 == 0 else None,
                incoming_webhook_channel="#general" if n % 4 == 0 else "",
                installer_user_id=f"U{n:08d}",
            )
            for n in batch
        )
    installed = Installation.objects.filter(team_id__endswith="0").values_list("pk", flat=True)
    pks = iter(installed.iterator())
    while batch := list(itertools.islice(pks, 5000)):
        UserToken.objects.bulk_create(
            UserToken(installation_id=pk, slack_user_id="U0", access_token=tokens[0])
            for pk in batch
        )


def baseline_resource():
    """import-export's default ``ModelResource`` over the model columns we export."""
    from import_export import resources

    from slack_installs.models import Installation
    from slack_installs.resources import InstallationResource

    columns = [
        name
        for name in InstallationResource._meta.fields
        if name not in {"app", "has_bot_token", "has_user_token", "token_expires_at"}
    ]

    class DefaultInstallationResource(resources.ModelResource):
        class Meta:
            model = Installation
            fields = [*columns, "app", "bot_token_expires_at"]

    return DefaultInstallationResource()


def export_baseline() -> int:
    from import_export.formats import base_formats

    from slack_installs.models import Installation

    dataset = baseline_resource().export(queryset=Installation.objects.all())
    return len(base_formats.CSV().export_data(dataset))


def export_ours() -> int:
    from slack_installs.models import Installation
    from slack_installs.resources import InstallationResource

    return sum(
        len(chunk) for chunk in InstallationResource().stream_csv(Installation.objects.all())
    )


def export_floor() -> int:
    from slack_installs.models import Installation
    from slack_installs.resources import InstallationResource

    columns = [
        name
        for name in InstallationResource._meta.fields
        if name not in {"app", "has_bot_token", "has_user_token", "token_expires_at"}
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    total = 0
    for count, row in enumerate(Installation.objects.values_list(*columns).iterator(2000)):
        writer.writerow(row)
        if count % 500 == 0:
            total += len(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    return total + len(buffer.getvalue())


def run(argv: list[str]) -> list[Result]:
    options = parse(argv)
    setup_django(options.database_url)
    seed(options.rows)
    name = f"export {options.rows:,} installations to CSV ({database_label()})"
    export_ours()  # warm the database's page cache for everyone
    base_time, base_bytes = timed(export_baseline, options.repeat)
    with counting_decrypts() as decrypted:
        our_time, our_bytes = timed(export_ours, options.repeat)
        our_peak, _ = peak_memory(export_ours)
    base_peak, _ = peak_memory(export_baseline)
    floor_time, _ = timed(export_floor, options.repeat)
    floor_peak, _ = peak_memory(export_floor)
    return [
        Result(name, "time", our_time, base_time, "s", TARGET),
        Result(name, "peak memory", our_peak / MiB, base_peak / MiB, "MiB", TARGET),
        Result(name, "tokens decrypted", decrypted.count, None, "", 0),
        Result(name, "floor (values_list+csv) time", floor_time, base_time, "s"),
        Result(name, "floor peak memory", floor_peak / MiB, base_peak / MiB, "MiB"),
        Result(name, "file size, ours / default", our_bytes / MiB, base_bytes / MiB, "MiB"),
    ]
