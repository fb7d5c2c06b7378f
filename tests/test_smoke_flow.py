from urllib.parse import parse_qs, urlsplit

import responses

from slack_installs.models import Installation, OAuthAttempt
from tests import slack_payloads


def test_install_and_callback(client, slack_app, mocked_slack):
    response = client.get("/slack/acme/install/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    state = query["state"][0]
    mocked_slack.add(responses.POST, "https://slack.test/api/oauth.v2.access", json=slack_payloads.oauth_v2_access())
    mocked_slack.add(responses.POST, "https://slack.test/api/auth.test", json=slack_payloads.auth_test())
    response = client.get("/slack/acme/oauth/callback/", {"code": "c1", "state": state})
    assert response.status_code == 302, response.content
    installation = Installation.objects.get()
    assert installation.bot_token == slack_payloads.BOT_TOKEN
    assert OAuthAttempt.objects.get().status == "succeeded"
