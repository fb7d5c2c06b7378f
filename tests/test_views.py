"""The install and callback views, outcome by outcome (DESIGN.md "Callback outcomes")."""

from __future__ import annotations

import base64
import datetime
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core import signing
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from slack_installs import oauth, pipelines, views
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from slack_installs.views import success_page_url
from tests import slack_payloads
from tests.installs import start_install as start
from tests.slack_mocks import ACCESS_URL, AUTH_TEST_URL, ORG_URL, answer_install

CALLBACK = "/slack/acme/oauth/callback/"

pytestmark = pytest.mark.django_db


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


GRID_ORG = {"id": "E0001", "name": "Grid Org"}
ADD_WORKSPACES = f"{ORG_URL}manage/organization/apps/profile/A0ACME/workspaces/add"


def install_org_wide(client, mocked_slack, **answer):
    """An org-wide install of ``acme`` through the callback; return the callback's response."""
    state = start(client)
    answer_install(mocked_slack, org_wide=True, enterprise=GRID_ORG, **answer)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    return response


def test_org_wide_install_keeps_the_org_url_from_auth_test(client, slack_app, mocked_slack):
    install_org_wide(client, mocked_slack)
    assert Installation.objects.get().enterprise_url == ORG_URL
    who = mocked_slack.calls[1].request
    assert who.url == AUTH_TEST_URL
    assert who.headers["Authorization"] == f"Bearer {slack_payloads.BOT_TOKEN}"


def test_a_workspace_install_keeps_no_enterprise_url(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack, enterprise=GRID_ORG, team_id="T0GRID")  # in the org
    client.get(CALLBACK, {"code": "c", "state": state})
    installation = Installation.objects.get()
    assert (installation.team_id, installation.enterprise_id) == ("T0GRID", "E0001")
    assert installation.enterprise_url == ""  # auth.test's url is the workspace's


def test_save_installation_keeps_an_org_url_only_for_an_org_wide_install(slack_app):
    details = {"bot_id": "B0BOT", "enterprise_url": ORG_URL}
    workspace = oauth.save_installation(
        slack_app, slack_payloads.oauth_v2_access(enterprise=GRID_ORG), bot_details=details
    )
    org = oauth.save_installation(
        slack_app,
        slack_payloads.oauth_v2_access(org_wide=True, enterprise=GRID_ORG),
        bot_details=details,
    )
    assert (workspace.enterprise_url, org.enterprise_url) == ("", ORG_URL)
    assert Installation.objects.get(pk=org.pk).enterprise_url == ORG_URL


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "/manage/",
        "ftp://grid-org.enterprise.slack.com/",
        "https://",
        "https://grid-org.enterprise.slack.com/ x",
        f"https://grid-org.enterprise.slack.com/{'a' * 200}",
        "",
    ],
)
def test_an_org_url_that_is_not_http_is_ignored(client, slack_app, mocked_slack, url):
    install_org_wide(client, mocked_slack, auth_url=url)
    installation = Installation.objects.get()
    assert installation.enterprise_url == ""
    assert installation.bot_id == "B0BOT"  # the rest of auth.test's answer still counts


def test_a_failed_auth_test_keeps_the_org_url_of_an_earlier_install(
    client, slack_app, mocked_slack
):
    install_org_wide(client, mocked_slack)
    state = start(client)
    mocked_slack.add(
        responses.POST,
        ACCESS_URL,
        json=slack_payloads.oauth_v2_access(
            org_wide=True, enterprise=GRID_ORG, bot_token="xoxb-second-token"
        ),
    )
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.error("ratelimited"))
    assert client.get(CALLBACK, {"code": "c2", "state": state}).status_code == 302
    installation = Installation.objects.get()
    assert installation.bot_token == "xoxb-second-token"
    assert installation.enterprise_url == ORG_URL


def test_a_reinstall_keeps_custom_values(client, slack_app, mocked_slack):
    install_org_wide(client, mocked_slack)
    Installation.objects.update(custom_values={"plan": "pro", "seats": 40})
    install_org_wide(client, mocked_slack, bot_token="xoxb-second-token")
    installation = Installation.objects.get()
    assert installation.bot_token == "xoxb-second-token"
    assert installation.custom_values == {"plan": "pro", "seats": 40}


# --- the success page after an org-wide install -----------------------------------------


def test_org_wide_success_page_links_to_slacks_add_workspaces_page(client, slack_app, mocked_slack):
    slack_app.app_id = "A0ACME"
    slack_app.save()
    response = install_org_wide(client, mocked_slack)
    location = urlsplit(response["Location"])
    assert location.path == "/slack/success/"
    query = parse_qs(location.query)
    assert query["app"] == ["acme"]
    assert query["enterprise"][0].startswith("E0001:")  # the org's id, signed
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme Bot is installed" in html
    assert "added to your organization, Grid Org, but not yet to any of its workspaces" in html
    assert f'<a href="{ADD_WORKSPACES}" rel="noreferrer">Choose the workspaces</a>' in html
    assert "added to your workspace" not in html


