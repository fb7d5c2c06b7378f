"""``responses`` registrations shared by tests that install through our views."""

from __future__ import annotations

import responses

from tests import slack_payloads

API_URL = "https://slack.test/api"  # tests/settings.py
ACCESS_URL = f"{API_URL}/oauth.v2.access"
AUTH_TEST_URL = f"{API_URL}/auth.test"


ORG_URL = "https://grid-org.enterprise.slack.com/"


def answer_install(
    mocked_slack: responses.RequestsMock, *, auth_url: str | None = None, **payload
) -> responses.BaseResponse:
    """Slack's answers to one install: ``oauth.v2.access`` then ``auth.test``.

    ``payload`` goes to ``slack_payloads.oauth_v2_access``; ``auth.test`` answers for the
    same workspace or org, with ``auth_url`` as its ``url`` when given (default: the
    workspace's, or ``ORG_URL`` for an org-wide install). Returns the registered
    ``oauth.v2.access`` answer, whose ``call_count`` tells how often the code was exchanged.
    """
    answer = slack_payloads.oauth_v2_access(**payload)
    exchange = mocked_slack.add(responses.POST, ACCESS_URL, json=answer)
    enterprise_id = (answer["enterprise"] or {}).get("id")
    if answer["is_enterprise_install"]:
        who = slack_payloads.auth_test(
            team_id=enterprise_id, enterprise_id=enterprise_id, org_wide=True, url=ORG_URL
        )
    else:
        who = slack_payloads.auth_test(team_id=answer["team"]["id"], enterprise_id=enterprise_id)
    if auth_url is not None:
        who["url"] = auth_url
    mocked_slack.add(responses.POST, AUTH_TEST_URL, json=who)
    return exchange
