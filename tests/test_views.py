"""The install and callback views, outcome by outcome (DESIGN.md "Callback outcomes")."""

from __future__ import annotations

import base64
import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from slack_installs import pipelines
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from tests import slack_payloads
from tests.slack_mocks import ACCESS_URL, AUTH_TEST_URL, answer_install

CALLBACK = "/slack/acme/oauth/callback/"

pytestmark = pytest.mark.django_db


def start(client: Client, slug: str = "acme", **params: str) -> str:
    """GET the install view and return the state Slack would echo back."""
    response = client.get(f"/slack/{slug}/install/", params)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def assert_nothing_saved():
    assert Installation.objects.count() == 0
    assert UserToken.objects.count() == 0


# --- install view ----------------------------------------------------------------------


def test_install_redirects_to_slack_with_every_parameter(client, slack_app):
    slack_app.user_scopes = "search:read"
    slack_app.save()
    response = client.get("/slack/acme/install/", {"team": "T0042"})
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://slack.test/oauth/v2/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == ["111.222"]
    assert query["scope"] == ["chat:write,commands"]
    assert query["user_scope"] == ["search:read"]
    assert query["redirect_uri"] == ["http://testserver/slack/acme/oauth/callback/"]
    assert query["team"] == ["T0042"]
    state = query["state"][0]
    assert len(base64.urlsafe_b64decode(state + "==")) >= 16  # at least 128 bits

    attempt = OAuthAttempt.objects.get()
    assert attempt.status == "pending"
    assert state not in attempt.state_digest and len(attempt.state_digest) == 64
    cookie = response.cookies["slack_installs_browser"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie.value not in attempt.browser_digest


def test_redirect_uri_from_setting_and_from_app_override(client, slack_app):
    with override_settings(
        SLACK_INSTALLS={
            "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
            "SLACK_URL": "https://slack.test",
            "REDIRECT_BASE_URL": "https://example.com/",
        }
    ):
        response = client.get("/slack/acme/install/")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_uri"] == ["https://example.com/slack/acme/oauth/callback/"]

    slack_app.redirect_uri = "https://proxy.example.org/cb"
    slack_app.save()
    response = client.get("/slack/acme/install/")
    assert parse_qs(urlsplit(response["Location"]).query)["redirect_uri"] == [
        "https://proxy.example.org/cb"
    ]


def test_exchange_uses_the_same_redirect_uri_and_basic_auth(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack)
    client.get(CALLBACK, {"code": "the-code", "state": state})
    exchange = mocked_slack.calls[0].request
    expected = base64.b64encode(b"111.222:canary-client-secret-5555").decode()
    assert exchange.headers["Authorization"] == f"Basic {expected}"
    body = parse_qs(exchange.body)
    assert body["code"] == ["the-code"]
    assert body["redirect_uri"] == ["http://testserver/slack/acme/oauth/callback/"]
    assert "client_secret" not in body


def test_invalid_team_parameter_is_not_forwarded(client, slack_app):
    response = client.get("/slack/acme/install/", {"team": "<script>"})
    assert "team" not in parse_qs(urlsplit(response["Location"]).query)


@pytest.mark.parametrize("slug", ["nope", "inactive"])
def test_unknown_or_inactive_app_is_404(client, slack_app, slug):
    SlackApp.objects.create(
        name="Off", slug="inactive", client_id="9.9", client_secret="x", is_active=False
    )
    assert client.get(f"/slack/{slug}/install/").status_code == 404
    assert client.get(f"/slack/{slug}/oauth/callback/", {"state": "x"}).status_code == 404
    assert OAuthAttempt.objects.count() == 0


# --- happy paths -----------------------------------------------------------------------


def test_bot_only_install(client, slack_app, mocked_slack, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw")
    client.force_login(user)
    state = start(client)
    answer_install(mocked_slack)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    assert response["Location"] == "/slack/success/?app=acme"

    installation = Installation.objects.get()
    assert (installation.team_id, installation.team_name) == ("T0001", "Acme")
    assert installation.enterprise_id == ""
    assert installation.bot_token == slack_payloads.BOT_TOKEN
    assert installation.bot_user_id == "U0BOT"
    assert installation.bot_id == "B0BOT"
    assert installation.bot_scopes == "chat:write,commands"
    assert installation.installer_user_id == "U0001"
    assert installation.installed_by == user
    assert installation.revoked_at is None
    assert UserToken.objects.count() == 0

    attempt = OAuthAttempt.objects.get()
    assert attempt.status == "succeeded"
    assert attempt.installation == installation
    assert attempt.user == user
    assert attempt.finished_at is not None
    assert attempt.response["team"] == {"id": "T0001", "name": "Acme"}
    assert "access_token" not in attempt.response

    page = client.get(response["Location"])
    assert b"Acme Bot is installed" in page.content


def test_bot_and_user_scopes_install_saves_the_installers_token(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack, user_token=slack_payloads.USER_TOKEN, user_scopes="search:read")
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    token = UserToken.objects.get()
    assert token.installation == Installation.objects.get()
    assert token.slack_user_id == "U0001"
    assert token.scopes == "search:read"
    assert token.access_token == slack_payloads.USER_TOKEN
    assert token.user is None  # anonymous installer
    response = OAuthAttempt.objects.get().response
    assert "access_token" not in response["authed_user"]
    assert response["authed_user"]["id"] == "U0001"


def test_incoming_webhook_install(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack, webhook_url=slack_payloads.WEBHOOK_URL)
    client.get(CALLBACK, {"code": "c", "state": state})
    installation = Installation.objects.get()
    assert installation.incoming_webhook_url == slack_payloads.WEBHOOK_URL
    assert installation.incoming_webhook_channel == "#general"
    assert installation.incoming_webhook_channel_id == "C0001"
    assert installation.incoming_webhook_configuration_url.startswith("https://acme.slack.com/")
    attempt_json = str(OAuthAttempt.objects.get().response)
    assert slack_payloads.WEBHOOK_URL not in attempt_json
    assert "C0001" in attempt_json


def test_org_wide_install_is_stored_with_an_empty_team_id(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack, org_wide=True, enterprise={"id": "E0001", "name": "Grid Org"})
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    installation = Installation.objects.get()
    assert installation.team_id == ""
    assert installation.enterprise_id == "E0001"
    assert installation.enterprise_name == "Grid Org"
    assert installation.is_enterprise_install is True
    assert installation.bot_user_id == "W0BOT"
    assert str(installation) == "Grid Org (org-wide)"


def test_reinstall_updates_the_same_row_with_new_tokens(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack)
    client.get(CALLBACK, {"code": "c1", "state": state})
    first = Installation.objects.get()
    Installation.objects.filter(pk=first.pk).update(revoked_at=timezone.now())

    state = start(client)
    answer_install(mocked_slack, bot_token="xoxb-second-token")
    client.get(CALLBACK, {"code": "c2", "state": state})
    second = Installation.objects.get()
    assert second.pk == first.pk
    assert second.bot_token == "xoxb-second-token"
    assert second.revoked_at is None
    assert second.installed_at > first.installed_at  # a re-install is an install
    assert OAuthAttempt.objects.filter(status="succeeded").count() == 2


def test_parallel_attempts_in_one_browser_and_across_apps_do_not_clobber(
    client, slack_app, mocked_slack
):
    SlackApp.objects.create(
        name="Other", slug="other", client_id="3.4", client_secret="s2", bot_scopes="chat:write"
    )
    first = start(client)
    second = start(client)
    other = start(client, "other")
    for state, url in [
        (second, CALLBACK),
        (first, CALLBACK),
        (other, "/slack/other/oauth/callback/"),
    ]:
        answer_install(mocked_slack)
        assert client.get(url, {"code": "c", "state": state}).status_code == 302
    assert OAuthAttempt.objects.filter(status="succeeded").count() == 3
    assert Installation.objects.count() == 2


# --- invalid state ---------------------------------------------------------------------


def assert_invalid_state(response):
    assert response.status_code == 400
    assert b"invalid_state" in response.content
    assert b"start the install again" in response.content


def test_missing_state(client, slack_app, mocked_slack):
    start(client)
    assert_invalid_state(client.get(CALLBACK, {"code": "c"}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()


def test_forged_state(client, slack_app, mocked_slack):
    start(client)
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": "forged-" * 5}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    assert OAuthAttempt.objects.get().status == "pending"


def test_replayed_state(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack)
    client.get(CALLBACK, {"code": "c", "state": state})
    calls = len(mocked_slack.calls)
    Installation.objects.all().delete()
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == calls
    assert_nothing_saved()
    # A finished attempt keeps its outcome in the log: a reload does not rewrite history.
    assert OAuthAttempt.objects.get().status == "succeeded"


def test_replaying_a_state_still_in_flight_fails_its_attempt(client, slack_app, mocked_slack):
    state = start(client)
    OAuthAttempt.objects.update(consumed_at=timezone.now())  # another callback holds it
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == 0
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "invalid_state")


def test_expired_state(client, slack_app, mocked_slack):
    state = start(client)
    OAuthAttempt.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "invalid_state")


def test_state_of_another_app(client, slack_app, mocked_slack):
    SlackApp.objects.create(
        name="Other", slug="other", client_id="3.4", client_secret="s2", bot_scopes="chat:write"
    )
    state = start(client, "other")
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "invalid_state")


def test_state_from_another_browser(client, slack_app, mocked_slack):
    state = start(client)
    other_browser = Client()
    assert_invalid_state(other_browser.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "invalid_state")
    # The attempt is now dead for the right browser too: a leaked state cannot be raced.
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))


