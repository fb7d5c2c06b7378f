"""The events endpoint: signatures, url_verification, app_uninstalled, tokens_revoked, retries."""

from __future__ import annotations

import datetime
import json
import secrets
import time

import pytest
from django.utils import timezone

from slack_installs import events, tokens
from slack_installs.exceptions import InstallationRevoked
from slack_installs.models import HandledEvent, Installation, OAuthAttempt, SlackApp, UserToken
from slack_installs.signals import installation_revoked, slack_event_received
from tests import slack_payloads

SECRET = "canary-signing-secret-6666"  # the slack_app fixture's signing secret
URL = "/slack/acme/events/"


def deliver(client, payload, *, secret=SECRET, timestamp=None, body=None, url=URL, **headers):
    body = json.dumps(payload).encode() if body is None else body
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=events.signature_for(secret, timestamp, body),
        **headers,
    )


def recording(signal):
    """Yield the keyword arguments of every sending of ``signal`` while the test runs."""
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    signal.connect(receiver)
    yield calls
    signal.disconnect(receiver)


@pytest.fixture
def received():
    yield from recording(slack_event_received)


@pytest.fixture
def revoked():
    yield from recording(installation_revoked)


@pytest.fixture
def installation(slack_app):
    installation = Installation.objects.create(
        app=slack_app,
        team_id="T0001",
        bot_user_id="U0BOT",
        bot_token="xoxe.xoxb-canary-bot",
        bot_refresh_token="xoxe-1-canary-refresh",
        bot_token_expires_at=timezone.now() + datetime.timedelta(hours=12),
        incoming_webhook_url="https://hooks.slack.com/services/T0/B0/canaryhook",
    )
    for user_id in ("U0001", "U0002"):
        UserToken.objects.create(
            installation=installation,
            slack_user_id=user_id,
            access_token=f"xoxp-canary-{user_id}",
            refresh_token=f"xoxe-1-canary-{user_id}",
        )
    return installation


def raw_installation(pk: int) -> dict:
    return Installation.objects.filter(pk=pk).values(
        "revoked_at",
        "bot_token",
        "bot_refresh_token",
        "bot_token_expires_at",
        "incoming_webhook_url",
    )[0]


def raw_user_tokens() -> dict[str, dict]:
    rows = UserToken.objects.values("slack_user_id", "access_token", "refresh_token", "revoked_at")
    return {row.pop("slack_user_id"): row for row in rows}


# --- Signatures ------------------------------------------------------------------------


def test_url_verification_answers_the_challenge(client, slack_app, received):
    response = deliver(client, slack_payloads.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY"))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY"}
    assert len(received) == 1
    assert received[0]["app"] == slack_app
    assert received[0]["payload"]["type"] == "url_verification"
    assert received[0]["installation"] is None


def test_a_bad_signature_is_refused(client, installation, received, revoked, caplog):
    before = raw_installation(installation.pk)
    response = deliver(client, slack_payloads.app_uninstalled(), secret="not-the-secret")
    assert response.status_code == 403
    assert raw_installation(installation.pk) == before
    assert received == [] and revoked == []
    assert "bad signature" in caplog.text
    assert "canary" not in caplog.text + response.content.decode()


def test_a_tampered_body_is_refused(client, installation):
    body = json.dumps(slack_payloads.app_uninstalled()).encode()
    timestamp = str(int(time.time()))
    signature = events.signature_for(SECRET, timestamp, body)
    response = client.post(
        URL,
        body.replace(b"T0001", b"T0002"),
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "1700000000"},
        {"HTTP_X_SLACK_SIGNATURE": "v0=00"},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon", "HTTP_X_SLACK_SIGNATURE": "v0=00"},
    ],
)
def test_missing_or_malformed_signature_headers_are_refused(client, slack_app, headers):
    body = json.dumps(slack_payloads.url_verification("x"))
    response = client.post(URL, body, content_type="application/json", **headers)
    assert response.status_code == 403


