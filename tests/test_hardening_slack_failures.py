"""Slack failing mid-flight, over real loopback HTTP: hung up, too slow, rate limited.

Each failure ends on a clear error page (below 500, plain words, the code), with
nothing saved, the attempt marked failed with the reason, its state spent, and the
browser free to start again.
"""

from __future__ import annotations

import pytest

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests.installs import callback_through_fake, install_through_fake

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def short_http_timeout(settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "HTTP_TIMEOUT": 0.5}


@pytest.mark.parametrize(
    ("failure", "code", "words"),
    [
        ({"close": True}, "connection_error", "Slack could not be reached."),
        ({"delay": 3.0}, "timeout", "Slack took too long to answer."),
        ({"status": 429, "retry_after": 30}, "ratelimited", "Slack asked us to slow down."),
    ],
    ids=["connection closed", "slower than HTTP_TIMEOUT", "429 with Retry-After"],
)
def test_slack_failing_during_the_code_exchange(
    client, fake_slack, fake_slack_app, failure, code, words
):
    fake_slack.fail_next("oauth.v2.access", **failure)
    callback = callback_through_fake(client, fake_slack, fake_slack_app)

    response = client.get(callback)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Acme Helper was not installed" in page
    assert f"{words} Nothing was installed." in page
    assert f'<span class="code">{code}</span>' in page
    assert 'href="/slack/acme-helper/install/"' in page  # start again, here, not at Slack

    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", code)
    assert attempt.finished_at is not None and attempt.consumed_at is not None
    assert attempt.installation is None and attempt.response is None
    assert not Installation.objects.exists() and not UserToken.objects.exists()
    assert fake_slack.calls_to("auth.test") == []

    # The spent state cannot be replayed, even though Slack never used the code...
    exchanges = len(fake_slack.calls_to("oauth.v2.access"))
    replay = client.get(callback)
    assert replay.status_code == 400
    assert b'<span class="code">invalid_state</span>' in replay.content
    assert len(fake_slack.calls_to("oauth.v2.access")) == exchanges
    # ...and the browser can start again and install.
    again = install_through_fake(client, fake_slack, fake_slack_app)
    assert (again.status_code, again["Location"]) == (302, "/slack/success/?app=acme-helper")
    installation = Installation.objects.get()
    assert installation.bot_token == fake_slack.tokens(kind="bot")[-1].value


@pytest.mark.parametrize(
    "failure", [{"close": True}, {"delay": 3.0}, {"status": 429}], ids=["closed", "slow", "429"]
)
def test_slack_failing_after_the_exchange_keeps_the_tokens_it_issued(
    client, fake_slack, fake_slack_app, failure
):
    """``auth.test`` only adds the bot id: Slack has issued the tokens, so they are kept."""
    fake_slack.fail_next("auth.test", **failure)

    response = install_through_fake(client, fake_slack, fake_slack_app)

    assert (response.status_code, response["Location"]) == (302, "/slack/success/?app=acme-helper")
    installation = Installation.objects.get()
    assert installation.bot_token == fake_slack.tokens(kind="bot")[-1].value
    assert installation.bot_id == ""
    assert UserToken.objects.get().access_token == fake_slack.tokens(kind="user")[-1].value
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error, attempt.installation) == ("succeeded", "", installation)
