"""Builders of installations and users for the admin, export and revocation tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import Permission, User

from slack_installs.models import Installation, SlackApp, UserToken
from tests import slack_payloads

_numbers = itertools.count(1)


def make_installation(app: SlackApp, *, user_token: bool = True, **fields: Any) -> Installation:
    """An active installation holding the canary bot token, webhook URL and user token."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "team_id": f"T{number:05d}",
        "team_name": f"Workspace {number}",
        "bot_user_id": "U0BOT",
        "bot_scopes": "chat:write,commands",
        "bot_token": slack_payloads.BOT_TOKEN,
        "bot_refresh_token": slack_payloads.BOT_REFRESH_TOKEN,
        "incoming_webhook_url": slack_payloads.WEBHOOK_URL,
        "incoming_webhook_channel": "#general",
        "installer_user_id": "U0001",
    }
    values.update(fields)
    installation = Installation.objects.create(app=app, **values)
    if user_token:
        UserToken.objects.create(
            installation=installation,
            slack_user_id=installation.installer_user_id or "U0001",
            scopes="search:read",
            access_token=slack_payloads.USER_TOKEN,
            refresh_token=slack_payloads.USER_REFRESH_TOKEN,
        )
    return installation


def staff_user(username: str, *perms: str) -> User:
    """A staff user holding exactly ``perms`` (codenames of slack_installs permissions)."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="slack_installs", codename__in=perms)
    )
    return user


CANARIES = slack_payloads.CANARIES


def assert_no_secret(text: str) -> None:
    """No canary and no stored (encrypted) form of any value appears in ``text``."""
    for canary in CANARIES:
        assert canary not in text, f"{canary!r} leaked"
    assert "f1:k1:" not in text, "a stored (encrypted) value leaked"