@pytest.mark.parametrize("offset,status", [(-301, 403), (301, 403), (-290, 200), (290, 200)])
def test_timestamps_more_than_five_minutes_off_are_refused(client, slack_app, offset, status):
    response = deliver(
        client, slack_payloads.url_verification("x"), timestamp=int(time.time()) + offset
    )
    assert response.status_code == status


def test_an_app_without_signing_secret_accepts_nothing(client, slack_app):
    SlackApp.objects.filter(pk=slack_app.pk).update(signing_secret=None)
    assert deliver(client, slack_payloads.url_verification("x")).status_code == 403


def test_malformed_json_after_a_valid_signature_is_400(client, slack_app, received):
    assert deliver(client, None, body=b"{not json").status_code == 400
    assert deliver(client, None, body=b"[1, 2]").status_code == 400
    assert deliver(client, None, body=b"\xff\xfe").status_code == 400
    assert deliver(client, {"type": "url_verification"}).status_code == 400
    assert received == []


def test_unknown_apps_and_other_methods(client, slack_app):
    payload = slack_payloads.url_verification("x")
    assert deliver(client, payload, url="/slack/nope/events/").status_code == 404
    assert client.get(URL).status_code == 405


def test_an_inactive_app_still_hears_uninstalls(client, installation, revoked):
    # Deactivating an app stops new installs; workspaces uninstalling it must still count.
    SlackApp.objects.filter(pk=installation.app_id).update(is_active=False)
    assert deliver(client, slack_payloads.app_uninstalled()).status_code == 200
    assert raw_installation(installation.pk)["revoked_at"] is not None
    assert [call["reason"] for call in revoked] == ["app_uninstalled"]


def test_events_need_no_csrf_token(slack_app):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert deliver(strict, slack_payloads.url_verification("x")).status_code == 200


# --- app_uninstalled -------------------------------------------------------------------


def test_app_uninstalled_revokes_the_installation(client, installation, received, revoked):
    response = deliver(client, slack_payloads.app_uninstalled())

    assert response.status_code == 200
    row = raw_installation(installation.pk)
    assert row["revoked_at"] is not None
    assert row["bot_token"] is row["bot_refresh_token"] is row["incoming_webhook_url"] is None
    assert row["bot_token_expires_at"] is None
    for user_token in raw_user_tokens().values():
        assert user_token["access_token"] is user_token["refresh_token"] is None
        assert user_token["revoked_at"] is not None
    assert [call["reason"] for call in revoked] == ["app_uninstalled"]
    assert revoked[0]["installation"].pk == installation.pk
    assert len(received) == 1
    assert received[0]["installation"].pk == installation.pk
    assert received[0]["installation"].revoked_at is not None
    with pytest.raises(InstallationRevoked):
        tokens.get_bot_token("acme", team_id="T0001")


def test_a_retried_delivery_is_acknowledged_and_not_run_again(
    client, installation, received, revoked
):
    payload = slack_payloads.app_uninstalled(event_id="Ev0RETRY1")
    assert deliver(client, payload).status_code == 200
    first = raw_installation(installation.pk), raw_user_tokens()

    retry = deliver(
        client, payload, HTTP_X_SLACK_RETRY_NUM="1", HTTP_X_SLACK_RETRY_REASON="http_timeout"
    )

    assert (retry.status_code, retry.content) == (200, b"")
    assert (raw_installation(installation.pk), raw_user_tokens()) == first
    assert len(revoked) == 1
    assert len(received) == 1  # Slack's retry is the same event: announced once
    assert HandledEvent.objects.values_list("app", "event_id").get() == (
        installation.app_id,
        "Ev0RETRY1",
    )


def test_another_event_id_is_another_event(client, installation, received):
    for event_id in ("Ev0FIRST1", "Ev0SECOND"):
        payload = slack_payloads.event_callback({"type": "app_mention"}, event_id=event_id)
        assert deliver(client, payload).status_code == 200
    assert [call["payload"]["event_id"] for call in received] == ["Ev0FIRST1", "Ev0SECOND"]


