"""Sign in with Slack end to end: our views, the Django test client as the browser, and the
fake Slack (its authorize page, ``openid.connect.token``, key set and ``userInfo``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model

from slack_installs.models import OAuthAttempt, SlackIdentity
from slack_installs.testing import FakeSlackError
from slack_installs.testing.oidc import TAMPERINGS
from tests.signins import empty_cache, enable_sign_in, sign_in_through_fake  # noqa: F401
from tests.test_hardening_concurrency import racing, run_together

User = get_user_model()
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


@pytest.fixture
def app_at_fake(slack_app, fake_slack):
    enable_sign_in(slack_app)
    fake_slack.register_slack_app(slack_app)
    return slack_app


def signed_in(client):
    return client.session.get(SESSION_KEY)


def test_sign_in_makes_a_user_and_signing_in_again_finds_it(client, fake_slack, app_at_fake):
    response = sign_in_through_fake(client, fake_slack)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get()
    assert user.username == "slack.T0ACME0001.U0ACME0001"
    assert user.email == "u0acme0001@acme.example.com"
    assert signed_in(client) == str(user.pk)
    identity = SlackIdentity.objects.get()
    # The id_token has no team name: it came from openid.connect.userInfo.
    assert (identity.team_name, identity.name) == ("Acme Corp", "Pat of Acme Corp")
    assert identity.picture == "https://avatars.fake-slack.test/U0ACME0001_512.png"
    assert len(fake_slack.calls_to("openid.connect.userInfo")) == 1

    client.logout()
    assert sign_in_through_fake(client, fake_slack).status_code == 302
    assert signed_in(client) == str(user.pk)
    assert User.objects.count() == 1
    # One key set fetch for both sign-ins: the second read Django's cache.
    assert len(fake_slack.calls_to("openid.connect.keys")) == 1


def test_another_workspace_and_user_is_another_account(client, fake_slack, app_at_fake):
    sign_in_through_fake(client, fake_slack)
    client.logout()
    fake_slack.sign_in_as("U0ACME0002", email_verified=False)
    sign_in_through_fake(client, fake_slack)
    client.logout()
    sign_in_through_fake(client, fake_slack, workspace="T0GLOBEX01")
    assert sorted(User.objects.values_list("username", "email")) == [
        ("slack.T0ACME0001.U0ACME0001", "u0acme0001@acme.example.com"),
        ("slack.T0ACME0001.U0ACME0002", ""),
        ("slack.T0GLOBEX01.W0GLOBEX01", "w0globex01@globex-sales.example.com"),
    ]


@pytest.mark.parametrize("how", TAMPERINGS)
def test_each_tampered_id_token_is_the_error_page(client, fake_slack, app_at_fake, how):
    fake_slack.tamper_next_id_token(how)
    response = sign_in_through_fake(client, fake_slack)
    assert response.status_code == 400
    assert '<span class="code">invalid_id_token</span>' in response.content.decode()
    assert signed_in(client) is None
    assert not User.objects.exists() and not SlackIdentity.objects.exists()
    assert OAuthAttempt.objects.values_list("status", "error").get() == (
        "failed",
        "invalid_id_token",
    )
    # The next, untampered one signs in.
    assert sign_in_through_fake(client, fake_slack).status_code == 302


def test_a_rotated_key_is_fetched_again_and_signs_in(client, fake_slack, app_at_fake):
    sign_in_through_fake(client, fake_slack)
    client.logout()
    old = fake_slack.signing_kids
    new_kid = fake_slack.rotate_signing_key()
    assert fake_slack.signing_kids == [new_kid] and new_kid not in old
    assert sign_in_through_fake(client, fake_slack).status_code == 302
    assert len(fake_slack.calls_to("openid.connect.keys")) == 2
    # Published beside the old one, as Slack does while it rotates.
    fake_slack.rotate_signing_key(keep_old=True)
    assert len(fake_slack.jwks()["keys"]) == 2


def test_cancel_is_access_denied(client, fake_slack, app_at_fake):
    response = sign_in_through_fake(client, fake_slack, allow=False)
    assert response.status_code == 400
    assert OAuthAttempt.objects.values_list("status", "error").get() == ("denied", "access_denied")


def test_pkce_at_the_fake(client, fake_slack, app_at_fake):
    app_at_fake.use_pkce = True
    app_at_fake.save()
    assert sign_in_through_fake(client, fake_slack).status_code == 302
    [exchange] = fake_slack.calls_to("openid.connect.token")
    assert exchange.params["code_verifier"]


def test_the_fake_refuses_a_wrong_verifier_and_a_reused_code(client, fake_slack, app_at_fake):
    app_at_fake.use_pkce = True
    app_at_fake.save()
    started = client.get("/slack/acme/sign-in/")
    back = fake_slack.consent(started["Location"])
    code = parse_qs(urlsplit(back).query)["code"][0]
    OAuthAttempt.objects.update(code_verifier="not-the-verifier")
    response = client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    assert '<span class="code">invalid_grant</span>' in response.content.decode()
    [refused] = fake_slack.calls_to("openid.connect.token")
    assert refused.response == {"ok": False, "error": "invalid_grant"}
    assert code


def test_slacks_failure_of_the_exchange_is_its_code(client, fake_slack, app_at_fake):
    fake_slack.fail_next("openid.connect.token", error="invalid_code")
    response = sign_in_through_fake(client, fake_slack)
    assert '<span class="code">invalid_code</span>' in response.content.decode()


def test_the_key_set_unreachable_is_invalid_id_token(client, fake_slack, app_at_fake):
    fake_slack.fail_next("openid.connect.keys", status=503)
    response = sign_in_through_fake(client, fake_slack)
    assert '<span class="code">invalid_id_token</span>' in response.content.decode()


def test_the_fakes_pages_refuse_bad_requests(fake_slack, app_at_fake):
    import urllib.error
    import urllib.request

    base = f"{fake_slack.url}/openid/connect/authorize"
    for query in (
        "client_id=nobody&redirect_uri=http://x/&response_type=code&scope=openid",
        "client_id=111.222&redirect_uri=http://x/&response_type=token&scope=openid",
        "client_id=111.222&redirect_uri=http://x/&response_type=code&scope=chat:write",
        "client_id=111.222&response_type=code&scope=openid",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}?{query}", timeout=5)  # noqa: S310
        assert refused.value.code == 400
    with urllib.request.urlopen(  # noqa: S310
        f"{fake_slack.url}/.well-known/openid-configuration", timeout=5
    ) as answer:
        assert b'"jwks_uri"' in answer.read()


def test_the_fakes_knobs_refuse_what_they_cannot_do(fake_slack):
    with pytest.raises(ValueError, match="tamper with one of"):
        fake_slack.tamper_next_id_token("everything")
    with pytest.raises(FakeSlackError):
        fake_slack.sign_in_as("W0GLOBEX01", workspace="E0GLOBEX01")


def test_the_demo_home_page_signs_in_shows_who_and_signs_out(client, fake_slack, app_at_fake):
    home = client.get("/").content.decode()
    assert "Nobody is signed in." in home
    assert 'class="slack-sign-in-button" href="/slack/acme/sign-in/"' in home
    assert sign_in_through_fake(client, fake_slack)["Location"] == "/"
    home = client.get("/").content.decode()
    assert "Signed in as <strong>slack.T0ACME0001.U0ACME0001</strong>" in home
    assert "Pat of Acme Corp in Acme Corp" in home
    assert "slack-sign-in-button" not in home
    assert client.post("/sign-out/")["Location"] == "/"
    assert signed_in(client) is None
    assert "Nobody is signed in." in client.get("/").content.decode()


def test_the_demo_apps_include_one_with_sign_in(db):
    from tests.test_demo import demo

    apps = {app.slug: app for app in demo.ensure_demo_apps()}
    assert apps["acme-helper"].sign_in_enabled and not apps["standup-bot"].sign_in_enabled


@racing
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_of_one_slack_user_make_one_user(fake_slack, slack_app):
    from django.core.cache import cache
    from django.test import Client

    cache.clear()
    enable_sign_in(slack_app)
    fake_slack.register_slack_app(slack_app)
    browsers = [Client() for _ in range(10)]
    callbacks = []
    for browser in browsers:
        started = browser.get("/slack/acme/sign-in/")
        back = urlsplit(fake_slack.consent(started["Location"]))
        callbacks.append(f"{back.path}?{back.query}")

    results = run_together(
        [
            lambda b=browser, u=url: b.get(u)
            for browser, url in zip(browsers, callbacks, strict=True)
        ]
    )

    errors = list(OAuthAttempt.objects.exclude(status="succeeded").values_list("error", flat=True))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 10, errors
    [user] = User.objects.all()
    assert SlackIdentity.objects.get().user == user
    assert {browser.session[SESSION_KEY] for browser in browsers} == {str(user.pk)}
