"""Test settings: the demo project with fixed test keys and a Slack that is never real."""

from __future__ import annotations

import django

from demo_site.settings import *  # noqa: F403

SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    "SLACK_URL": "https://slack.test",
    "API_URL": "https://slack.test/api",
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}

# Tasks run where they are enqueued, unless a test picks the database backend itself.
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if django.VERSION >= (6, 0)
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    },
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}

# A second database for tests/test_routing.py, which routes the app's models there.
# pytest-django creates test databases only for the aliases the collected tests ask for,
# so no other test pays for it.
ROUTED_DATABASE = "routed"
DATABASES[ROUTED_DATABASE] = {  # noqa: F405
    **DATABASES["default"],  # noqa: F405
    "NAME": f"{DATABASES['default']['NAME']}_routed"  # noqa: F405
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"  # noqa: F405
    else ":memory:",
}