def test_the_same_event_id_of_another_app_is_another_event(client, slack_app, received):
    SlackApp.objects.create(
        name="Other", slug="other", client_id="333.444", client_secret="s", signing_secret="o"
    )
    payload = slack_payloads.event_callback({"type": "app_mention"}, event_id="Ev0SHARED")
    assert deliver(client, payload).status_code == 200
    assert deliver(client, payload, secret="o", url="/slack/other/events/").status_code == 200
    assert [call["app"].slug for call in received] == ["acme", "other"]


def test_a_delivery_whose_receiver_raised_runs_again_when_slack_retries(
    client, installation, revoked
):
    calls = []

    def flaky(sender, payload, **kwargs):
        calls.append(payload["event_id"])
        if len(calls) == 1:
            raise RuntimeError("the receiver's queue is down")

    slack_event_received.connect(flaky)
    try:
        payload = slack_payloads.app_uninstalled(event_id="Ev0FLAKY1")
        with pytest.raises(RuntimeError):  # a 500 for Slack
            deliver(client, payload)
        # Nothing of the failed delivery stays: not its work, not its mark.
        assert raw_installation(installation.pk)["revoked_at"] is None
        assert not HandledEvent.objects.exists()

        assert deliver(client, payload, HTTP_X_SLACK_RETRY_NUM="1").status_code == 200
        assert deliver(client, payload, HTTP_X_SLACK_RETRY_NUM="2").status_code == 200
    finally:
        slack_event_received.disconnect(flaky)
    assert calls == ["Ev0FLAKY1", "Ev0FLAKY1"]
    assert raw_installation(installation.pk)["revoked_at"] is not None
    assert HandledEvent.objects.filter(event_id="Ev0FLAKY1").count() == 1


def test_only_a_delivery_whose_signature_checked_out_marks_its_event_id(
    client, installation, received
):
    payload = slack_payloads.app_uninstalled(event_id="Ev0FORGED")
    assert deliver(client, payload, secret="not-the-secret").status_code == 403
    assert deliver(client, payload, timestamp=int(time.time()) - 3600).status_code == 403
    assert not HandledEvent.objects.exists()
    assert deliver(client, payload).status_code == 200
    assert len(received) == 1
    assert raw_installation(installation.pk)["revoked_at"] is not None


@pytest.mark.parametrize(("minutes_ago", "runs_again"), [(59, False), (61, True)])
def test_an_event_id_counts_as_handled_for_an_hour(
    client, slack_app, received, minutes_ago, runs_again
):
    handled_at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    HandledEvent.objects.create(app=slack_app, event_id="Ev0BEFORE", handled_at=handled_at)
    payload = slack_payloads.event_callback({"type": "app_mention"}, event_id="Ev0BEFORE")
    assert deliver(client, payload).status_code == 200
    assert len(received) == (1 if runs_again else 0)
    after = HandledEvent.objects.get().handled_at
    assert (after > handled_at) is runs_again


@pytest.mark.parametrize("event_id", [None, 42, "", "not an id", "Ev" + "0" * 40, "Ev0001\n"])
def test_deliveries_without_a_usable_event_id_are_each_handled(
    client, slack_app, received, event_id
):
    payload = slack_payloads.event_callback({"type": "app_mention"})
    payload["event_id"] = event_id
    for _ in range(2):
        assert deliver(client, payload).status_code == 200
    assert len(received) == 2
    assert not HandledEvent.objects.exists()


def test_org_wide_uninstall_revokes_only_the_org_wide_install(client, slack_app, revoked):
    org = Installation.objects.create(
        app=slack_app,
        enterprise_id="E0001",
        team_id="",
        is_enterprise_install=True,
        bot_token="xoxb-canary-org",
    )
    workspace = Installation.objects.create(
        app=slack_app, enterprise_id="E0001", team_id="T0001", bot_token="xoxb-canary-ws"
    )
    payload = slack_payloads.app_uninstalled(team_id="T0001", enterprise_id="E0001", org_wide=True)
    assert deliver(client, payload).status_code == 200
    assert raw_installation(org.pk)["revoked_at"] is not None
    assert raw_installation(workspace.pk)["revoked_at"] is None
    assert Installation.objects.get(pk=workspace.pk).bot_token == "xoxb-canary-ws"
    assert [call["installation"].pk for call in revoked] == [org.pk]