def test_without_the_org_url_the_link_goes_to_app_slack_com(client, slack_app, mocked_slack):
    slack_app.app_id = "A0ACME"
    slack_app.save()
    response = install_org_wide(client, mocked_slack, auth_url="not a url")
    html = client.get(response["Location"]).content.decode()
    expected = "https://app.slack.com/manage/E0001/integrations/profile/A0ACME/workspaces/add"
    assert f'<a href="{expected}" rel="noreferrer">Choose the workspaces</a>' in html


def test_without_an_app_id_the_next_step_has_no_link(client, slack_app, mocked_slack):
    assert slack_app.app_id == ""
    response = install_org_wide(client, mocked_slack, app_id=None)
    html = client.get(response["Location"]).content.decode()
    assert "Choose the workspaces it should be added to, in your organization" in html
    assert "manage/" not in html
    assert "added to your workspace" not in html


def test_an_install_fills_in_a_blank_app_id_from_slacks_answer(client, slack_app, mocked_slack):
    assert slack_app.app_id == ""
    response = install_org_wide(client, mocked_slack)
    assert SlackApp.objects.values_list("app_id", flat=True).get(pk=slack_app.pk) == "A0001"
    html = client.get(response["Location"]).content.decode()
    assert "/apps/profile/A0001/workspaces/add" in html


@pytest.mark.parametrize(
    ("configured", "answered", "kept"),
    [("A0STAFF", "A0001", "A0STAFF"), ("", "<script>", ""), ("", "", "")],
)
def test_an_app_id_is_never_overwritten_nor_taken_when_malformed(
    client, slack_app, mocked_slack, configured, answered, kept
):
    SlackApp.objects.filter(pk=slack_app.pk).update(app_id=configured)
    state = start(client)
    answer_install(mocked_slack, app_id=answered)
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert SlackApp.objects.values_list("app_id", flat=True).get(pk=slack_app.pk) == kept
    assert Installation.objects.count() == 1


def test_a_workspace_install_gets_the_workspace_page(client, slack_app, mocked_slack):
    slack_app.app_id = "A0ACME"
    slack_app.save()
    state = start(client)
    answer_install(mocked_slack, enterprise=GRID_ORG)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response["Location"] == "/slack/success/?app=acme"
    html = client.get(response["Location"]).content.decode()
    assert "The Slack app was added to your workspace." in html
    assert "Choose the workspaces" not in html


@pytest.mark.parametrize("where", ["next", "app", "setting"])
def test_org_wide_install_sent_elsewhere_gets_no_hint(
    client, slack_app, mocked_slack, settings, where
):
    slack_app.app_id = "A0ACME"
    if where == "app":
        slack_app.success_url = "/welcome/"
    slack_app.save()
    if where == "setting":
        settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SUCCESS_URL": "/welcome/"}
    state = start(client, **({"next": "/welcome/"} if where == "next" else {}))
    answer_install(mocked_slack, org_wide=True, enterprise=GRID_ORG)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert (response.status_code, response["Location"]) == (302, "/welcome/")
    assert Installation.objects.get().enterprise_url == ORG_URL