# --- denial and Slack failures ---------------------------------------------------------


def test_access_denied(client, slack_app, mocked_slack):
    state = start(client)
    response = client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert response.status_code == 400
    assert b"cancelled" in response.content
    assert b"/slack/acme/install/" in response.content  # offers a restart, no auto-loop to Slack
    assert "Location" not in response
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("denied", "access_denied")


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"json": slack_payloads.error("invalid_code")}, "invalid_code"),
        ({"json": slack_payloads.error("bad_redirect_uri")}, "bad_redirect_uri"),
        ({"json": {"error": "x"}, "status": 500}, "http_error"),
        ({"body": "<html>gateway</html>", "status": 200}, "invalid_response"),
        ({"body": requests.exceptions.ReadTimeout()}, "timeout"),
        ({"body": requests.exceptions.ConnectionError()}, "connection_error"),
        ({"json": slack_payloads.error("ratelimited"), "status": 429}, "ratelimited"),
        ({"json": {"ok": True, "team": None, "enterprise": None}}, "invalid_response"),
    ],
)
def test_slack_failures_show_an_error_page_and_save_nothing(
    client, slack_app, mocked_slack, answer, code
):
    state = start(client)
    mocked_slack.add(responses.POST, ACCESS_URL, **answer)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert code.encode() in response.content
    assert b"Nothing was installed" in response.content
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", code)


