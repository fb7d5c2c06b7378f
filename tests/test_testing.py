"""The fake Slack of ``slack_installs.testing``: its pages, its Web API, its failures."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.management import CommandError, call_command
from slack_sdk.signature import SignatureVerifier

from slack_installs.conf import app_settings
from slack_installs.testing import FakeSlack, FakeSlackError, signature

CLIENT_ID = "9000000001.9000000001"
CLIENT_SECRET = "canary-fake-client-secret-7777"
SIGNING_SECRET = "canary-fake-signing-secret-8888"
REDIRECT_URI = "http://localhost:8000/slack/acme/oauth/callback/?keep=1"


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.register_app(CLIENT_ID, CLIENT_SECRET, signing_secret=SIGNING_SECRET, name="Acme Bot")
        yield fake


def authorize_url(fake, **params):
    query = {
        "client_id": CLIENT_ID,
        "scope": "chat:write,commands",
        "user_scope": "",
        "redirect_uri": REDIRECT_URI,
        "state": "state-123",
        **params,
    }
    return f"{fake.url}/oauth/v2/authorize?{urlencode(query)}"


def code_from(location):
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(fake, code, *, auth=(CLIENT_ID, CLIENT_SECRET), redirect_uri=REDIRECT_URI, **data):
    return requests.post(
        f"{fake.api_url}/oauth.v2.access",
        data={"code": code, "redirect_uri": redirect_uri, **data},
        auth=auth,
        timeout=10,
    ).json()


def install(fake, **params):
    """Consent through the fake's form and exchange the code; return Slack's answer."""
    workspace = params.pop("workspace", None)
    channel = params.pop("channel", None)
    location = fake.consent(authorize_url(fake, **params), workspace=workspace, channel=channel)
    return exchange(fake, code_from(location))


def api(fake, method, token=None, **data):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(f"{fake.api_url}/{method}", data=data, headers=headers, timeout=10)
    return response.json()


# --- The consent page -------------------------------------------------------------------


def test_consent_page_offers_the_workspaces_and_the_scopes(fake):
    response = requests.get(authorize_url(fake, user_scope="users:read"), timeout=10)
    assert response.status_code == 200
    page = response.text
    assert "Acme Bot is requesting permission" in page
    assert page.count('type="radio" name="workspace"') == 3
    assert 'value="T0ACME0001" checked' in page
    assert "Globex Sales (in Globex Corporation)" in page
    assert "Globex Corporation (the whole organization)" in page
    assert "<code>commands</code>" in page and "<code>users:read</code>" in page
    assert 'name="decision" value="allow">Allow</button>' in page
    assert 'name="decision" value="deny">Cancel</button>' in page
    assert "<script" not in page
    assert 'name="channel"' not in page  # only with incoming-webhook


def test_consent_page_preselects_the_team_asked_for(fake):
    page = requests.get(authorize_url(fake, team="E0GLOBEX01"), timeout=10).text
    assert 'value="E0GLOBEX01" checked' in page
    assert 'value="T0ACME0001" checked' not in page


def test_consent_page_escapes_what_it_echoes(fake):
    fake.register_app("9.9", "secret", name="<b>Evil</b> app")
    url = authorize_url(fake, client_id="9.9", state='"><script>alert(1)</script>')
    page = requests.get(url, timeout=10).text
    assert "<script>" not in page and "<b>Evil</b>" not in page
    assert "&lt;b&gt;Evil&lt;/b&gt; app" in page
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({"client_id": "unknown.1"}, "Invalid client_id parameter"),
        ({"client_id": ""}, "Invalid client_id parameter"),
        ({"redirect_uri": ""}, "Invalid redirect_uri"),
        ({"redirect_uri": "javascript:alert(1)"}, "Invalid redirect_uri"),
        ({"redirect_uri": "http://localhost/cb#frag"}, "Invalid redirect_uri"),
        ({"scope": "", "user_scope": ""}, "Invalid permissions requested"),
    ],
)
def test_consent_page_refuses_a_bad_request_with_a_clear_page(fake, params, title):
    response = requests.get(authorize_url(fake, **params), timeout=10)
    assert response.status_code == 400
    assert f'<h1 id="error">{title}</h1>' in response.text
    assert "<form" not in response.text
    with pytest.raises(FakeSlackError, match="consent page refused"):
        fake.consent(authorize_url(fake, **params))


def test_allow_sends_the_browser_back_with_code_and_state(fake):
    form = {"client_id": CLIENT_ID, "scope": "chat:write", "redirect_uri": REDIRECT_URI}
    response = requests.post(
        f"{fake.url}/oauth/v2/authorize",
        data={**form, "state": "s-1", "workspace": "T0GLOBEX01", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (
        location._replace(query="").geturl() == "http://localhost:8000/slack/acme/oauth/callback/"
    )
    query = parse_qs(location.query)
    assert query["keep"] == ["1"]  # the redirect_uri's own query survives
    assert query["state"] == ["s-1"]
    assert len(query["code"][0]) > 40


def test_cancel_sends_the_browser_back_with_access_denied(fake):
    location = fake.consent(authorize_url(fake), allow=False)
    query = parse_qs(urlsplit(location).query)
    assert query == {"keep": ["1"], "error": ["access_denied"], "state": ["state-123"]}


def test_the_form_refuses_an_unknown_workspace_or_decision(fake):
    form = {"client_id": CLIENT_ID, "scope": "chat:write", "redirect_uri": REDIRECT_URI}
    for extra in ({"workspace": "T0NOPE", "decision": "allow"}, {"decision": "maybe"}):
        response = requests.post(
            f"{fake.url}/oauth/v2/authorize", data={**form, **extra}, allow_redirects=False
        )
        assert response.status_code == 400
    assert fake.tokens() == []


# --- oauth.v2.access --------------------------------------------------------------------


def test_workspace_install_answers_in_slacks_shape(fake):
    answer = install(fake)
    assert set(answer) == {
        "ok",
        "app_id",
        "access_token",
        "token_type",
        "scope",
        "bot_user_id",
        "team",
        "enterprise",
        "is_enterprise_install",
        "authed_user",
    }
    assert answer["ok"] is True
    assert answer["app_id"] == fake.apps[CLIENT_ID].app_id
    assert answer["access_token"].startswith("xoxb-")
    assert answer["token_type"] == "bot"
    assert answer["scope"] == "chat:write,commands"
    assert answer["bot_user_id"].startswith("U")
    assert answer["team"] == {"id": "T0ACME0001", "name": "Acme Corp"}
    assert answer["enterprise"] is None
    assert answer["is_enterprise_install"] is False
    assert answer["authed_user"] == {"id": "U0ACME0001"}
    [token] = fake.tokens()
    assert (token.value, token.kind, token.team_id) == (answer["access_token"], "bot", "T0ACME0001")


def test_grid_workspace_and_org_wide_installs(fake):
    grid = install(fake, workspace="T0GLOBEX01")
    assert grid["team"] == {"id": "T0GLOBEX01", "name": "Globex Sales"}
    assert grid["enterprise"] == {"id": "E0GLOBEX01", "name": "Globex Corporation"}
    assert grid["is_enterprise_install"] is False

    org = install(fake, workspace="E0GLOBEX01")
    assert org["team"] is None
    assert org["enterprise"] == {"id": "E0GLOBEX01", "name": "Globex Corporation"}
    assert org["is_enterprise_install"] is True
    assert org["bot_user_id"].startswith("W")
    assert org["authed_user"]["id"] == "W0GLOBEX01"


def test_user_scopes_and_incoming_webhook(fake):
    answer = install(
        fake,
        scope="chat:write,incoming-webhook",
        user_scope="users:read,chat:write",
        channel="#random",
    )
    user = answer["authed_user"]
    assert user["id"] == "U0ACME0001"
    assert user["scope"] == "users:read,chat:write"
    assert user["token_type"] == "user"
    assert user["access_token"].startswith("xoxp-")
    assert "refresh_token" not in user and "expires_in" not in answer
    hook = answer["incoming_webhook"]
    assert hook["channel"] == "#random" and hook["channel_id"] == "C0RANDOM01"
    assert hook["configuration_url"].startswith("https://acme.slack.com/services/B")
    assert hook["url"].startswith(f"{fake.url}/services/T0ACME0001/")

    response = requests.post(hook["url"], json={"text": "Deploy finished"}, timeout=10)
    assert (response.status_code, response.text) == (200, "ok")
    [message] = fake.messages
    assert (message.channel, message.text, message.via) == (
        "#random",
        "Deploy finished",
        "incoming_webhook",
    )
    assert requests.post(hook["url"] + "x", json={"text": "no"}, timeout=10).status_code == 404


def test_codes_are_single_use(fake):
    code = code_from(fake.consent(authorize_url(fake)))
    first = exchange(fake, code)
    assert first["ok"] is True
    assert exchange(fake, code) == {"ok": False, "error": "invalid_code"}
    assert fake.is_active(first["access_token"])  # a replay does not undo the install
    assert exchange(fake, "made-up-code") == {"ok": False, "error": "invalid_code"}


def test_client_credentials_are_checked(fake):
    code = code_from(fake.consent(authorize_url(fake)))
    assert exchange(fake, code, auth=(CLIENT_ID, "wrong")) == {
        "ok": False,
        "error": "bad_client_secret",
    }
    assert exchange(fake, code, auth=("1.2", CLIENT_SECRET)) == {
        "ok": False,
        "error": "invalid_client_id",
    }
    assert exchange(fake, code, auth=None) == {"ok": False, "error": "invalid_client_id"}
    assert fake.tokens() == []
    # Refused calls did not use the code up; Slack's documented form parameters work too.
    answer = exchange(fake, code, auth=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert answer["ok"] is True
    calls = fake.calls_to("oauth.v2.access")
    assert [call.auth for call in calls] == ["basic", "basic", None, None]
    assert calls[0].client_id == CLIENT_ID


def test_a_code_is_only_good_for_its_app_and_its_redirect_uri(fake):
    fake.register_app("9.9", "other-secret")
    code = code_from(fake.consent(authorize_url(fake)))
    assert exchange(fake, code, auth=("9.9", "other-secret"))["error"] == "invalid_code"
    assert exchange(fake, code, redirect_uri="http://localhost/other/")["error"] == (
        "bad_redirect_uri"
    )
    assert exchange(fake, code, redirect_uri="")["error"] == "bad_redirect_uri"
    assert exchange(fake, code)["ok"] is True


def test_unknown_grant_type(fake):
    answer = exchange(fake, "", grant_type="password")
    assert answer == {"ok": False, "error": "invalid_grant_type"}


# --- Token rotation ---------------------------------------------------------------------


def refresh(fake, refresh_token, auth=(CLIENT_ID, CLIENT_SECRET)):
    return requests.post(
        f"{fake.api_url}/oauth.v2.access",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=auth,
        timeout=10,
    ).json()


def test_rotating_tokens_come_with_expiry_and_refresh_tokens(fake):
    fake.register_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    answer = install(fake, user_scope="users:read", workspace="T0GLOBEX01")
    assert answer["access_token"].startswith("xoxe.xoxb-1-")
    assert answer["expires_in"] == 43200
    assert answer["refresh_token"].startswith("xoxe-1-")
    user = answer["authed_user"]
    assert user["access_token"].startswith("xoxe.xoxp-1-")
    assert user["expires_in"] == 43200
    assert user["refresh_token"].startswith("xoxe-1-")
    assert answer["refresh_token"] != user["refresh_token"]


def test_refresh_returns_the_flat_shape_and_revokes_the_old_refresh_token(fake):
    fake.register_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    answer = install(fake, user_scope="users:read", workspace="T0GLOBEX01")

    renewed = refresh(fake, answer["refresh_token"])
    assert set(renewed) == {
        "ok",
        "app_id",
        "scope",
        "token_type",
        "access_token",
        "refresh_token",
        "expires_in",
        "bot_user_id",
        "team",
        "enterprise",
        "is_enterprise_install",
    }
    assert renewed["token_type"] == "bot"
    assert renewed["bot_user_id"] == answer["bot_user_id"]
    assert renewed["team"] == {"id": "T0GLOBEX01", "name": "Globex Sales"}
    assert renewed["enterprise"]["id"] == "E0GLOBEX01"
    assert renewed["access_token"] not in (answer["access_token"], "")
    assert renewed["refresh_token"] != answer["refresh_token"]
    assert api(fake, "auth.test", renewed["access_token"])["ok"] is True

    # The old refresh token is revoked; the new one works once.
    assert refresh(fake, answer["refresh_token"]) == {
        "ok": False,
        "error": "invalid_refresh_token",
    }
    assert fake.token(answer["refresh_token"]).revoked is True
    assert refresh(fake, renewed["refresh_token"])["ok"] is True

    user = refresh(fake, answer["authed_user"]["refresh_token"])
    assert user["token_type"] == "user"
    assert user["user_id"] == "W0GLOBEX01"
    assert "bot_user_id" not in user and "authed_user" not in user
    assert user["access_token"].startswith("xoxe.xoxp-1-")


def test_refresh_is_refused_for_another_app_or_a_made_up_token(fake):
    fake.register_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    fake.register_app("9.9", "other-secret")
    answer = install(fake)
    other = refresh(fake, answer["refresh_token"], auth=("9.9", "other-secret"))
    assert other == {"ok": False, "error": "invalid_refresh_token"}
    assert refresh(fake, answer["access_token"])["error"] == "invalid_refresh_token"
    assert refresh(fake, "xoxe-1-made-up")["error"] == "invalid_refresh_token"
    assert refresh(fake, answer["refresh_token"])["ok"] is True  # still unused, so it works


# --- auth.test, auth.revoke, apps.uninstall, chat.postMessage --------------------------


def test_auth_test_tells_who_the_token_is(fake):
    answer = install(fake, workspace="T0GLOBEX01")
    me = api(fake, "auth.test", answer["access_token"])
    bot = fake.token(answer["access_token"])
    assert me == {
        "ok": True,
        "url": "https://globex-sales.slack.com/",
        "team": "Globex Sales",
        "user": "acme_bot",
        "team_id": "T0GLOBEX01",
        "user_id": answer["bot_user_id"],
        "bot_id": bot.bot_id,
        "enterprise_id": "E0GLOBEX01",
        "is_enterprise_install": False,
    }
    assert bot.bot_id.startswith("B")
    org = install(fake, workspace="E0GLOBEX01")
    org_me = api(fake, "auth.test", org["access_token"])
    assert org_me["url"] == "https://globex.enterprise.slack.com/"  # the org's URL
    assert org_me["is_enterprise_install"] is True
    standalone = install(fake, workspace="T0ACME0001")
    acme_me = api(fake, "auth.test", standalone["access_token"])
    assert acme_me["url"] == "https://acme.slack.com/"
    assert "enterprise_id" not in acme_me and acme_me["is_enterprise_install"] is False


def test_token_errors(fake):
    answer = install(fake)
    token = answer["access_token"]
    assert api(fake, "auth.test") == {"ok": False, "error": "not_authed"}
    assert api(fake, "auth.test", "xoxb-made-up") == {"ok": False, "error": "invalid_auth"}
    as_param = requests.post(f"{fake.api_url}/auth.test", data={"token": token}, timeout=10)
    assert as_param.json()["ok"] is True
    fake.expire_token(token)
    assert api(fake, "auth.test", token) == {"ok": False, "error": "token_expired"}
    fake.revoke_token(token)
    assert api(fake, "auth.test", token) == {"ok": False, "error": "token_revoked"}
    with pytest.raises(FakeSlackError):
        fake.revoke_token("xoxb-not-ours")


def test_auth_revoke(fake):
    fake.register_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    answer = install(fake)
    token = answer["access_token"]
    assert api(fake, "auth.revoke", token, test="1") == {"ok": True, "revoked": False}
    assert fake.is_active(token)
    assert api(fake, "auth.revoke", token) == {"ok": True, "revoked": True}
    assert api(fake, "auth.test", token) == {"ok": False, "error": "token_revoked"}
    assert refresh(fake, answer["refresh_token"])["error"] == "invalid_refresh_token"


def test_apps_uninstall_revokes_the_workspace_only(fake):
    acme = install(fake, scope="chat:write,incoming-webhook", user_scope="users:read")
    globex = install(fake, workspace="T0GLOBEX01")
    credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    assert api(fake, "apps.uninstall", acme["access_token"], client_id=CLIENT_ID)["error"] == (
        "bad_client_secret"
    )
    fake.register_app("9.9", "other-secret")
    mismatch = api(
        fake, "apps.uninstall", acme["access_token"], client_id="9.9", client_secret="other-secret"
    )
    assert mismatch == {"ok": False, "error": "client_id_token_mismatch"}
    assert fake.tokens(team_id="T0ACME0001", active=False) == []

    assert api(fake, "apps.uninstall", acme["access_token"], **credentials) == {"ok": True}
    assert {t.kind for t in fake.tokens(team_id="T0ACME0001", active=False)} == {"bot", "user"}
    assert fake.tokens(team_id="T0ACME0001", active=True) == []
    assert fake.is_active(globex["access_token"])
    hook = requests.post(acme["incoming_webhook"]["url"], json={"text": "hi"}, timeout=10)
    assert hook.status_code == 404


def test_chat_post_message_is_recorded(fake):
    answer = install(fake)
    token = answer["access_token"]
    posted = api(fake, "chat.postMessage", token, channel="C0GENERAL1", text="Hello <world>")
    assert posted["ok"] is True
    assert posted["channel"] == "C0GENERAL1"
    assert posted["message"]["text"] == "Hello <world>"
    assert posted["message"]["bot_id"] == fake.token(token).bot_id
    [message] = fake.messages
    assert (message.channel, message.text, message.team_id, message.ts) == (
        "C0GENERAL1",
        "Hello <world>",
        "T0ACME0001",
        posted["ts"],
    )
    assert message.via == "chat.postMessage" and message.user_id == answer["bot_user_id"]
    assert api(fake, "chat.postMessage", token, text="x") == {
        "ok": False,
        "error": "channel_not_found",
    }
    assert api(fake, "chat.postMessage", token, channel="C1") == {"ok": False, "error": "no_text"}
    assert len(fake.messages) == 1


def test_chat_post_message_needs_the_scope(fake):
    answer = install(fake, scope="commands")
    refused = api(fake, "chat.postMessage", answer["access_token"], channel="C1", text="x")
    assert refused == {
        "ok": False,
        "error": "missing_scope",
        "needed": "chat:write",
        "provided": "commands",
    }


def test_json_bodies_and_unknown_methods(fake):
    token = install(fake)["access_token"]
    response = requests.post(
        f"{fake.api_url}/chat.postMessage",
        json={"channel": "C1", "blocks": [{"type": "divider"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.json()["ok"] is True
    assert fake.messages[0].blocks == [{"type": "divider"}]
    assert api(fake, "users.list", token) == {"ok": False, "error": "unknown_method"}


# --- Failure injection ------------------------------------------------------------------


def test_fail_next_with_a_slack_error_code(fake):
    token = install(fake)["access_token"]
    fake.fail_next("auth.test", error="ratelimited", times=2)
    assert api(fake, "auth.test", token) == {"ok": False, "error": "ratelimited"}
    assert api(fake, "chat.postMessage", token, channel="C1", text="x")["ok"] is True
    assert api(fake, "auth.test", token) == {"ok": False, "error": "ratelimited"}
    assert api(fake, "auth.test", token)["ok"] is True


def test_fail_next_oauth_v2_access_leaves_the_code_unused(fake):
    code = code_from(fake.consent(authorize_url(fake)))
    fake.fail_next("oauth.v2.access", error="invalid_code")
    assert exchange(fake, code) == {"ok": False, "error": "invalid_code"}
    assert fake.tokens() == []
    assert exchange(fake, code)["ok"] is True


def test_fail_next_with_an_http_status(fake):
    fake.fail_next("auth.test", status=500)
    response = requests.post(f"{fake.api_url}/auth.test", timeout=10)
    assert response.status_code == 500
    assert fake.calls_to("auth.test")[0].status == 500


def test_fail_next_with_429_and_retry_after(fake):
    fake.fail_next("chat.postMessage", status=429, retry_after=30)
    response = requests.post(f"{fake.api_url}/chat.postMessage", timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.json() == {"ok": False, "error": "ratelimited"}


def test_fail_next_with_a_closed_connection(fake):
    fake.fail_next("auth.test", close=True)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{fake.api_url}/auth.test", timeout=10)
    assert fake.calls_to("auth.test")[0].status == 0
    assert api(fake, "auth.test")["error"] == "not_authed"  # the next call is normal


def test_fail_next_with_a_slow_answer(fake):
    token = install(fake)["access_token"]
    fake.fail_next("auth.test", delay=5.0)
    # The client gives up long before the answer comes.
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{fake.api_url}/auth.test",
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.2,
        )
    assert api(fake, "auth.test", token)["ok"] is True


def test_our_client_reports_each_injected_failure(fake, settings):
    from slack_installs import client
    from slack_installs.exceptions import SlackAPIError

    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "API_URL": fake.api_url,
        "HTTP_TIMEOUT": 0.3,
    }
    token = install(fake)["access_token"]
    cases = [
        ({"error": "account_inactive"}, ("account_inactive", 200, None)),
        ({"status": 503}, ("http_error", 503, None)),
        ({"status": 429, "retry_after": 7}, ("ratelimited", 429, 7)),
        ({"close": True}, ("connection_error", None, None)),
        ({"delay": 5.0}, ("timeout", None, None)),
    ]
    for failure, expected in cases:
        fake.fail_next("auth.test", **failure)
        with pytest.raises(SlackAPIError) as raised:
            client.auth_test(token)
        error = raised.value
        assert (error.code, error.status, error.retry_after) == expected, failure
    assert client.auth_test(token)["ok"] is True


def test_fail_next_rate_limits_token_refreshes_without_spending_the_refresh_token(fake):
    fake.register_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    refresh_token = fake.install(CLIENT_ID)["refresh_token"]
    fake.fail_next("oauth.v2.access", retry_after=2, times=2)
    for _ in range(2):
        response = requests.post(
            f"{fake.api_url}/oauth.v2.access",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=10,
        )
        assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
        assert response.json() == {"ok": False, "error": "ratelimited"}
    assert fake.token(refresh_token).revoked is False
    assert refresh(fake, refresh_token)["ok"] is True
    assert [call.status for call in fake.calls_to("oauth.v2.access")] == [429, 429, 200]


# --- Added latency ----------------------------------------------------------------------


def _timed_auth_tests(fake, token, callers):
    """Wall time of ``callers`` auth.test calls made at once, one thread (and connection) each."""
    start = threading.Barrier(callers + 1)
    answers = []

    def call():
        start.wait()
        answers.append(api(fake, "auth.test", token)["ok"])

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(30)
    elapsed = time.perf_counter() - began
    assert answers == [True] * callers
    return elapsed


def test_latency_is_added_to_every_web_api_answer_and_concurrent_calls_overlap(fake):
    token = install(fake)["access_token"]
    fake.latency = 0.05
    one = min(_timed_auth_tests(fake, token, 1) for _ in range(3))
    assert one >= 0.05
    eight = min(_timed_auth_tests(fake, token, 8) for _ in range(3))
    # One after another, eight would take 8x as long as one; served at once, about 1x.
    assert eight / one < 3, (one, eight)
    fake.fail_next("auth.test", status=503)
    began = time.perf_counter()
    assert requests.post(f"{fake.api_url}/auth.test", timeout=10).status_code == 503
    assert time.perf_counter() - began >= 0.05  # failures are as slow


def test_latency_must_be_seconds():
    assert FakeSlack(latency=0.25).latency == 0.25
    for wrong in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="latency must be"):
            FakeSlack(latency=wrong)
    with pytest.raises(CommandError, match="--latency"):
        call_command("slack_installs_fakeslack", "--no-database", "--latency", "fast")


def test_fail_next_needs_a_way_to_fail(fake):
    with pytest.raises(ValueError, match="say how"):
        fake.fail_next("auth.test")
    with pytest.raises(ValueError, match="HTTP error status"):
        fake.fail_next("auth.test", status=200)


def test_reset_forgets_state_but_keeps_apps(fake):
    token = install(fake)["access_token"]
    fake.fail_next("auth.test", error="fatal_error")
    fake.reset()
    assert fake.tokens() == [] and fake.calls == [] and fake.messages == []
    assert api(fake, "auth.test", token) == {"ok": False, "error": "invalid_auth"}
    assert CLIENT_ID in fake.apps
    fake.reset(forget_apps=True)
    assert fake.apps == {}
    assert requests.get(authorize_url(fake), timeout=10).status_code == 400


def test_stop_lets_a_slow_answer_go_and_frees_the_port():
    fake = FakeSlack().start()
    url = fake.url
    fake.fail_next("auth.test", delay=60)
    worker = threading.Thread(
        target=lambda: requests.post(f"{url}/api/auth.test", timeout=30), daemon=True
    )
    worker.start()
    while fake._failures["auth.test"] and worker.is_alive():  # until the request is held
        worker.join(0.05)
    fake.stop()
    worker.join(30)
    assert not worker.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_resolve_app_knows_apps_that_were_not_registered():
    from slack_installs.testing import FakeApp

    known = FakeApp("7.7", "resolved-secret", name="Resolved")
    with FakeSlack(resolve_app=lambda client_id: known if client_id == "7.7" else None) as fake:
        page = requests.get(authorize_url(fake, client_id="7.7"), timeout=10)
        assert "Resolved is requesting permission" in page.text
        code = code_from(fake.consent(authorize_url(fake, client_id="7.7")))
        assert exchange(fake, code, auth=("7.7", "resolved-secret"))["ok"] is True


# --- Signed events ----------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(403 if b"refuse" in body else 200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"refused" if b"refuse" in body else b"thanks")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/acme/events/", _Receiver.received
    server.shutdown()
    server.server_close()


def test_send_event_signs_like_slack(fake, receiver):
    url, received = receiver
    payload = fake.event_callback(CLIENT_ID, "T0ACME0001", {"type": "app_uninstalled"})
    delivery = fake.send_event(url, payload, client_id=CLIENT_ID)
    assert (delivery.status, delivery.text) == (200, "thanks")
    [(headers, body)] = received
    timestamp = headers["X-Slack-Request-Timestamp"]
    expected = (
        "v0="
        + hmac.new(
            SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256
        ).hexdigest()
    )
    assert headers["X-Slack-Signature"] == expected
    assert SignatureVerifier(SIGNING_SECRET).is_valid(body, timestamp, expected)
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["type"] == "event_callback"
    assert event["api_app_id"] == fake.apps[CLIENT_ID].app_id
    assert event["team_id"] == "T0ACME0001"
    assert event["event"]["type"] == "app_uninstalled"


def test_send_event_returns_refusals_and_takes_old_timestamps(fake, receiver):
    url, received = receiver
    delivery = fake.send_event(url, {"refuse": True}, signing_secret="s3", timestamp=1000)
    assert (delivery.status, delivery.text) == (403, "refused")
    headers, body = received[0]
    assert headers["X-Slack-Request-Timestamp"] == "1000"
    assert headers["X-Slack-Signature"] == signature("s3", 1000, body)
    with pytest.raises(FakeSlackError):
        FakeSlack().send_event(url, {})  # no secret and no app to take it from


# --- The management command and the pytest fixture --------------------------------------


def test_command_refuses_a_malformed_app_without_echoing_it():
    with pytest.raises(CommandError) as raised:
        call_command("slack_installs_fakeslack", "--no-database", "--app", "only-an-id")
    assert "only-an-id" not in str(raised.value)


def test_command_serves_in_the_foreground():
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "manage.py", "slack_installs_fakeslack", "--port", "0"]
    command += ["--no-database", "--app", f"{CLIENT_ID}:{CLIENT_SECRET}:{SIGNING_SECRET}"]
    command += ["--latency", "0.05"]
    process = subprocess.Popen(
        command,
        cwd=root,
        env={**_clean_env(), "DJANGO_SETTINGS_MODULE": "tests.settings"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert "Fake Slack running at http://127.0.0.1:" in first_line
        url = first_line.rsplit(" ", 1)[1].strip()
        page = requests.get(authorize_url_for(url), timeout=10)
        assert page.status_code == 200
        assert CLIENT_ID in page.text
        announced = [process.stdout.readline() for _ in range(2)]
        assert "Adds 50 ms to every Web API answer." in announced[1]
        began = time.perf_counter()
        assert requests.post(f"{url}/api/auth.test", timeout=10).json()["error"] == "not_authed"
        assert time.perf_counter() - began >= 0.05
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def authorize_url_for(url):
    query = {"client_id": CLIENT_ID, "scope": "chat:write", "redirect_uri": REDIRECT_URI}
    return f"{url}/oauth/v2/authorize?{urlencode(query)}"


def _clean_env():
    return {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}


def test_fake_slack_fixture_points_the_settings_at_the_fake(fake_slack, settings):
    assert fake_slack.url == app_settings.SLACK_URL
    assert fake_slack.api_url == app_settings.API_URL
    assert app_settings.ENCRYPTION_KEYS == {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="}
    assert requests.get(fake_slack.url + "/", timeout=10).status_code == 200


def test_the_fake_slack_is_its_sign_in_and_consent_pages_and_its_web_api_on_one_server():
    from slack_installs import testing
    from slack_installs.testing import consent, fakeslack, manifests, oidc, webapi

    assert testing.FakeSlack is fakeslack.FakeSlack
    parts = {oidc.OpenIDConnect, consent.ConsentPages, webapi.WebAPI, manifests.ManifestAPI}
    assert parts <= set(fakeslack.FakeSlack.__mro__[1:])
    assert "_authorize" in vars(consent.ConsentPages) and "consent" in vars(consent.ConsentPages)
    assert "_authorize" not in vars(fakeslack.FakeSlack)


def test_fake_slack_app_fixture_is_a_stored_app_the_fake_knows(fake_slack, fake_slack_app):
    from slack_installs.models import SlackApp

    stored = SlackApp.objects.get()
    assert (stored.pk, stored.slug, stored.name) == (
        fake_slack_app.pk,
        "acme-helper",
        "Acme Helper",
    )
    assert stored.bot_scopes == "chat:write,commands,incoming-webhook"
    assert stored.user_scopes == "users:read"
    known = fake_slack.app(stored.client_id)
    assert known is not None
    assert (known.client_secret, known.signing_secret) == (
        stored.client_secret,
        stored.signing_secret,
    )
    assert known.token_rotation is False
    assert fake_slack.install(stored.client_id)["ok"] is True
