"""``responses`` registrations shared by tests that install through our views."""

from __future__ import annotations

import responses

from tests import slack_payloads

API_URL = "https://slack.test/api"  # tests/settings.py


def answer_install(mocked_slack: responses.RequestsMock, **payload) -> None:
    """Slack's answers to one install: ``oauth.v2.access`` then ``auth.test``."""
    mocked_slack.add(
        responses.POST,
        f"{API_URL}/oauth.v2.access",
        json=slack_payloads.oauth_v2_access(**payload),
    )
    mocked_slack.add(responses.POST, f"{API_URL}/auth.test", json=slack_payloads.auth_test())
