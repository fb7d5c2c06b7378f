from __future__ import annotations

import logging

import pytest
import requests
import responses
from django.test import override_settings

from slack_installs import client
from slack_installs.exceptions import SlackAPIError
from tests import slack_payloads

URL = "https://slack.test/api/auth.test"


def test_ok_answer_is_returned(mocked_slack):
    mocked_slack.add(responses.POST, URL, json=slack_payloads.auth_test())
    assert client.auth_test("xoxb-1")["bot_id"] == "B0BOT"
    assert mocked_slack.calls[0].request.headers["Authorization"] == "Bearer xoxb-1"


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        ({"json": slack_payloads.error("invalid_auth")}, "invalid_auth", 200),
        ({"json": {"ok": False}}, "unknown_error", 200),
        ({"json": {"ok": False, "error": "<b>html</b>"}}, "unknown_error", 200),
        ({"body": "not json"}, "invalid_response", 200),
        ({"json": ["a", "list"]}, "invalid_response", 200),
        ({"body": "oops", "status": 502}, "http_error", 502),
        ({"body": requests.exceptions.ConnectTimeout()}, "timeout", None),
        ({"body": requests.exceptions.ConnectionError()}, "connection_error", None),
    ],
)
def test_every_failure_is_one_slack_api_error(mocked_slack, answer, code, status):
    mocked_slack.add(responses.POST, URL, **answer)
    with pytest.raises(SlackAPIError) as info:
        client.auth_test("xoxb-1")
    assert info.value.code == code
    assert info.value.status == status
    assert info.value.method == "auth.test"


def test_rate_limit_carries_retry_after(mocked_slack):
    mocked_slack.add(responses.POST, URL, status=429, headers={"Retry-After": "30"}, body="")
    with pytest.raises(SlackAPIError) as info:
        client.auth_test("xoxb-1")
    assert (info.value.code, info.value.retry_after) == ("ratelimited", 30)


def test_every_call_has_the_configured_timeout(monkeypatch):
    seen = {}

    def fake_request(self, method, url, **kwargs):
        seen.update(kwargs)
        raise requests.exceptions.ReadTimeout()

    monkeypatch.setattr(requests.Session, "request", fake_request)
    settings_value = {
        "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
        "API_URL": "https://slack.test/api",
        "HTTP_TIMEOUT": 3,
    }
    with override_settings(SLACK_INSTALLS=settings_value), pytest.raises(SlackAPIError):
        client.oauth_v2_access(client_id="1", client_secret="s", code="c")
    assert seen["timeout"] == 3.0
    assert seen["auth"] == ("1", "s")


def test_refresh_request_shape(mocked_slack):
    mocked_slack.add(responses.POST, "https://slack.test/api/oauth.v2.access", json={"ok": True})
    client.oauth_v2_access(
        client_id="1", client_secret="s", grant_type="refresh_token", refresh_token="xoxe-1-r"
    )
    body = mocked_slack.calls[0].request.body
    assert "grant_type=refresh_token" in body and "refresh_token=xoxe-1-r" in body
    assert "code=" not in body


def test_nothing_secret_is_logged(mocked_slack, caplog):
    mocked_slack.add(
        responses.POST,
        "https://slack.test/api/oauth.v2.access",
        json=slack_payloads.error("bad_client_secret"),
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SlackAPIError):
        client.oauth_v2_access(client_id="1", client_secret="canary-secret-xyz", code="code-xyz")
    assert "bad_client_secret" in caplog.text
    assert "canary-secret-xyz" not in caplog.text
    assert "code-xyz" not in caplog.text