def test_uninstalling_one_app_leaves_other_apps_alone(client, installation):
    other_app = SlackApp.objects.create(
        name="Other", slug="other", client_id="333.444", client_secret="s", signing_secret="o"
    )
    other = Installation.objects.create(app=other_app, team_id="T0001", bot_token="xoxb-other")
    assert deliver(client, slack_payloads.app_uninstalled()).status_code == 200
    assert raw_installation(installation.pk)["revoked_at"] is not None
    assert raw_installation(other.pk)["revoked_at"] is None


def test_an_uninstall_for_an_unknown_workspace_is_acknowledged(client, installation, received):
    payload = slack_payloads.app_uninstalled(team_id="T0404")
    assert deliver(client, payload).status_code == 200
    assert raw_installation(installation.pk)["revoked_at"] is None
    assert received[0]["installation"] is None


def test_a_late_retry_does_not_revoke_a_newer_install(client, installation, revoked):
    sent = int(time.time()) - 120
    OAuthAttempt.objects.create(
        app=installation.app,
        state_digest="d" * 64,
        status=OAuthAttempt.Status.SUCCEEDED,
        installation=installation,
        expires_at=timezone.now(),
        finished_at=timezone.now() - datetime.timedelta(seconds=60),
    )
    payload = slack_payloads.app_uninstalled(event_time=sent)
    assert deliver(client, payload, HTTP_X_SLACK_RETRY_NUM="2").status_code == 200
    assert raw_installation(installation.pk)["revoked_at"] is None
    assert revoked == []


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
@pytest.mark.parametrize(("finished_after", "acted_on"), [(0.4, True), (0.999, True), (1.0, False)])
def test_only_an_install_a_whole_second_after_event_time_is_newer(
    client, installation, revoked, kind, finished_after, acted_on
):
    # Slack's event_time is whole seconds: an uninstall 0.5 s after an install finished
    # carries the install's own second. It is about that install, not older than it.
    second = int(time.time()) - 30
    OAuthAttempt.objects.create(
        app=installation.app,
        state_digest=secrets.token_hex(32),
        status=OAuthAttempt.Status.SUCCEEDED,
        installation=installation,
        expires_at=timezone.now(),
        finished_at=datetime.datetime.fromtimestamp(second + finished_after, tz=datetime.UTC),
    )
    payload = getattr(slack_payloads, kind)(event_time=second)
    if kind == "tokens_revoked":
        payload["event"]["tokens"] = {"bot": ["U0BOT"], "oauth": []}
    assert deliver(client, payload).status_code == 200
    assert (raw_installation(installation.pk)["bot_token"] is None) is acted_on
    assert [call["reason"] for call in revoked] == ([kind] if acted_on else [])


# --- tokens_revoked --------------------------------------------------------------------


def test_tokens_revoked_wipes_exactly_the_listed_tokens(client, installation, received, revoked):
    payload = slack_payloads.tokens_revoked(bot=("U0BOT",), oauth=("U0001",))
    assert deliver(client, payload).status_code == 200

    row = raw_installation(installation.pk)
    assert row["bot_token"] is None and row["bot_refresh_token"] is None
    assert row["revoked_at"] is None  # the webhook and user tokens still belong to it
    assert row["incoming_webhook_url"] is not None
    users = raw_user_tokens()
    assert users["U0001"]["access_token"] is None and users["U0001"]["revoked_at"] is not None
    assert users["U0002"]["access_token"] is not None and users["U0002"]["revoked_at"] is None
    assert UserToken.objects.get(slack_user_id="U0002").access_token == "xoxp-canary-U0002"
    with pytest.raises(InstallationRevoked):
        tokens.get_bot_token("acme", team_id="T0001")
    assert [call["reason"] for call in revoked] == ["tokens_revoked"]
    assert len(received) == 1

    # Slack retries: nothing changes, nothing is announced twice.
    before = raw_installation(installation.pk), raw_user_tokens()
    assert deliver(client, payload, HTTP_X_SLACK_RETRY_NUM="1").status_code == 200
    assert (raw_installation(installation.pk), raw_user_tokens()) == before
    assert len(revoked) == 1
    assert len(received) == 1


