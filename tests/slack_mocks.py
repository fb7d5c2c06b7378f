"""``responses`` registrations shared by tests that install through our views."""

from __future__ import annotations

import responses

from tests import slack_payloads

API_URL = "https://slack.test/api"  # tests/settings.py
ACCESS_URL = f"{API_URL}/oauth.v2.access"
AUTH_TEST_URL = f"{API_URL}/auth.test"


def answer_install(mocked_slack: responses.RequestsMock, **payload) -> responses.BaseResponse:
    """Slack's answers to one install: ``oauth.v2.access`` then ``auth.test``.

    ``payload`` goes to ``slack_payloads.oauth_v2_access``. Returns the registered
    ``oauth.v2.access`` answer, whose ``call_count`` tells how often the code was exchanged.
    """
    exchange = mocked_slack.add(
        responses.POST, ACCESS_URL, json=slack_payloads.oauth_v2_access(**payload)
    )
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.auth_test())
    return exchange
