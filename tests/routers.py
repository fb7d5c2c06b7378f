"""A database router for tests/test_routing.py, active only under ``override_settings``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

# The app whose models go to the second database; its stand-in for django-slack-oauth
# (tests/legacy_slack_oauth) goes along in the test that installs it.
ROUTED_APPS = frozenset({"slack_installs", "django_slack_oauth"})


class SlackInstallsRouter:
    """Reads and writes of the routed apps go to ``settings.ROUTED_DATABASE``; the rest
    (auth, sessions, ...) stays on ``default``. Migrations are left alone: every app is
    migrated on both databases, so a row found on the wrong one is a routing bug, not a
    missing table."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        if model._meta.app_label in ROUTED_APPS:
            return str(settings.ROUTED_DATABASE)
        return None

    db_for_write = db_for_read

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        # An installation's installed_by and a user token's user point at auth.User on default.
        labels = {obj1._meta.app_label, obj2._meta.app_label}
        if labels & ROUTED_APPS:
            return True
        return None
