"""``revoke_installation``: what is wiped, when, and what is kept when Slack fails."""

from __future__ import annotations

import pytest
import responses
from django.db import connection

from slack_installs.exceptions import InstallationRevoked
from slack_installs.models import Installation, UserToken
from slack_installs.revocation import revoke_installation
from slack_installs.signals import installation_revoked
from slack_installs.tokens import get_bot_token
from tests import slack_payloads
from tests.installs import make_installation

REVOKE_URL = "https://slack.test/api/auth.revoke"


@pytest.fixture
def signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs["reason"])

    installation_revoked.connect(receiver)
    yield received
    installation_revoked.disconnect(receiver)


def stored(installation: Installation) -> dict:
    return Installation.objects.values(
        "bot_token", "bot_refresh_token", "incoming_webhook_url", "revoked_at"
    ).get(pk=installation.pk)


def test_without_calling_slack_everything_is_wiped(slack_app, mocked_slack, signals):
    installation = make_installation(slack_app)
    result = revoke_installation(installation, reason="app_uninstalled", call_slack=False)
    assert result.revoked and not result.errors
    assert len(mocked_slack.calls) == 0
    row = stored(installation)
    assert row["bot_token"] is row["bot_refresh_token"] is row["incoming_webhook_url"] is None
    assert row["revoked_at"] is not None
    assert (
        UserToken.objects.filter(revoked_at__isnull=False, access_token__isnull=True).count() == 1
    )
    assert signals == ["app_uninstalled"]
    assert installation.revoked_at is not None  # the passed object is refreshed
    with pytest.raises(InstallationRevoked):
        get_bot_token(slack_app, team_id=installation.team_id)


def test_revoking_twice_does_nothing_the_second_time(slack_app, mocked_slack, signals):
    installation = make_installation(slack_app)
    revoke_installation(installation, reason="app_uninstalled", call_slack=False)
    result = revoke_installation(installation, reason="admin")
    assert result.already_revoked and not result.revoked
    assert len(mocked_slack.calls) == 0
    assert signals == ["app_uninstalled"]


def test_a_failed_user_token_keeps_it_and_the_install_active(slack_app, mocked_slack, signals):
    installation = make_installation(slack_app)
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": True})  # the bot token
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": False, "error": "internal_error"})
    result = revoke_installation(installation, reason="admin")
    assert not result.revoked
    assert result.errors == {"user token of U0001": "internal_error"}
    row = stored(installation)
    assert row["bot_token"] is None  # Slack confirmed it dead
    assert row["revoked_at"] is None and row["incoming_webhook_url"] is not None
    user_token = UserToken.objects.get()
    assert user_token.access_token == slack_payloads.USER_TOKEN and user_token.revoked_at is None
    assert signals == []


def test_a_reinstall_during_the_call_keeps_the_new_tokens(slack_app, mocked_slack, signals):
    installation = make_installation(slack_app, user_token=False)

    def reinstall_meanwhile(request):
        fresh = Installation.objects.get(pk=installation.pk)
        fresh.bot_token = "xoxb-new-token-after-reinstall-9999"
        fresh.save()
        return 200, {}, '{"ok": true}'

    mocked_slack.add_callback(responses.POST, REVOKE_URL, callback=reinstall_meanwhile)
    result = revoke_installation(installation, reason="admin")
    assert result.reinstalled and not result.revoked
    fresh = Installation.objects.get(pk=installation.pk)
    assert fresh.bot_token == "xoxb-new-token-after-reinstall-9999"
    assert fresh.revoked_at is None
    assert signals == []


UNDECRYPTABLE = "f1:retired:gAAAAABfakefakefakefake"


def with_undecryptable_bot_token(slack_app) -> Installation:
    """An installation whose bot token is under a key no longer configured."""
    installation = make_installation(slack_app, user_token=False)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Installation._meta.db_table} SET bot_token = %s WHERE id = %s",
            [UNDECRYPTABLE, installation.pk],
        )
    return Installation.objects.get(pk=installation.pk)


def test_an_undecryptable_token_is_kept_and_reported(slack_app, mocked_slack):
    # It cannot be sent to Slack, so it is not known to be dead: staff must see that.
    installation = with_undecryptable_bot_token(slack_app)
    result = revoke_installation(installation, reason="admin")
    assert not result.revoked
    assert result.errors == {"bot token": "undecryptable"}
    assert len(mocked_slack.calls) == 0
    assert stored(installation)["bot_token"] == UNDECRYPTABLE
    assert stored(installation)["revoked_at"] is None


def test_an_uninstall_event_forgets_even_an_undecryptable_token(slack_app, mocked_slack):
    installation = with_undecryptable_bot_token(slack_app)
    result = revoke_installation(installation, reason="app_uninstalled", call_slack=False)
    assert result.revoked
    assert stored(installation)["bot_token"] is None


def test_an_install_without_tokens_is_revoked_without_calling_slack(slack_app, mocked_slack):
    installation = make_installation(slack_app, user_token=False, bot_token=None)
    result = revoke_installation(installation, reason="admin")
    assert result.revoked and len(mocked_slack.calls) == 0
    assert stored(installation)["revoked_at"] is not None
