"""Settings for benchmarks: a throwaway SQLite file, or PostgreSQL via ``DATABASE_URL``."""

import os

from demo_site.settings import *  # noqa: F403
from demo_site.settings import database_from_url

DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_SQLITE_PATH"]}
}
SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {"bench": "YmVuY2gta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    "SLACK_URL": os.environ.get("SLACK_URL", "http://127.0.0.1:9"),
    "API_URL": os.environ.get("SLACK_API_URL", "http://127.0.0.1:9/api"),
}
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
