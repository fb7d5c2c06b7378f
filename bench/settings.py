"""Settings for benchmarks: a throwaway SQLite file, or PostgreSQL via ``DATABASE_URL``.

The processes a benchmark starts (``bench/token_refresh.py``'s task workers) share its
database: ``BENCH_SQLITE_BORROWED`` leaves the file to its owner, ``BENCH_SLACK_URL``
points them at the benchmark's fake Slack.
"""

from __future__ import annotations

import atexit
import contextlib
import os

from demo_site.settings import *  # noqa: F403
from demo_site.settings import database_from_url

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    _path = os.environ["BENCH_SQLITE_PATH"]

    def _remove_database(path: str = _path) -> None:
        with contextlib.suppress(OSError):
            os.remove(path)

    if not os.environ.get("BENCH_SQLITE_BORROWED"):
        atexit.register(_remove_database)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _path}}

_SLACK_URL = os.environ.get("BENCH_SLACK_URL", "https://slack.invalid")
SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {"bench": "YmVuY2gta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    "SLACK_URL": _SLACK_URL,
    "API_URL": f"{_SLACK_URL}/api",
}
DEBUG = False  # DEBUG keeps every query in memory, which would skew time and memory
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
