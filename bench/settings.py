"""Settings for benchmarks: a throwaway SQLite file, or PostgreSQL via ``DATABASE_URL``."""

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

    atexit.register(_remove_database)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _path}}

SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {"bench": "YmVuY2gta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    "SLACK_URL": "https://slack.invalid",
    "API_URL": "https://slack.invalid/api",
}
DEBUG = False  # DEBUG keeps every query in memory, which would skew time and memory
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
