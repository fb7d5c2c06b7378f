"""A stand-in for django-slack-oauth while it is still installed, for tests/test_routing.py.

Installed under django-slack-oauth's app label (``django_slack_oauth``) only by the test
that needs it, with ``override_settings(INSTALLED_APPS=...)``.
"""

from __future__ import annotations

from django.apps import AppConfig


class LegacySlackOAuthConfig(AppConfig):
    name = "tests.legacy_slack_oauth"
    label = "django_slack_oauth"
    default_auto_field = "django.db.models.AutoField"
