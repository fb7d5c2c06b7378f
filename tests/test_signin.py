"""Sign in with Slack (``slack_installs.signin`` and its two views), against ``responses``.

Every outcome of DESIGN.md's "Sign in with Slack": the redirect to Slack, each way the
``id_token`` can be wrong, who is logged in (new user, same user, linked, refused), and
the attempt each leaves behind.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.core.checks import run_checks
from django.db import IntegrityError, connection, connections
from django.test import override_settings

from slack_installs import signin
from slack_installs.models import OAuthAttempt, SlackIdentity
from slack_installs.signals import user_signed_in_with_slack
from tests.installs import start_install
from tests.signins import (  # noqa: F401 (empty_cache is a fixture)
    ACCESS_TOKEN,
    JWKS_URL,
    TEAM_ID,
    TOKEN_URL,
    USER_ID,
    USER_INFO_URL,
    answer_sign_in,
    empty_cache,
    enable_sign_in,
    id_token,
    jwk,
    jwks,
    sign_in,
    start_sign_in,
)
from tests.slack_mocks import ACCESS_URL

User = get_user_model()
pytestmark = pytest.mark.usefixtures("empty_cache")
USERNAME = f"slack.{TEAM_ID}.{USER_ID}"
CALLBACK = "/slack/acme/sign-in/callback/"


@pytest.fixture
def sign_in_app(slack_app):
    return enable_sign_in(slack_app)


def attempt() -> OAuthAttempt:
    return OAuthAttempt.objects.get()


def signed_in_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


def calls_to(mocked_slack, url: str) -> list:
    return [call for call in mocked_slack.calls if call.request.url.split("?")[0] == url]


def assert_error_page(response, code: str, status: int = 400) -> None:
    assert response.status_code == status
    page = response.content.decode()
    assert "Sign in with Slack did not complete" in page
    assert f'<span class="code">{code}</span>' in page


# --- Starting ---------------------------------------------------------------------------


def test_sign_in_redirects_to_slacks_openid_authorize_page(client, sign_in_app):
    response = client.get("/slack/acme/sign-in/", {"team": "T0TEAM0001", "next": "/account/"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://slack.test/openid/connect/authorize"
    )
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert set(query) == {
        "response_type",
        "scope",
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "team",
    }
    assert query["response_type"] == "code"
    assert query["scope"] == "openid,email,profile"
    assert query["client_id"] == "111.222"
    assert query["redirect_uri"] == f"http://testserver{CALLBACK}"
    assert query["team"] == "T0TEAM0001"
    assert response.cookies["slack_installs_browser"]["httponly"]
    started = attempt()
    assert (started.kind, started.status, started.next_url) == ("sign_in", "pending", "/account/")
    # State and nonce are kept only as digests.
    assert started.state_digest == hashlib.sha256(query["state"].encode()).hexdigest()
    assert started.nonce_digest == hashlib.sha256(query["nonce"].encode()).hexdigest()
    assert query["nonce"] not in str(OAuthAttempt.objects.values().get())


def test_each_sign_in_sends_a_new_nonce_and_state(client, sign_in_app):
    first, second = start_sign_in(client), start_sign_in(client)
    assert first["nonce"] != second["nonce"] and first["state"] != second["state"]


def test_redirect_base_url_makes_the_callback_url(client, sign_in_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "REDIRECT_BASE_URL": "https://ex.com"}
    assert start_sign_in(client)["redirect_uri"] == f"https://ex.com{CALLBACK}"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_a_next_that_is_not_local_is_dropped(client, sign_in_app, next_url):
    start_sign_in(client, next=next_url)
    assert attempt().next_url == ""


def test_a_team_that_is_not_a_slack_id_is_dropped(client, sign_in_app):
    assert "team" not in start_sign_in(client, team="<script>")


@pytest.mark.parametrize("view", ["sign-in/", "sign-in/callback/"])
def test_an_app_without_sign_in_is_404(client, slack_app, view):
    assert client.get(f"/slack/acme/{view}").status_code == 404
    assert not OAuthAttempt.objects.exists()


@pytest.mark.parametrize("view", ["sign-in/", "sign-in/callback/"])
def test_an_inactive_or_unknown_app_is_404(client, sign_in_app, view):
    sign_in_app.is_active = False
    sign_in_app.save()
    assert client.get(f"/slack/acme/{view}").status_code == 404
    assert client.get(f"/slack/nobody/{view}").status_code == 404


def test_pkce_sends_a_challenge_and_the_exchange_its_verifier(client, sign_in_app, mocked_slack):
    sign_in_app.use_pkce = True
    sign_in_app.save()
    params = start_sign_in(client)
    assert params["code_challenge_method"] == "S256"
    stored = OAuthAttempt.objects.values_list("code_verifier", flat=True).get()
    assert stored.startswith("f1:k1:")  # encrypted
    verifier = attempt().code_verifier
    answer_sign_in(mocked_slack, id_token(params["nonce"]))
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert response.status_code == 302
    [exchange] = calls_to(mocked_slack, TOKEN_URL)
    body = parse_qs(exchange.request.body)
    assert body["code_verifier"] == [verifier]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == params["code_challenge"]
    assert OAuthAttempt.objects.values_list("code_verifier", flat=True).get() is None


# --- Success ----------------------------------------------------------------------------


def test_a_new_slack_user_gets_a_new_user_and_is_logged_in(client, sign_in_app, mocked_slack):
    received = []
    user_signed_in_with_slack.connect(lambda **kw: received.append(kw), weak=False)
    try:
        response = sign_in(client, mocked_slack)
    finally:
        user_signed_in_with_slack.receivers.clear()
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    user = User.objects.get()
    assert user.username == USERNAME
    assert not user.has_usable_password()
    assert (user.email, user.first_name, user.last_name) == (
        "ada@acme.example.com",
        "Ada",
        "Lovelace",
    )
    assert signed_in_user_id(client) == str(user.pk)
    identity = SlackIdentity.objects.get()
    assert (identity.app, identity.team_id, identity.slack_user_id, identity.user) == (
        sign_in_app,
        TEAM_ID,
        USER_ID,
        user,
    )
    assert (identity.name, identity.team_name, identity.picture) == (
        "Ada Lovelace",
        "Acme Sign-in",
        "https://avatars.example.com/ada_192.png",
    )
    done = attempt()
    assert (done.status, done.error, done.user) == ("succeeded", "", user)
    assert done.response == {"ok": True, "token_type": "Bearer"}
    [kwargs] = received
    assert kwargs["app"] == sign_in_app and kwargs["identity"] == identity
    assert kwargs["user"] == user and kwargs["created"] is True


def test_the_client_secret_goes_as_basic_auth(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack)
    [exchange] = calls_to(mocked_slack, TOKEN_URL)
    assert exchange.request.headers["Authorization"].startswith("Basic ")
    body = parse_qs(exchange.request.body)
    assert body["grant_type"] == ["authorization_code"]
    assert body["redirect_uri"] == [f"http://testserver{CALLBACK}"]
    assert "client_secret" not in body


def test_an_unverified_email_is_not_given_to_the_new_user(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack, token_overrides={"email_verified": False})
    assert User.objects.get().email == ""
    assert SlackIdentity.objects.get().email == "ada@acme.example.com"


def test_the_same_slack_user_signs_in_as_the_same_user(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack)
    first_seen = SlackIdentity.objects.get().last_sign_in_at
    client.logout()
    received = []
    user_signed_in_with_slack.connect(lambda **kw: received.append(kw), weak=False)
    try:
        response = sign_in(client, mocked_slack, token_overrides={"name": "Ada L."})
    finally:
        user_signed_in_with_slack.receivers.clear()
    assert response.status_code == 302
    user = User.objects.get()
    assert signed_in_user_id(client) == str(user.pk)
    identity = SlackIdentity.objects.get()
    assert identity.name == "Ada L." and identity.last_sign_in_at > first_seen
    assert received[0]["created"] is False


def test_login_gives_a_new_session_key(client, sign_in_app, mocked_slack):
    session = client.session
    session["before"] = "planted"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    sign_in(client, mocked_slack)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != session.session_key


def test_a_logged_in_user_links_their_slack_account(client, sign_in_app, mocked_slack):
    user = User.objects.create_user("grace", password="pw")
    client.force_login(user)
    response = sign_in(client, mocked_slack)
    assert response.status_code == 302
    assert SlackIdentity.objects.get().user == user
    assert User.objects.count() == 1
    assert signed_in_user_id(client) == str(user.pk)


def test_an_identity_linked_to_someone_else_is_identity_taken(client, sign_in_app, mocked_slack):
    owner = User.objects.create_user("owner")
    SlackIdentity.objects.create(team_id=TEAM_ID, slack_user_id=USER_ID, user=owner)
    other = User.objects.create_user("other", password="pw")
    client.force_login(other)
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "identity_taken")
    assert signed_in_user_id(client) == str(other.pk)  # still who they were, not the owner
    assert SlackIdentity.objects.get().user == owner
    assert (attempt().status, attempt().error) == ("failed", "identity_taken")


def test_deny_makes_no_user(client, sign_in_app, mocked_slack, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGN_IN_NEW_USERS": "deny"}
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "no_account")
    assert not User.objects.exists() and not SlackIdentity.objects.exists()
    assert signed_in_user_id(client) is None
    assert (attempt().status, attempt().error) == ("failed", "no_account")


def test_deny_still_signs_in_a_known_identity(client, sign_in_app, mocked_slack, settings):
    user = User.objects.create_user("known")
    SlackIdentity.objects.create(team_id=TEAM_ID, slack_user_id=USER_ID, user=user)
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGN_IN_NEW_USERS": "deny"}
    assert sign_in(client, mocked_slack).status_code == 302
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize("new_users", ["create", "deny"])
def test_never_matched_by_email(client, sign_in_app, mocked_slack, settings, new_users):
    victim = User.objects.create_user("victim", email="ada@acme.example.com", password="pw")
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGN_IN_NEW_USERS": new_users}
    response = sign_in(client, mocked_slack)
    assert signed_in_user_id(client) != str(victim.pk)
    if new_users == "create":
        assert response.status_code == 302
        assert SlackIdentity.objects.get().user.username == USERNAME
    else:
        assert_error_page(response, "no_account")
    assert not SlackIdentity.objects.filter(user=victim).exists()


def test_a_workspace_outside_sign_in_team_ids_is_refused(client, sign_in_app, mocked_slack):
    enable_sign_in(sign_in_app, sign_in_team_ids="T0OTHER001,T0OTHER002")
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "team_not_allowed")
    assert not User.objects.exists() and not SlackIdentity.objects.exists()
    assert (attempt().status, attempt().error) == ("failed", "team_not_allowed")


def test_a_workspace_in_sign_in_team_ids_signs_in(client, sign_in_app, mocked_slack):
    enable_sign_in(sign_in_app, sign_in_team_ids=f"T0OTHER001,{TEAM_ID}")
    assert sign_in(client, mocked_slack).status_code == 302


def test_a_username_someone_holds_is_identity_taken(client, sign_in_app, mocked_slack):
    squatter = User.objects.create_user(USERNAME, password="pw")
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "identity_taken")
    assert signed_in_user_id(client) is None
    assert not SlackIdentity.objects.exists()
    assert User.objects.get() == squatter


def test_an_inactive_user_is_not_logged_in(client, sign_in_app, mocked_slack):
    user = User.objects.create_user("gone", is_active=False)
    SlackIdentity.objects.create(team_id=TEAM_ID, slack_user_id=USER_ID, user=user)
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "user_inactive")
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("setting", "expected"), [(None, "/"), ("/welcome/", "/welcome/"), ("admin:index", "/admin/")]
)
def test_where_a_signed_in_browser_goes(client, sign_in_app, mocked_slack, setting, expected):
    with override_settings(
        LOGIN_REDIRECT_URL="/",
        SLACK_INSTALLS={**settings.SLACK_INSTALLS, "SIGN_IN_REDIRECT_URL": setting},
    ):
        assert sign_in(client, mocked_slack)["Location"] == expected


def test_next_wins(client, sign_in_app, mocked_slack):
    params = start_sign_in(client, next="/after/?x=1")
    answer_sign_in(mocked_slack, id_token(params["nonce"]))
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert response["Location"] == "/after/?x=1"


def test_a_receiver_that_fails_does_not_undo_the_sign_in(client, sign_in_app, mocked_slack, caplog):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    user_signed_in_with_slack.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="slack_installs.signin"):
            response = sign_in(client, mocked_slack)
    finally:
        user_signed_in_with_slack.disconnect(broken)
    assert response.status_code == 302
    assert signed_in_user_id(client) is not None
    assert "A receiver of user_signed_in_with_slack" in caplog.text


def test_the_team_name_comes_from_user_info_when_the_id_token_lacks_it(
    client, sign_in_app, mocked_slack
):
    answers = {}

    def start_and_answer():
        params = start_sign_in(client)
        token = id_token(params["nonce"], **{"https://slack.com/team_name": None})
        answers.update(answer_sign_in(mocked_slack, token))
        return client.get(CALLBACK, {"code": "c", "state": params["state"]})

    assert start_and_answer().status_code == 302
    assert SlackIdentity.objects.get().team_name == "Acme from userInfo"
    [info] = calls_to(mocked_slack, USER_INFO_URL)
    assert info.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_user_info_about_someone_else_or_failing_changes_nothing(client, sign_in_app, mocked_slack):
    params = start_sign_in(client)
    token = id_token(params["nonce"], **{"https://slack.com/team_name": None})
    answer_sign_in(
        mocked_slack,
        token,
        user_info={"ok": True, "sub": "U0SOMEONE1", "https://slack.com/team_name": "Evil"},
    )
    assert client.get(CALLBACK, {"code": "c", "state": params["state"]}).status_code == 302
    assert SlackIdentity.objects.get().team_name == ""
    client.logout()

    params = start_sign_in(client)
    token = id_token(params["nonce"], **{"https://slack.com/team_name": None})
    answer_sign_in(mocked_slack, token, user_info={"ok": False, "error": "invalid_auth"})
    assert client.get(CALLBACK, {"code": "c", "state": params["state"]}).status_code == 302
    assert SlackIdentity.objects.get().user.username == USERNAME


# --- The id_token ---------------------------------------------------------------------

NOW = int(time.time())
TAMPERED = {
    "signed by another key": {"key": "other"},
    "wrong issuer": {"iss": "https://evil.example"},
    "no issuer": {"iss": None},
    "wrong audience": {"aud": "999.999"},
    "audience of others only": {"aud": ["999.999", "888.888"]},
    "expired beyond the leeway": {"exp": NOW - 120, "iat": NOW - 420},
    "no exp": {"exp": None},
    "issued in the future": {"iat": NOW + 600, "exp": NOW + 900},
    "no iat": {"iat": None},
    "another nonce": {"nonce": "not-the-nonce-we-sent"},
    "no nonce": {"nonce": None},
    "unknown kid": {"kid": "unknown-kid"},
    "no kid": {"kid": None},
    "unsigned (alg none)": {"algorithm": "none"},
    "HS256": {"algorithm": "HS256"},
    "no team id": {"https://slack.com/team_id": None},
    "a user id that is no Slack id": {"https://slack.com/user_id": "u-1<b>"},
}


@pytest.mark.parametrize("overrides", TAMPERED.values(), ids=TAMPERED.keys())
def test_a_bad_id_token_is_invalid_id_token_and_nobody_is_logged_in(
    client, sign_in_app, mocked_slack, overrides, caplog
):
    with caplog.at_level(logging.WARNING, logger="slack_installs.signin"):
        response = sign_in(client, mocked_slack, token_overrides=overrides)
    assert_error_page(response, "invalid_id_token")
    assert "could not be verified" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert not User.objects.exists() and not SlackIdentity.objects.exists()
    assert (attempt().status, attempt().error) == ("failed", "invalid_id_token")
    assert "invalid id_token" in caplog.text


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c", "x" * 20_000])
def test_a_missing_or_malformed_id_token_is_invalid_id_token(
    client, sign_in_app, mocked_slack, token
):
    params = start_sign_in(client)
    answer_sign_in(mocked_slack, token)
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert_error_page(response, "invalid_id_token")
    assert signed_in_user_id(client) is None


def test_expiry_within_the_leeway_is_accepted(client, sign_in_app, mocked_slack):
    overrides = {"exp": int(time.time()) - 20, "iat": int(time.time()) - 320}
    assert sign_in(client, mocked_slack, token_overrides=overrides).status_code == 302


def test_an_audience_list_with_our_client_id_is_accepted(client, sign_in_app, mocked_slack):
    response = sign_in(client, mocked_slack, token_overrides={"aud": ["999.999", "111.222"]})
    assert response.status_code == 302


def test_the_issuer_setting_is_the_one_checked(client, sign_in_app, mocked_slack, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "OIDC_ISSUER": "https://slack.test"}
    assert_error_page(sign_in(client, mocked_slack), "invalid_id_token")
    client.logout()
    response = sign_in(client, mocked_slack, token_overrides={"iss": "https://slack.test"})
    assert response.status_code == 302


def test_a_key_set_with_only_unusable_keys_is_invalid_id_token(client, sign_in_app, mocked_slack):
    keys = jwks(jwk(alg="RS512"), jwk(use="enc"), {"kty": "oct", "kid": "test-key-1", "k": "eA"})
    assert_error_page(sign_in(client, mocked_slack, keys=keys), "invalid_id_token")


# --- The key set: fetched through client.py, cached in Django's cache ------------------


def test_the_key_set_is_fetched_once_with_the_timeout_and_cached(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack)
    client.logout()
    sign_in(client, mocked_slack)
    [fetch] = calls_to(mocked_slack, JWKS_URL)
    assert fetch.request.req_kwargs["timeout"] == 10.0
    assert cache.get(signin._jwks_cache_key(JWKS_URL)) == jwks()


def test_a_key_set_another_worker_cached_is_used_without_fetching(
    client, sign_in_app, mocked_slack
):
    cache.set(signin._jwks_cache_key(JWKS_URL), jwks(), 60)
    assert sign_in(client, mocked_slack).status_code == 302
    assert calls_to(mocked_slack, JWKS_URL) == []


def test_a_rotated_key_is_fetched_again_once(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack)
    client.logout()
    rotated = jwks(jwk("rotated", kid="test-key-2"), jwk())
    response = sign_in(
        client,
        mocked_slack,
        token_overrides={"key": "rotated", "kid": "test-key-2"},
        keys=rotated,
    )
    assert response.status_code == 302
    assert len(calls_to(mocked_slack, JWKS_URL)) == 2
    assert cache.get(signin._jwks_cache_key(JWKS_URL)) == rotated


def test_an_unknown_kid_fetches_again_only_once(client, sign_in_app, mocked_slack):
    sign_in(client, mocked_slack)
    client.logout()
    response = sign_in(client, mocked_slack, token_overrides={"kid": "nobody-knows"})
    assert_error_page(response, "invalid_id_token")
    assert len(calls_to(mocked_slack, JWKS_URL)) == 2


def test_an_unknown_kid_on_a_cold_cache_fetches_once(client, sign_in_app, mocked_slack):
    assert_error_page(
        sign_in(client, mocked_slack, token_overrides={"kid": "nobody-knows"}),
        "invalid_id_token",
    )
    assert len(calls_to(mocked_slack, JWKS_URL)) == 1


def test_the_jwks_url_setting_is_where_keys_come_from(client, sign_in_app, mocked_slack, settings):
    elsewhere = "https://keys.example.com/jwks.json"
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "OIDC_JWKS_URL": elsewhere}
    mocked_slack.add(responses.GET, elsewhere, json=jwks())
    assert sign_in(client, mocked_slack).status_code == 302
    assert len(calls_to(mocked_slack, elsewhere)) == 1 and not calls_to(mocked_slack, JWKS_URL)


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.exceptions.ReadTimeout()},
        {"body": requests.exceptions.ConnectionError()},
        {"status": 500, "json": {}},
        {"body": "not json"},
        {"json": ["a list"]},
        {"json": {"keys": []}},
    ],
    ids=["timeout", "refused", "5xx", "not json", "not an object", "no keys"],
)
def test_a_key_set_that_cannot_be_had_is_invalid_id_token(
    client, sign_in_app, mocked_slack, failure
):
    mocked_slack.add(responses.GET, JWKS_URL, **failure)
    params = start_sign_in(client)
    mocked_slack.add(
        responses.POST,
        TOKEN_URL,
        json={"ok": True, "access_token": ACCESS_TOKEN, "id_token": id_token(params["nonce"])},
    )
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert_error_page(response, "invalid_id_token")
    assert cache.get(signin._jwks_cache_key(JWKS_URL)) is None


def test_junk_in_the_cache_is_fetched_over(client, sign_in_app, mocked_slack):
    cache.set(signin._jwks_cache_key(JWKS_URL), "junk", 60)
    assert sign_in(client, mocked_slack).status_code == 302
    assert len(calls_to(mocked_slack, JWKS_URL)) == 1


# --- Slack's refusals, and the state ------------------------------------------------------


def test_access_denied_is_a_denied_attempt(client, sign_in_app):
    params = start_sign_in(client)
    response = client.get(CALLBACK, {"error": "access_denied", "state": params["state"]})
    assert_error_page(response, "access_denied")
    assert "cancelled on Slack" in response.content.decode()
    assert (attempt().status, attempt().error) == ("denied", "access_denied")


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"json": {"ok": False, "error": "invalid_code"}}, "invalid_code"),
        ({"json": {"ok": False, "error": "bad_redirect_uri"}}, "bad_redirect_uri"),
        ({"body": requests.exceptions.ReadTimeout()}, "timeout"),
        ({"status": 502, "body": "bad gateway"}, "http_error"),
        ({"body": "<html>"}, "invalid_response"),
    ],
)
def test_slacks_refusal_of_the_code_is_its_error_code(
    client, sign_in_app, mocked_slack, answer, code
):
    params = start_sign_in(client)
    mocked_slack.add(responses.POST, TOKEN_URL, **answer)
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert_error_page(response, code)
    assert (attempt().status, attempt().error) == ("failed", code)
    assert signed_in_user_id(client) is None


def test_no_code_is_missing_code(client, sign_in_app, mocked_slack):
    params = start_sign_in(client)
    assert_error_page(client.get(CALLBACK, {"state": params["state"]}), "missing_code")
    assert not mocked_slack.calls


def _state_of(client, kind: str) -> str:
    return start_sign_in(client)["state"] if kind == "sign_in" else start_install(client)


@pytest.mark.parametrize(
    "case", ["none", "unknown", "reused", "other browser", "expired", "install state"]
)
def test_a_bad_state_is_400_invalid_state_before_any_exchange(
    client, sign_in_app, mocked_slack, case
):
    params = start_sign_in(client)
    state = params["state"]
    answer_sign_in(mocked_slack, id_token(params["nonce"]))
    if case == "none":
        state = None
    elif case == "unknown":
        state = "x" * 43
    elif case == "reused":
        assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
        client.logout()
    elif case == "other browser":
        client.cookies.pop("slack_installs_browser")
    elif case == "expired":
        OAuthAttempt.objects.update(expires_at="2000-01-01T00:00:00Z")
    elif case == "install state":
        OAuthAttempt.objects.all().delete()
        state = start_install(client)
    exchanges_before = len(calls_to(mocked_slack, TOKEN_URL))
    query = {"code": "c", **({"state": state} if state else {})}
    response = client.get(CALLBACK, query)
    assert_error_page(response, "invalid_state")
    assert len(calls_to(mocked_slack, TOKEN_URL)) == exchanges_before
    if case in ("other browser", "expired", "install state"):
        assert (attempt().status, attempt().error) == ("failed", "invalid_state")
    if case == "reused":
        assert attempt().status == "succeeded"  # a finished attempt keeps its outcome
    assert signed_in_user_id(client) is None


def test_a_sign_in_state_at_the_install_callback_is_invalid_state(
    client, sign_in_app, mocked_slack
):
    state = start_sign_in(client)["state"]
    response = client.get("/slack/acme/oauth/callback/", {"code": "c", "state": state})
    assert response.status_code == 400
    assert not calls_to(mocked_slack, ACCESS_URL)
    assert (attempt().status, attempt().error) == ("failed", "invalid_state")


def test_a_state_started_by_another_user_is_invalid_state(client, sign_in_app, mocked_slack):
    state = start_sign_in(client)["state"]
    client.force_login(User.objects.create_user("late"))
    assert_error_page(client.get(CALLBACK, {"code": "c", "state": state}), "invalid_state")


def test_an_unexpected_error_is_internal_error_and_nobody_is_logged_in(
    client, sign_in_app, mocked_slack, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(signin, "resolve_identity", broken)
    response = sign_in(client, mocked_slack)
    assert_error_page(response, "internal_error")
    assert (attempt().status, attempt().error) == ("failed", "internal_error")
    assert signed_in_user_id(client) is None


def test_a_bad_sign_in_new_users_is_internal_error_and_check_e007(
    client, sign_in_app, mocked_slack, settings
):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGN_IN_NEW_USERS": "yes"}
    assert_error_page(sign_in(client, mocked_slack), "internal_error")
    assert not User.objects.exists()
    assert [m.id for m in run_checks() if m.id.startswith("slack_installs.")] == [
        "slack_installs.E007"
    ]


def test_a_concurrent_first_sign_in_of_the_same_slack_user_logs_in_its_user(
    client, sign_in_app, mocked_slack, monkeypatch
):
    """The other request made the identity between our lookup and our insert: our insert
    fails, and the retry finds the other request's (committed) row."""
    winner = User.objects.create_user("made-by-the-other-request")
    link = signin._link
    calls = []

    def racing(app, profile, current_user):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        SlackIdentity.objects.create(team_id=TEAM_ID, slack_user_id=USER_ID, user=winner)
        return link(app, profile, current_user)

    monkeypatch.setattr(signin, "_link", racing)
    assert sign_in(client, mocked_slack).status_code == 302
    assert signed_in_user_id(client) == str(winner.pk)
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_the_callback_runs_outside_atomic_requests(client, slack_app, mocked_slack):
    enable_sign_in(slack_app)
    params = start_sign_in(client)
    seen = {}

    def exchange(request):
        seen["in_a_transaction"] = connection.in_atomic_block
        token = id_token(params["nonce"])
        return 200, {}, f'{{"ok": true, "access_token": "{ACCESS_TOKEN}", "id_token": "{token}"}}'

    mocked_slack.add_callback(responses.POST, TOKEN_URL, callback=exchange)
    mocked_slack.add(responses.GET, JWKS_URL, json=jwks())
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False
    assert response.status_code == 302
    assert seen == {"in_a_transaction": False}


