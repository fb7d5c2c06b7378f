"""Our install view and callback against the fake Slack, over real loopback HTTP.

The Django test client plays the browser; ``fake_slack.consent()`` answers the
consent page as a person would, and the test follows the redirect back.
"""

from __future__ import annotations

import pytest
import requests

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests.installs import install_through_fake

pytestmark = pytest.mark.django_db


def test_workspace_install_with_user_token_webhook_and_rotation(client, fake_slack, fake_slack_app):
    fake_slack.register_slack_app(fake_slack_app, token_rotation=True)
    response = install_through_fake(
        client, fake_slack, fake_slack_app, workspace="T0GLOBEX01", channel="#random"
    )
    assert response.status_code == 302
    assert response["Location"] == "/slack/success/?app=acme-helper"
    assert client.get(response["Location"]).content.decode().count("Acme Helper is installed") == 1

    [bot] = fake_slack.tokens(kind="bot")
    [user] = fake_slack.tokens(kind="user")
    refresh_tokens = {t.refreshes: t.value for t in fake_slack.tokens(kind="refresh")}
    installation = Installation.objects.get()
    assert (installation.team_id, installation.team_name) == ("T0GLOBEX01", "Globex Sales")
    assert (installation.enterprise_id, installation.enterprise_name) == (
        "E0GLOBEX01",
        "Globex Corporation",
    )
    assert installation.is_enterprise_install is False
    assert installation.enterprise_url == ""  # a workspace of the org, not the org
    assert installation.bot_token == bot.value
    assert installation.bot_token.startswith("xoxe.xoxb-1-")
    assert installation.bot_refresh_token == refresh_tokens["bot"]
    assert installation.bot_token_expires_at is not None
    assert installation.bot_user_id == bot.user_id
    assert installation.bot_id == bot.bot_id  # from auth.test, asked with the new token
    assert installation.bot_scopes == "chat:write,commands,incoming-webhook"
    assert installation.installer_user_id == "W0GLOBEX01"
    assert installation.incoming_webhook_channel == "#random"
    assert installation.incoming_webhook_channel_id == "C0RANDOM01"
    assert installation.incoming_webhook_url.startswith(f"{fake_slack.url}/services/T0GLOBEX01/")
    user_token = UserToken.objects.get()
    assert (user_token.slack_user_id, user_token.scopes) == ("W0GLOBEX01", "users:read")
    assert user_token.access_token == user.value
    assert user_token.refresh_token == refresh_tokens["user"]

    # The client and the fake agree on how credentials travel.
    [exchange] = fake_slack.calls_to("oauth.v2.access")
    assert exchange.auth == "basic" and exchange.client_id == fake_slack_app.client_id
    assert "client_secret" not in exchange.params
    assert exchange.params["redirect_uri"] == "http://testserver/slack/acme-helper/oauth/callback/"
    [who] = fake_slack.calls_to("auth.test")
    assert (who.auth, who.token) == ("bearer", bot.value)

    # Nothing secret in plaintext in the database.
    raw = Installation.objects.values_list(
        "bot_token", "bot_refresh_token", "incoming_webhook_url"
    ).get()
    assert all(value.startswith("f1:k1:") for value in raw)
    attempt = OAuthAttempt.objects.get()
    assert attempt.status == "succeeded"
    assert bot.value not in str(attempt.response) and user.value not in str(attempt.response)
    assert installation.incoming_webhook_url not in str(attempt.response)


