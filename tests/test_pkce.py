"""PKCE, opt-in per app: the S256 challenge on the authorize URL, the verifier on the exchange,
and the verifier kept only encrypted, on the server, until the attempt ends."""

from __future__ import annotations

import base64
import hashlib
import string
from urllib.parse import parse_qs, urlsplit

import pytest

from slack_installs.models import Installation, OAuthAttempt
from slack_installs.oauth import pkce_pair
from tests.installs import callback_through_fake, install_through_fake
from tests.slack_mocks import answer_install

pytestmark = pytest.mark.django_db

INSTALL = "/slack/acme/install/"
CALLBACK = "/slack/acme/oauth/callback/"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _raw_verifier() -> str | None:
    return OAuthAttempt.objects.values_list("code_verifier", flat=True).get()


def test_pkce_pair_follows_rfc_7636():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(string.ascii_letters + string.digits + "-._~")  # unreserved
    assert challenge == _s256(verifier)
    assert "=" not in challenge
    assert pkce_pair()[0] != verifier


def test_without_pkce_nothing_changes(client, slack_app, mocked_slack):
    response = client.get(INSTALL)
    query = parse_qs(urlsplit(response["Location"]).query)
    assert "code_challenge" not in query and "code_challenge_method" not in query
    assert _raw_verifier() is None
    state = query["state"][0]
    exchange = answer_install(mocked_slack)
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert "code_verifier" not in exchange.calls[0].request.body


def test_with_pkce_the_challenge_goes_out_and_the_verifier_comes_back(
    client, slack_app, mocked_slack
):
    slack_app.use_pkce = True
    slack_app.save()
    response = client.get(INSTALL)
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    challenge = query["code_challenge"][0]

    stored = _raw_verifier()
    assert stored is not None and stored.startswith("f1:k1:")  # encrypted at rest
    verifier = OAuthAttempt.objects.get().code_verifier
    assert _s256(verifier) == challenge
    assert verifier not in response["Location"]
    assert all(verifier not in cookie.value for cookie in response.cookies.values())

    exchange = answer_install(mocked_slack)
    done = client.get(CALLBACK, {"code": "c", "state": query["state"][0]})
    assert done.status_code == 302
    sent = parse_qs(exchange.calls[0].request.body)
    assert sent["code_verifier"] == [verifier]
    assert Installation.objects.count() == 1
    assert _raw_verifier() is None  # spent, so wiped


def test_a_refused_verifier_is_slacks_error_and_the_verifier_is_wiped(
    client, slack_app, mocked_slack
):
    slack_app.use_pkce = True
    slack_app.save()
    state = parse_qs(urlsplit(client.get(INSTALL)["Location"]).query)["state"][0]
    mocked_slack.post(
        "https://slack.test/api/oauth.v2.access",
        json={"ok": False, "error": "invalid_code_verifier"},
    )
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"invalid_code_verifier" in response.content
    assert OAuthAttempt.objects.values_list("status", "error").get() == (
        "failed",
        "invalid_code_verifier",
    )
    assert _raw_verifier() is None
    assert Installation.objects.count() == 0


def test_the_attempts_own_verifier_counts_when_pkce_is_switched_meanwhile(
    client, slack_app, mocked_slack
):
    slack_app.use_pkce = True
    slack_app.save()
    state = parse_qs(urlsplit(client.get(INSTALL)["Location"]).query)["state"][0]
    verifier = OAuthAttempt.objects.get().code_verifier
    slack_app.use_pkce = False
    slack_app.save()
    exchange = answer_install(mocked_slack)
    assert client.get(CALLBACK, {"code": "c", "state": state}).status_code == 302
    assert parse_qs(exchange.calls[0].request.body)["code_verifier"] == [verifier]


# --- end to end, against the fake Slack, which checks the verifier -----------------------


def test_an_install_with_pkce_completes_through_the_fake_slack(client, fake_slack, fake_slack_app):
    fake_slack_app.use_pkce = True
    fake_slack_app.save()
    response = install_through_fake(client, fake_slack, fake_slack_app)
    assert response.status_code == 302
    assert Installation.objects.filter(app=fake_slack_app).count() == 1
    [exchange] = fake_slack.calls_to("oauth.v2.access")
    assert exchange.params["code_verifier"]
    assert _raw_verifier() is None


def test_the_fake_slack_refuses_a_wrong_verifier(client, fake_slack, fake_slack_app):
    fake_slack_app.use_pkce = True
    fake_slack_app.save()
    back = callback_through_fake(client, fake_slack, fake_slack_app)
    # Someone swaps the pending attempt's verifier: its challenge went to Slack already.
    attempt = OAuthAttempt.objects.get()
    attempt.code_verifier = pkce_pair()[0]
    attempt.save(update_fields=["code_verifier"])
    response = client.get(back)
    assert response.status_code == 400
    assert b"invalid_code_verifier" in response.content
    assert Installation.objects.count() == 0
    assert OAuthAttempt.objects.values_list("status", "error").get() == (
        "failed",
        "invalid_code_verifier",
    )


def test_the_fake_slack_wants_a_verifier_for_a_code_with_a_challenge(
    client, fake_slack, fake_slack_app
):
    fake_slack_app.use_pkce = True
    fake_slack_app.save()
    back = callback_through_fake(client, fake_slack, fake_slack_app)
    OAuthAttempt.objects.update(code_verifier=None)  # as if the verifier were never sent
    response = client.get(back)
    assert b"invalid_code_verifier" in response.content
    assert Installation.objects.count() == 0


def test_the_admin_explains_the_trade_off_before_pkce_is_switched_on(admin_client, slack_app):
    page = admin_client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")
    text = page.content.decode()
    assert 'name="use_pkce"' in text
    assert "public client for good" in text and "30 days" in text