def test_no_token_of_the_sign_in_is_stored(client, sign_in_app, mocked_slack):
    params = start_sign_in(client)
    token = id_token(params["nonce"])
    answer_sign_in(mocked_slack, token)
    client.get(CALLBACK, {"code": "c", "state": params["state"]})
    rows = [str(list(model.objects.values())) for model in (OAuthAttempt, SlackIdentity, User)]
    for secret in (ACCESS_TOKEN, token, token.rsplit(".", 1)[1], params["nonce"]):
        assert all(secret not in row for row in rows)


def test_an_insert_that_keeps_failing_is_identity_taken(
    client, sign_in_app, mocked_slack, monkeypatch
):
    def always(app, profile, current_user):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(signin, "_link", always)
    assert_error_page(sign_in(client, mocked_slack), "identity_taken")
    assert signed_in_user_id(client) is None


def test_a_refused_workspace_costs_no_user_info_call(client, sign_in_app, mocked_slack):
    enable_sign_in(sign_in_app, sign_in_team_ids="T0OTHER001")
    params = start_sign_in(client)
    token = id_token(params["nonce"], **{"https://slack.com/team_name": None})
    answer_sign_in(mocked_slack, token)
    assert_error_page(
        client.get(CALLBACK, {"code": "c", "state": params["state"]}), "team_not_allowed"
    )
    assert calls_to(mocked_slack, USER_INFO_URL) == []
