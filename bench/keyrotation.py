"""Key rotation throughput next to the raw cryptography, in one run on one machine.

    python -m bench keyrotation [--rows 100000] [--batch-size 500] [--database-url URL]

Fills a scratch database (a fresh SQLite file, or ``bench_<name>`` next to the
PostgreSQL database of ``--database-url`` / ``DATABASE_URL``) with installations
whose bot token and refresh token are encrypted under an old key, then times
``slack_installs.keyrotation.rotate_keys`` moving them to a new key, and a plain
``MultiFernet.rotate`` loop over the same tokens. The difference is what the
database and the library add on top of the cryptography.
"""

from __future__ import annotations

import argparse
import time

from bench.harness import Result, database_label, setup_django

VALUES_PER_ROW = 2  # bot_token and bot_refresh_token


def _populate(rows: int) -> None:
    from slack_installs import crypto
    from slack_installs.fields import Ciphertext
    from slack_installs.models import Installation, SlackApp

    app = SlackApp.objects.create(
        name="Bench", slug="bench", client_id="bench.1", client_secret="bench-secret"
    )
    batch: list[Installation] = []
    for index in range(rows):
        batch.append(
            Installation(
                app=app,
                team_id=f"T{index:08d}",
                bot_token=Ciphertext(crypto.encrypt(f"xoxe.xoxb-1-bench-{index:08d}")),
                bot_refresh_token=Ciphertext(crypto.encrypt(f"xoxe-1-bench-{index:08d}")),
            )
        )
        if len(batch) == 5000:
            Installation.objects.bulk_create(batch)
            batch.clear()
    Installation.objects.bulk_create(batch)


def _stored_tokens() -> list[bytes]:
    from slack_installs.models import Installation

    tokens = []
    for row in Installation.objects.values_list("bot_token", "bot_refresh_token").iterator(
        chunk_size=5000
    ):
        tokens.extend(value.split(":", 2)[2].encode("ascii") for value in row)
    return tokens


def _raw_rotate(tokens: list[bytes], old_key: str, new_key: str) -> float:
    from cryptography.fernet import Fernet, MultiFernet

    multi = MultiFernet([Fernet(new_key), Fernet(old_key)])
    started = time.perf_counter()
    for token in tokens:
        multi.rotate(token)
    return time.perf_counter() - started


class _DatabaseClock:
    """Adds up the time spent inside SQL statements (the database's share of the work)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def measure(rows: int, batch_size: int) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import override_settings

    from slack_installs import crypto, keyrotation

    old_key, new_key = crypto.generate_key(), crypto.generate_key()
    keys = {"ENCRYPTION_KEYS": {"old": old_key, "new": new_key}}
    with override_settings(SLACK_INSTALLS={**keys, "ACTIVE_KEY_ID": "old"}):
        _populate(rows)
        tokens = _stored_tokens()
    crypto_seconds = _raw_rotate(tokens, old_key, new_key)
    with override_settings(SLACK_INSTALLS={**keys, "ACTIVE_KEY_ID": "new"}):
        database_clock = _DatabaseClock()
        with connection.execute_wrapper(database_clock):
            started = time.perf_counter()
            reports = keyrotation.rotate_keys(batch_size=batch_size)
            rotate_seconds = time.perf_counter() - started
        started = time.perf_counter()
        keyrotation.rotate_keys(batch_size=batch_size)
        rerun_seconds = time.perf_counter() - started
        usage = keyrotation.key_usage()["slack_installs.Installation"]
    done = sum(report.values_reencrypted for report in reports)
    expected = rows * VALUES_PER_ROW + 1  # and the app's client secret
    if done != expected or any(set(counter) - {"new"} for counter in usage.values()):
        raise SystemExit(f"rotation incomplete: {done} of {expected} values")
    return {
        "rows": rows,
        "values": len(tokens),
        "crypto_seconds": crypto_seconds,
        "rotate_seconds": rotate_seconds,
        "database_seconds": database_clock.seconds,
        "rerun_seconds": rerun_seconds,
    }


def run(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m bench keyrotation", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="installations (default 100000)")
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="rows per batch (default 1000)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args, _ = parser.parse_known_args(argv)
    setup_django(args.database_url)
    result = measure(args.rows, args.batch_size)
    label = f"key rotation, {args.rows:,} installs ({database_label()})"
    crypto_s, rotate_s = result["crypto_seconds"], result["rotate_seconds"]
    return [
        Result(
            label,
            "rows/s: rotate_keys vs raw MultiFernet.rotate loop",
            args.rows / rotate_s,
            args.rows / crypto_s,
            "rows/s",
        ),
        Result(
            label,
            "time in SQL vs time in raw crypto",
            result["database_seconds"],
            crypto_s,
            "s",
            1.0,
        ),
        Result(
            label, "rerun with nothing to do vs first run", result["rerun_seconds"], rotate_s, "s"
        ),
    ]
