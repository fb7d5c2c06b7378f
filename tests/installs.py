"""Builders of installations and users for the admin, export, revocation and Bolt tests.

``make_installation`` writes rows directly; ``install_through_fake`` installs through
our views against the fake Slack (the ``fake_slack`` fixture), over loopback HTTP.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import django
from django.contrib.auth.models import Permission, User
from django.db.models.signals import pre_save

from slack_installs.models import Installation, SlackApp, UserToken
from tests import slack_payloads

_numbers = itertools.count(1)

# ADMINS for the tests that mail them: Django 6.0 takes addresses and deprecates the
# (name, address) pairs that 5.2 still needs.
OPS_ADMINS: list[Any] = (
    ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
)


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


def make_org_installation(app: SlackApp, **fields: Any) -> Installation:
    """An active org-wide (Enterprise Grid) installation: no team, a ``W`` bot user."""
    values: dict[str, Any] = {
        "team_id": "",
        "team_name": "",
        "enterprise_id": "E0GRID",
        "enterprise_name": "Grid Inc",
        "is_enterprise_install": True,
        "bot_user_id": "W0BOT",
    }
    return make_installation(app, **{**values, **fields})


def consent_at_fake(fake_slack, authorize: str, slug: str, **consent: Any) -> str:
    """The fake Slack's consent page answers ``authorize``; return where it sends the browser.

    ``authorize`` is our install view's redirect to Slack, and the answer is the callback of
    the app ``slug`` with ``code`` and ``state`` (or ``error``). ``consent`` goes to
    ``fake_slack.consent``: ``allow``, ``workspace``, ``channel``.
    """
    assert authorize.startswith(f"{fake_slack.url}/oauth/v2/authorize?"), authorize
    back = fake_slack.consent(authorize, **consent)
    assert urlsplit(back).path == f"/slack/{slug}/oauth/callback/", back
    return back


def callback_through_fake(client, fake_slack, app: SlackApp, **consent: Any) -> str:
    """Install view → fake consent page; return the callback URL (path and query), unfollowed.

    For tests that follow it themselves: later, twice, or from several clients at once.
    The Django test client plays the browser; ``consent`` as in ``consent_at_fake``.
    Register ``app`` with the fake Slack first.
    """
    response = client.get(f"/slack/{app.slug}/install/")
    assert response.status_code == 302
    back = urlsplit(consent_at_fake(fake_slack, response["Location"], app.slug, **consent))
    return f"{back.path}?{back.query}"


@contextlib.contextmanager
def failing_user_token_save() -> Iterator[None]:
    """Make saving a user token fail, as a database gone mid-install would: the user token
    is the install save's last write, after the installation (and its event)."""

    def fail(sender: Any, instance: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    pre_save.connect(fail, sender=UserToken)
    try:
        yield
    finally:
        pre_save.disconnect(fail, sender=UserToken)


def start_install(client, slug: str = "acme", **params: str) -> str:
    """GET the install view of ``slug`` and return the state Slack would echo back."""
    response = client.get(f"/slack/{slug}/install/", params)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def install_through_fake(client, fake_slack, app: SlackApp, **consent: Any):
    """Install view → fake consent page → back to our callback; return the callback's response."""
    return client.get(callback_through_fake(client, fake_slack, app, **consent))


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
