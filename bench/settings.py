"""Settings of the benchmarks: the demo project on a throwaway database.

``BENCH_DATABASE_URL`` (e.g. ``postgres://postgres@127.0.0.1:5432/bench``) picks the
database; by default a fresh SQLite file in the temporary directory.
"""

import atexit
import contextlib
import os
import tempfile

from demo_site.settings import *  # noqa: F403
from demo_site.settings import database_from_url

DEBUG = False  # DEBUG keeps every query in memory, which would skew the memory figures

_url = os.environ.get("BENCH_DATABASE_URL")
if _url:
    DATABASES = {"default": database_from_url(_url)}
else:
    _handle, _path = tempfile.mkstemp(prefix="slack-installs-bench-", suffix=".sqlite3")
    os.close(_handle)

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
LOGGING = {"version": 1, "disable_existing_loggers": False}