def org_page(client, **query) -> str:
    response = client.get("/slack/success/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_org_hint_must_be_signed_for_the_app(client, slack_app, mocked_slack):
    slack_app.app_id = "A0ACME"
    slack_app.save()
    other = SlackApp.objects.create(
        name="Other", slug="other", client_id="3.4", client_secret="s2", app_id="A0OTHER"
    )
    install_org_wide(client, mocked_slack)
    installation = Installation.objects.get()
    good = parse_qs(urlsplit(success_page_url(slack_app, installation)).query)["enterprise"][0]
    assert "Choose the workspaces" in org_page(client, app="acme", enterprise=good)

    signed_for_other = parse_qs(urlsplit(success_page_url(other, installation)).query)
    for hint in [
        "E0001",  # the bare id: anyone could ask which orgs installed the app
        good[:-1] + ("A" if good[-1] != "A" else "B"),
        good.replace("E0001", "E0002"),
        signed_for_other["enterprise"][0],
        good + "\x00",
        "x" * 500,
    ]:
        html = org_page(client, app="acme", enterprise=hint)
        assert "Choose the workspaces" not in html, hint
        assert "added to your workspace" in html
    # Signed for another app, shown on that app's page: it has no org-wide install there.
    assert "Choose the workspaces" not in org_page(
        client, app="other", enterprise=signed_for_other["enterprise"][0]
    )
    assert "Choose the workspaces" not in org_page(client, enterprise=good)  # no app


def test_the_org_hint_expires_after_an_hour(client, slack_app, mocked_slack, monkeypatch):
    install_org_wide(client, mocked_slack)
    url = success_page_url(slack_app, Installation.objects.get())
    assert "Choose the workspaces" in client.get(url).content.decode()
    later = time.time() + views.ENTERPRISE_HINT_MAX_AGE + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    html = client.get(url).content.decode()
    assert "Choose the workspaces" not in html
    assert "added to your workspace" in html


def test_a_nul_in_slacks_names_is_dropped_not_an_error(client, slack_app, mocked_slack):
    state = start(client)
    answer_install(mocked_slack, team_name="Ac\x00me")
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert Installation.objects.get().team_name == "Acme"


def test_the_org_hint_needs_an_active_org_wide_installation(client, slack_app, mocked_slack):
    install_org_wide(client, mocked_slack)
    installation = Installation.objects.get()
    url = success_page_url(slack_app, installation)
    assert "Choose the workspaces" in client.get(url).content.decode()
    Installation.objects.update(revoked_at=timezone.now())
    assert "Choose the workspaces" not in client.get(url).content.decode()


def test_a_workspace_installation_gets_no_hint(slack_app):
    installation = Installation.objects.create(app=slack_app, team_id="T0001")
    assert success_page_url(slack_app, installation) == "/slack/success/?app=acme"
    assert success_page_url(slack_app) == "/slack/success/?app=acme"


def test_the_org_name_on_the_page_is_escaped(client, slack_app, mocked_slack):
    install_org_wide(client, mocked_slack)
    Installation.objects.update(enterprise_name="<script>alert(1)</script>")
    html = client.get(success_page_url(slack_app, Installation.objects.get())).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


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


def test_state_of_another_flow(client, slack_app, mocked_slack):
    """A sign-in state brought to the install callback is refused like any foreign state."""
    state = start(client)
    OAuthAttempt.objects.update(kind=OAuthAttempt.Kind.SIGN_IN)
    assert_invalid_state(client.get(CALLBACK, {"code": "c", "state": state}))
    assert len(mocked_slack.calls) == 0
    assert_nothing_saved()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error, attempt.consumed_at) == (
        "failed",
        "invalid_state",
        None,
    )


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


def test_a_failing_receiver_is_logged_and_the_install_still_succeeds(
    client, slack_app, mocked_slack, caplog
):
    from slack_installs.signals import installation_completed

    heard = []

    def broken_receiver(sender, installation, **kwargs):
        raise RuntimeError("the CRM is down")

    def working_receiver(sender, installation, **kwargs):
        heard.append(installation.team_id)

    installation_completed.connect(broken_receiver)
    installation_completed.connect(working_receiver)
    try:
        state = start(client)
        answer_install(mocked_slack)
        response = client.get(CALLBACK, {"code": "c", "state": state})
    finally:
        installation_completed.disconnect(broken_receiver)
        installation_completed.disconnect(working_receiver)
    assert response.status_code == 302
    assert response["Location"].startswith("/slack/success/")
    assert heard == ["T0001"]
    assert OAuthAttempt.objects.get().status == "succeeded"
    failures = [r for r in caplog.records if "installation_completed" in r.getMessage()]
    assert len(failures) == 1 and "broken_receiver" in failures[0].getMessage()
    assert failures[0].exc_info[1].args == ("the CRM is down",)


@pytest.mark.parametrize("page", ["/slack/success/", "/slack/error/"])
def test_success_and_error_pages_ignore_an_app_that_is_not_a_slug(client, slack_app, page):
    response = client.get(page, {"app": "acme\x00; drop"})
    assert response.status_code == 200
    assert b"Acme Bot" not in response.content
    assert b"Acme Bot" in client.get(page, {"app": "acme"}).content


@pytest.mark.parametrize(
    "configuration_url",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", "//evil.example/x", "not a url"],
)
def test_a_webhook_configuration_url_that_is_no_web_url_is_dropped(
    client, slack_app, mocked_slack, configuration_url
):
    state = start(client)
    answer = slack_payloads.oauth_v2_access(webhook_url=slack_payloads.WEBHOOK_URL)
    answer["incoming_webhook"]["configuration_url"] = configuration_url
    mocked_slack.add(responses.POST, ACCESS_URL, json=answer)
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.auth_test())
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    installation = Installation.objects.get()
    assert installation.incoming_webhook_configuration_url == ""
    assert installation.incoming_webhook_channel_id  # the rest of the webhook is kept
