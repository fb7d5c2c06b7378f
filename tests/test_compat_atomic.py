"""django-slack-oauth's ``/slack/login/`` takes Slack's redirect back as the native callback
does: outside ``ATOMIC_REQUESTS``, so what Slack spent is committed whatever fails later.

Real transactions (``transactional_db``), as a web worker has them.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection, connections

from slack_installs import oauth
from slack_installs.compat.settings_import import DEFAULT_SLUG
from slack_installs.models import Installation, OAuthAttempt, SlackApp
from tests import slack_payloads
from tests.slack_mocks import ACCESS_URL, AUTH_TEST_URL

LOGIN = "/slack/login/"


@pytest.fixture
def default_app(transactional_db):
    # A Slack app whose Redirect URL still is django-slack-oauth's.
    return SlackApp.objects.create(
        name="Default",
        slug=DEFAULT_SLUG,
        client_id="123.456",
        client_secret=slack_payloads.CLIENT_SECRET,
        bot_scopes="chat:write",
        redirect_uri=f"http://testserver{LOGIN}",
    )


@pytest.fixture
def atomic_requests():
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    yield
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = False


@pytest.mark.urls("tests.compat_urls")
def test_a_later_error_keeps_what_slack_spent_the_code_on(
    client, default_app, mocked_slack, monkeypatch, atomic_requests
):
    started = client.get(LOGIN)
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    during_the_exchange = {}

    def exchange(request):
        during_the_exchange["in_a_transaction"] = connection.in_atomic_block
        return 200, {}, json.dumps(slack_payloads.oauth_v2_access())

    mocked_slack.add_callback(responses.POST, ACCESS_URL, callback=exchange)
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.auth_test())
    complete_install = oauth.complete_install

    def then_fail(*args, **kwargs):
        complete_install(*args, **kwargs)
        raise RuntimeError("the worker died after the install")

    monkeypatch.setattr(oauth, "complete_install", then_fail)

    with pytest.raises(RuntimeError):
        client.get(LOGIN, {"code": "c1", "state": state})

    # Slack spent the code: the install it paid for stays, and the attempt says so.
    assert OAuthAttempt.objects.values_list("status", flat=True).get() == "succeeded"
    assert Installation.objects.get().bot_token == slack_payloads.BOT_TOKEN
    assert during_the_exchange == {"in_a_transaction": False}