def test_org_wide_install(client, fake_slack, fake_slack_app):
    response = install_through_fake(client, fake_slack, fake_slack_app, workspace="E0GLOBEX01")
    assert response.status_code == 302
    installation = Installation.objects.get()
    assert installation.is_enterprise_install is True
    assert (installation.team_id, installation.team_name) == ("", "")
    assert installation.enterprise_id == "E0GLOBEX01"
    assert installation.bot_user_id.startswith("W")
    assert installation.bot_token == fake_slack.tokens(kind="bot")[0].value
    assert str(installation) == "Globex Corporation (org-wide)"
    assert installation.enterprise_url == "https://globex.enterprise.slack.com/"  # auth.test

    # The success page sends the org admin on to add the app to workspaces.
    assert response["Location"].startswith("/slack/success/?app=acme-helper&enterprise=E0GLOBEX01")
    page = client.get(response["Location"]).content.decode()
    assert "added to your organization, Globex Corporation, but not yet" in page
    # The app id, left blank by staff, came with Slack's answer.
    app_id = fake_slack.app(fake_slack_app.client_id).app_id
    fake_slack_app.refresh_from_db()
    assert fake_slack_app.app_id == app_id
    link = (
        f"https://globex.enterprise.slack.com/manage/organization/apps/profile/{app_id}"
        "/workspaces/add"
    )
    assert f'<a href="{link}" rel="noreferrer">Choose the workspaces</a>' in page


def test_cancel_on_the_consent_page(client, fake_slack, fake_slack_app):
    response = install_through_fake(client, fake_slack, fake_slack_app, allow=False)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Acme Helper was not installed" in page
    assert "The install was cancelled on Slack" in page
    assert OAuthAttempt.objects.get().status == "denied"
    assert not Installation.objects.exists()
    assert fake_slack.calls_to("oauth.v2.access") == []


def test_reinstall_updates_the_same_row(client, fake_slack, fake_slack_app):
    install_through_fake(client, fake_slack, fake_slack_app)
    install_through_fake(client, fake_slack, fake_slack_app)
    installation = Installation.objects.get()
    assert installation.bot_token == fake_slack.tokens(kind="bot")[-1].value


def test_welcome_message_pipeline_posts_to_the_fake(client, fake_slack, fake_slack_app):
    fake_slack_app.pipelines = ["slack_installs.pipelines.send_welcome_message"]
    fake_slack_app.save()
    install_through_fake(client, fake_slack, fake_slack_app)
    [message] = fake_slack.messages
    assert message.channel == "U0ACME0001"
    assert message.text == "Thanks for installing Acme Helper! It is ready to use."
    assert message.team_id == "T0ACME0001"


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"error": "invalid_code"}, "invalid_code"),
        ({"status": 500}, "http_error"),
        ({"status": 429, "retry_after": 5}, "ratelimited"),
        ({"close": True}, "connection_error"),
        ({"delay": 5.0}, "timeout"),
    ],
)
def test_slack_failures_during_the_exchange(
    client, fake_slack, fake_slack_app, settings, failure, code
):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "HTTP_TIMEOUT": 0.3}
    fake_slack.fail_next("oauth.v2.access", **failure)
    response = install_through_fake(client, fake_slack, fake_slack_app)
    assert response.status_code == 400
    assert f'<span class="code">{code}</span>' in response.content.decode()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", code)
    assert not Installation.objects.exists()
    assert fake_slack.tokens() == []


def test_a_wrong_client_secret_is_refused_by_the_fake(client, fake_slack, fake_slack_app):
    fake_slack.register_app(fake_slack_app.client_id, "what-slack-really-has")
    response = install_through_fake(client, fake_slack, fake_slack_app)
    assert response.status_code == 400
    assert "bad_client_secret" in response.content.decode()
    assert OAuthAttempt.objects.get().error == "bad_client_secret"


def test_uninstall_is_seen_by_the_fake(client, fake_slack, fake_slack_app):
    from slack_installs import client as slack_client

    install_through_fake(client, fake_slack, fake_slack_app)
    installation = Installation.objects.get()
    slack_client.call(
        "apps.uninstall",
        token=installation.bot_token,
        data={"client_id": fake_slack_app.client_id, "client_secret": fake_slack_app.client_secret},
    )
    assert not fake_slack.is_active(installation.bot_token)
    assert fake_slack.tokens(team_id="T0ACME0001", active=True) == []
    # The webhook URL we stored is dead too.
    dead = requests.post(installation.incoming_webhook_url, json={"text": "x"}, timeout=10)
    assert dead.status_code == 404