def test_error_url_of_the_app_gets_the_code(client, slack_app, mocked_slack):
    slack_app.error_url = "/oops/"
    slack_app.save()
    state = start(client)
    mocked_slack.add(responses.POST, ACCESS_URL, json=slack_payloads.error("invalid_code"))
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    assert response["Location"] == "/oops/?error=invalid_code"


def test_auth_test_failure_does_not_lose_the_install(client, slack_app, mocked_slack):
    state = start(client)
    mocked_slack.add(responses.POST, ACCESS_URL, json=slack_payloads.oauth_v2_access())
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.error("invalid_auth"))
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert Installation.objects.get().bot_id == ""


# --- next and redirects ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "kept"),
    [
        ("/dashboard/?tab=slack", "/dashboard/?tab=slack"),
        ("https://evil.example/", ""),
        ("//evil.example/", ""),
        ("/\\evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("http://testserver/local", ""),
    ],
)
def test_next_is_kept_only_when_local(client, slack_app, mocked_slack, next_url, kept):
    state = start(client, next=next_url)
    answer_install(mocked_slack)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    assert response["Location"] == (kept or "/slack/success/?app=acme")


def test_success_url_of_app_then_setting(client, slack_app, mocked_slack):
    slack_app.success_url = "/welcome/"
    slack_app.save()
    state = start(client)
    answer_install(mocked_slack)
    assert client.get(CALLBACK, {"code": "c", "state": state})["Location"] == "/welcome/"