def test_tokens_revoked_for_user_tokens_only_keeps_the_bot(client, installation, revoked):
    payload = slack_payloads.tokens_revoked(oauth=("U0002",))
    assert deliver(client, payload).status_code == 200
    assert Installation.objects.get(pk=installation.pk).bot_token == "xoxe.xoxb-canary-bot"
    users = raw_user_tokens()
    assert users["U0002"]["access_token"] is None
    assert users["U0001"]["access_token"] is not None
    assert revoked == []


def test_tokens_revoked_reaches_the_org_wide_bot(client, slack_app):
    org = Installation.objects.create(
        app=slack_app,
        enterprise_id="E0001",
        team_id="",
        is_enterprise_install=True,
        bot_user_id="W0BOT",
        bot_token="xoxb-canary-org",
    )
    payload = slack_payloads.tokens_revoked(
        bot=("W0BOT",), team_id="T0042", enterprise_id="E0001", org_wide=True
    )
    assert deliver(client, payload).status_code == 200
    assert raw_installation(org.pk)["bot_token"] is None


def test_tokens_revoked_ignores_other_workspaces(client, installation, slack_app):
    elsewhere = Installation.objects.create(
        app=slack_app, team_id="T0002", bot_user_id="U0BOT", bot_token="xoxb-canary-elsewhere"
    )
    payload = slack_payloads.tokens_revoked(bot=("U0BOT",))
    assert deliver(client, payload).status_code == 200
    assert raw_installation(installation.pk)["bot_token"] is None
    assert Installation.objects.get(pk=elsewhere.pk).bot_token == "xoxb-canary-elsewhere"


def test_other_events_are_announced_and_acknowledged(client, installation, received):
    payload = slack_payloads.event_callback({"type": "app_mention", "text": "hi"})
    assert deliver(client, payload).status_code == 200
    assert received[0]["payload"]["event"] == {"type": "app_mention", "text": "hi"}
    assert received[0]["installation"].pk == installation.pk
    assert raw_installation(installation.pk)["revoked_at"] is None


def test_an_unreadable_signing_secret_refuses_without_a_500(client, slack_app, settings, caplog):
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "ENCRYPTION_KEYS": {"other": "b3RoZXIta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
    }
    response = deliver(client, slack_payloads.url_verification("x"))
    assert response.status_code == 403
    assert "signing secret is unreadable" in caplog.text


def test_ids_that_are_not_slack_ids_are_never_looked_up(client, installation, revoked):
    # A NUL byte would make PostgreSQL refuse the query: such ids must never reach it.
    payload = slack_payloads.app_uninstalled()
    payload["team_id"] = "T0001\x00"
    payload["authorizations"] = [{"team_id": "T\x00", "enterprise_id": None}]
    assert deliver(client, payload).status_code == 200
    assert raw_installation(installation.pk)["revoked_at"] is None
    assert revoked == []


@pytest.mark.parametrize("team_id", ["X", "T0001\n"])
def test_events_read_slack_ids_in_the_shape_installs_store(client, slack_app, revoked, team_id):
    # models.SLACK_ID is the one shape of a Slack id: an id no install could have stored
    # (one character, a trailing newline) names no installation, even one written by hand.
    stray = Installation.objects.create(app=slack_app, team_id=team_id, bot_token="xoxb-stray")
    payload = slack_payloads.app_uninstalled(team_id=team_id)
    assert deliver(client, payload).status_code == 200
    assert raw_installation(stray.pk)["revoked_at"] is None
    assert revoked == []
