"""What every benchmark shares: a fresh database, timers, and the results table.

Absolute times drift on a shared machine, so every figure is reported next to a
baseline measured in the same run, as a ratio.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def setup_django(database_url: str | None = None) -> str:
    """Point Django at a fresh benchmark database, migrate it, return its label."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        handle, path = tempfile.mkstemp(prefix="slack-installs-bench-", suffix=".sqlite3")
        os.close(handle)
        os.environ["BENCH_SQLITE_PATH"] = path
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        _recreate_postgres_database(connection)
    call_command("migrate", verbosity=0)
    return connection.vendor


def _recreate_postgres_database(connection: Any) -> None:
    """Empty the benchmark's PostgreSQL database (it must be a throwaway one)."""
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"refusing to wipe database {name!r}: its name must contain 'bench'")
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")


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


@dataclass
class Row:
    benchmark: str
    measure: str
    ours: str
    baseline: str
    ratio: float | None
    target: str = ""

    @property
    def verdict(self) -> str:
        if not self.target or self.ratio is None:
            return ""
        limit = float(self.target.lstrip("≤<= ").rstrip("×x"))
        return "met" if self.ratio <= limit else "MISSED"


def format_table(rows: list[Row]) -> str:
    """A Markdown table, readable in a terminal and in docs/benchmarks.md alike."""
    lines = [
        "| benchmark | measure | ours | baseline | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}×"
        lines.append(
            f"| {row.benchmark} | {row.measure} | {row.ours} | {row.baseline} | {ratio} "
            f"| {row.target} | {row.verdict} |"
        )
    return "\n".join(lines)