# --- pipelines -------------------------------------------------------------------------


@pipelines.register
def _record_step(request, api_data):
    """Test step that records what it was given."""
    request.slack_installation.team_name = f"{api_data['team']['name']} (seen by pipeline)"
    request.slack_installation.save()
    return request, api_data


@pipelines.register
def _failing_step(request, api_data):
    """Test step that fails."""
    raise RuntimeError("boom")


def test_pipelines_run_in_order_after_commit(client, slack_app, mocked_slack):
    slack_app.pipelines = [pipelines.path_of(_record_step)]
    slack_app.save()
    state = start(client)
    answer_install(mocked_slack)
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert Installation.objects.get().team_name == "Acme (seen by pipeline)"


def test_failing_pipeline_keeps_the_install_and_marks_the_attempt(client, slack_app, mocked_slack):
    slack_app.pipelines = [pipelines.path_of(_failing_step)]
    slack_app.save()
    state = start(client)
    answer_install(mocked_slack)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"pipeline_failed" in response.content
    assert b"Acme Bot is installed, with a problem" in response.content
    assert b"Start the install again" not in response.content
    assert Installation.objects.get().bot_token == slack_payloads.BOT_TOKEN
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "pipeline_failed")
    assert attempt.installation is not None


def test_undecryptable_client_secret_is_an_error_page_not_a_500(client, slack_app, mocked_slack):
    from slack_installs import crypto
    from slack_installs.fields import Ciphertext

    SlackApp.objects.filter(pk=slack_app.pk).update(
        client_secret=Ciphertext(crypto.encrypt("x").replace("f1:k1:", "f1:gone:"))
    )
    state = start(client)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"internal_error" in response.content
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "internal_error")


@pytest.mark.parametrize("next_url", ["/a\x00b", "/a\nb", "/ok\x7f"])
def test_next_with_control_characters_is_dropped(client, slack_app, next_url):
    client.get("/slack/acme/install/", {"next": next_url})
    assert OAuthAttempt.objects.get().next_url == ""


def test_error_page_escapes_and_sanitises_the_code(client):
    response = client.get("/slack/error/", {"error": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert b"<script>" not in response.content
    assert b"unknown_error" in response.content


def test_no_plaintext_anywhere_in_the_database(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(
        mocked_slack,
        user_token=slack_payloads.USER_TOKEN,
        user_scopes="search:read",
        webhook_url=slack_payloads.WEBHOOK_URL,
        rotating=True,
    )
    client.get(CALLBACK, {"code": "c", "state": state})
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if not table.startswith("slack_installs_"):
                continue
            cursor.execute(f"SELECT * FROM {table}")
            dump = repr(cursor.fetchall())
            for canary in slack_payloads.CANARIES:
                assert canary not in dump, (table, canary)


def test_installation_handed_to_receivers_carries_no_plaintext(client, slack_app, mocked_slack):
    import pickle

    from slack_installs.signals import installation_completed

    pickled: list[bytes] = []

    def receiver(sender, installation, **kwargs):
        pickled.append(pickle.dumps(installation))

    installation_completed.connect(receiver)
    try:
        for _ in range(2):  # the first install, then a re-install (the update path)
            state = start(client)
            answer_install(mocked_slack, rotating=True)
            assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    finally:
        installation_completed.disconnect(receiver)
    assert len(pickled) == 2
    for blob in pickled:
        assert slack_payloads.BOT_TOKEN.encode() not in blob
        assert slack_payloads.BOT_REFRESH_TOKEN.encode() not in blob


@pytest.mark.parametrize("page", ["/slack/success/", "/slack/error/"])
def test_success_and_error_pages_ignore_an_app_that_is_not_a_slug(client, slack_app, page):
    response = client.get(page, {"app": "acme\x00; drop"})
    assert response.status_code == 200
    assert b"Acme Bot" not in response.content
    assert b"Acme Bot" in client.get(page, {"app": "acme"}).content
