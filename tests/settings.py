"""Test settings: the demo project with fixed test keys and a Slack that is never real."""

from demo_site.settings import *  # noqa: F403

SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    "SLACK_URL": "https://slack.test",
    "API_URL": "https://slack.test/api",
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
