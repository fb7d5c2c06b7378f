"""The "Slack OAuth requests" log in the admin: read-only, filterable, redacted."""

from __future__ import annotations

import datetime

from django.utils import timezone

from slack_installs.models import OAuthAttempt
from tests import slack_payloads
from tests.installs import assert_no_secret, make_installation

CHANGELIST = "/admin/slack_installs/oauthattempt/"


def attempt(app, digest: str, **fields) -> OAuthAttempt:
    now = timezone.now()
    values = {"expires_at": now + datetime.timedelta(minutes=10), "team": "T0001"}
    values.update(fields)
    return OAuthAttempt.objects.create(app=app, state_digest=digest * 64, **values)


def test_log_lists_attempts_with_filters(admin_client, slack_app):
    attempt(slack_app, "a", status="succeeded")
    attempt(slack_app, "b", status="failed", error="invalid_state")
    attempt(slack_app, "c", status="failed", error="bad_client_secret")
    attempt(slack_app, "d", status="denied", error="access_denied")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Slack OAuth requests" in html
    assert "bad_client_secret" in html
    failed = admin_client.get(CHANGELIST, {"status__exact": "failed"}).context["cl"].result_list
    assert {a.error for a in failed} == {"invalid_state", "bad_client_secret"}
    by_error = admin_client.get(CHANGELIST, {"error": "access_denied"}).context["cl"].result_list
    assert [a.status for a in by_error] == ["denied"]
    by_app = admin_client.get(CHANGELIST, {"app__id__exact": slack_app.pk}).context["cl"]
    assert by_app.result_count == 4


def test_detail_pretty_prints_the_redacted_response(admin_client, slack_app):
    installation = make_installation(slack_app)
    # An old row stored before redaction existed: the page redacts it again.
    row = attempt(
        slack_app,
        "e",
        status="succeeded",
        installation=installation,
        finished_at=timezone.now(),
        response=slack_payloads.oauth_v2_access(
            user_token=slack_payloads.USER_TOKEN, webhook_url=slack_payloads.WEBHOOK_URL
        ),
    )
    response = admin_client.get(f"{CHANGELIST}{row.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secret(html)
    assert '<pre class="slack-response">' in html
    assert "&quot;team&quot;: {\n    &quot;id&quot;: &quot;T0001&quot;" in html
    assert "e" * 64 not in html  # the state digest is not shown
    assert 'name="_save"' not in html


def test_log_is_read_only(admin_client, slack_app):
    row = attempt(slack_app, "f", status="failed", error="invalid_state")
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    response = admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"status": "succeeded"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.status == "failed"
