"""The installation admin: changelist, filters, search, detail page, and the revoke action."""

from __future__ import annotations

import datetime
import json
import re

import pytest
import responses
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from slack_installs.models import Installation, SlackApp, UserToken
from slack_installs.signals import installation_revoked
from tests import slack_payloads
from tests.installs import (
    assert_no_secret,
    make_installation,
    make_org_installation,
    staff_user,
)

CHANGELIST = "/admin/slack_installs/installation/"
REVOKE_URL = "https://slack.test/api/auth.revoke"


def change_url(installation: Installation) -> str:
    return f"{CHANGELIST}{installation.pk}/change/"


def shown(response) -> list[Installation]:
    return list(response.context["cl"].result_list)


@pytest.fixture
def other_app(db):
    return SlackApp.objects.create(
        name="Other", slug="other", client_id="999.1", client_secret="canary-client-secret-5555"
    )


# --- Changelist ------------------------------------------------------------------------


def test_changelist_shows_installs_and_no_secret(admin_client, slack_app):
    make_installation(slack_app, team_name="Acme Corp", team_id="T0ACME")
    make_org_installation(slack_app)
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Corp (T0ACME)" in html
    assert "Grid Inc (org-wide)" in html
    assert "Grid Inc (E0GRID)" in html
    assert "W0BOT" in html and "chat:write, commands" in html
    assert_no_secret(html)


def test_changelist_shows_status_and_reinstall_need(admin_client, slack_app):
    make_installation(slack_app, team_name="Live")
    make_installation(slack_app, team_name="Gone", revoked_at=timezone.now())
    make_installation(slack_app, team_name="Stale", needs_reinstall_at=timezone.now())
    response = admin_client.get(CHANGELIST)
    rows = {i.team_name: i for i in shown(response)}
    model_admin = response.context["cl"].model_admin
    assert model_admin.status(rows["Live"]) == "active"
    assert model_admin.status(rows["Gone"]) == "revoked"
    assert model_admin.needs_reinstall(rows["Stale"]) is True
    assert model_admin.needs_reinstall(rows["Live"]) is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=active", {"Live", "Grid", "Elsewhere"}),
        ("status=revoked", {"Gone"}),
        ("kind=enterprise", {"Grid"}),
        ("kind=workspace", {"Live", "Gone", "Elsewhere"}),
        ("is_enterprise_install__exact=1", {"Grid"}),
        ("needs_reinstall=yes", {"Elsewhere"}),
        ("q=Grid", {"Grid"}),
        ("q=T0LIVE", {"Live"}),
        ("q=E0GRID", {"Grid"}),
    ],
)
def test_filters_and_search(admin_client, slack_app, other_app, query, expected):
    make_installation(slack_app, team_name="Live", team_id="T0LIVE")
    make_installation(slack_app, team_name="Gone", revoked_at=timezone.now())
    make_installation(
        slack_app,
        team_name="Grid",
        enterprise_id="E0GRID",
        enterprise_name="Grid",
        is_enterprise_install=True,
        team_id="",
    )
    make_installation(other_app, team_name="Elsewhere", needs_reinstall_at=timezone.now())
    response = admin_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert {i.team_name for i in shown(response)} == expected


def test_filter_by_app(admin_client, slack_app, other_app):
    make_installation(slack_app, team_name="Mine")
    make_installation(other_app, team_name="Theirs")
    response = admin_client.get(f"{CHANGELIST}?app__id__exact={other_app.pk}")
    assert [i.team_name for i in shown(response)] == ["Theirs"]


def test_search_never_matches_tokens(admin_client, slack_app):
    make_installation(slack_app)
    response = admin_client.get(CHANGELIST, {"q": slack_payloads.BOT_TOKEN})
    assert response.status_code == 200
    assert shown(response) == []


def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, slack_app, other_app, django_assert_max_num_queries
):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    for _ in range(3):
        make_installation(slack_app)
    few = count_queries()
    for index in range(60):
        make_installation(other_app if index % 2 else slack_app)
    with django_assert_max_num_queries(few):
        response = admin_client.get(CHANGELIST)
    assert len(shown(response)) == 63
    assert count_queries() == few


def test_installations_cannot_be_added(admin_client, slack_app):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert (
        'href="/admin/slack_installs/installation/add/"'
        not in admin_client.get(CHANGELIST).content.decode()
    )


# --- Detail page -----------------------------------------------------------------------


def test_detail_shows_token_tails_only(admin_client, slack_app):
    installation = make_installation(slack_app)
    response = admin_client.get(change_url(installation))
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secret(html)
    assert f"set, ends in …{slack_payloads.BOT_TOKEN[-4:]}" in html
    assert f"set, ends in …{slack_payloads.USER_TOKEN[-4:]}" in html  # the inline
    assert slack_payloads.WEBHOOK_URL[-4:] not in html.replace("#general", "")
    assert 'name="_save"' not in html  # nothing to edit


def shown_value(html: str, field: str) -> str:
    """The text the admin shows for a read-only ``field`` (a fieldset row or an inline cell)."""
    found = re.search(
        rf'class="[^"]*field-{field}[^"]*">.*?(?:<div class="readonly">|<p>)(.*?)</', html, re.S
    )
    assert found, field
    return found.group(1).strip()


def test_refresh_tokens_show_only_whether_they_are_set(admin_client, slack_app):
    installation = make_installation(slack_app)
    html = admin_client.get(change_url(installation)).content.decode()
    assert shown_value(html, "bot_refresh_token_hint") == "set"
    assert shown_value(html, "refresh_token_hint") == "set"  # the user token inline
    # Not even the last four characters, anywhere (the CSRF token aside, which is random).
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    for token in (slack_payloads.BOT_REFRESH_TOKEN, slack_payloads.USER_REFRESH_TOKEN):
        assert token[-4:] not in page
    assert_no_secret(html)


def test_missing_refresh_tokens_show_as_not_set(admin_client, slack_app):
    installation = make_installation(slack_app)
    Installation.objects.filter(pk=installation.pk).update(bot_refresh_token=None)
    UserToken.objects.filter(installation=installation).update(refresh_token=None)
    html = admin_client.get(change_url(installation)).content.decode()
    assert shown_value(html, "bot_refresh_token_hint") == "not set"
    assert shown_value(html, "refresh_token_hint") == "not set"


def test_detail_shows_the_org_url_read_only(admin_client, slack_app):
    installation = make_org_installation(
        slack_app, enterprise_url="https://grid-org.enterprise.slack.com/"
    )
    response = admin_client.get(change_url(installation))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enterprise URL" in html
    assert "https://grid-org.enterprise.slack.com/" in html
    assert 'name="enterprise_url"' not in html  # shown, not an input
    assert "enterprise_url" in response.context["adminform"].readonly_fields


def test_detail_of_a_revoked_install(admin_client, slack_app):
    installation = make_installation(slack_app, user_token=False)
    Installation.objects.filter(pk=installation.pk).update(
        bot_token=None, bot_refresh_token=None, incoming_webhook_url=None
    )
    html = admin_client.get(change_url(installation)).content.decode()
    assert html.count("not set") >= 3


def test_detail_survives_an_undecryptable_token(admin_client, slack_app):
    installation = make_installation(slack_app)
    Installation.objects.filter(pk=installation.pk).update(bot_token=None)
    # A value encrypted under a key id this site no longer has.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Installation._meta.db_table} SET bot_token = %s WHERE id = %s",
            ["f1:retired:gAAAAABfakefakefakefake", installation.pk],
        )
    response = admin_client.get(change_url(installation))
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()


def test_staff_with_view_permission_sees_the_user_tokens_inline(client, slack_app):
    installation = make_installation(slack_app)
    client.force_login(staff_user("viewer", "view_installation"))
    response = client.get(change_url(installation))
    assert response.status_code == 200
    html = response.content.decode()
    assert "U0001" in html and f"…{slack_payloads.USER_TOKEN[-4:]}" in html
    assert_no_secret(html)


# --- Revoke action ---------------------------------------------------------------------


def revoke(client, *installations: Installation, confirm: bool = True):
    data = {
        "action": "revoke",
        "_selected_action": [str(installation.pk) for installation in installations],
    }
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data, follow=True)


def bearer(request) -> str:
    """The token a call to Slack carried."""
    return request.headers["Authorization"].removeprefix("Bearer ")


def raw_tokens(installation: Installation) -> tuple:
    return (
        Installation.objects.filter(pk=installation.pk)
        .values_list("bot_token", "bot_refresh_token", "incoming_webhook_url", "revoked_at")
        .get()
    )


@pytest.fixture
def revoked_signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    installation_revoked.connect(receiver)
    yield received
    installation_revoked.disconnect(receiver)


def test_revoke_asks_for_confirmation_first(admin_client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    response = revoke(admin_client, installation, confirm=False)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Yes, revoke them" in html and str(installation) in html
    assert_no_secret(html)
    assert raw_tokens(installation)[0] is not None
    assert len(mocked_slack.calls) == 0


def test_revoke_revokes_at_slack_and_wipes_tokens(
    admin_client, slack_app, mocked_slack, revoked_signals
):
    installation = make_installation(slack_app)
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": True, "revoked": True})
    response = revoke(admin_client, installation)
    assert response.status_code == 200
    sent = sorted(bearer(call.request) for call in mocked_slack.calls)
    assert sent == sorted([slack_payloads.BOT_TOKEN, slack_payloads.USER_TOKEN])
    bot, refresh, webhook, revoked_at = raw_tokens(installation)
    assert (bot, refresh, webhook) == (None, None, None)
    assert revoked_at is not None
    user_token = UserToken.objects.values("access_token", "refresh_token", "revoked_at").get()
    assert user_token["access_token"] is None and user_token["refresh_token"] is None
    assert user_token["revoked_at"] is not None
    assert [m.message for m in response.context["messages"]] == ["Revoked 1 installation."]
    assert [(s["installation"].pk, s["reason"]) for s in revoked_signals] == [
        (installation.pk, "admin")
    ]
    assert LogEntry.objects.filter(object_id=str(installation.pk)).exists()
    assert_no_secret(response.content.decode())


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ({"json": {"ok": False, "error": "internal_error"}}, "internal_error"),
        ({"status": 503, "body": "down"}, "http_error"),
        ({"status": 429, "headers": {"Retry-After": "30"}}, "ratelimited"),
    ],
)
def test_a_slack_failure_is_reported_and_tokens_are_kept(
    admin_client, slack_app, mocked_slack, revoked_signals, reply, code
):
    installation = make_installation(slack_app)
    before = raw_tokens(installation)
    mocked_slack.add(responses.POST, REVOKE_URL, **reply)
    response = revoke(admin_client, installation)
    assert response.status_code == 200
    errors = [m.message for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1
    assert "NOT revoked" in errors[0] and code in errors[0]
    assert raw_tokens(installation) == before
    assert UserToken.objects.get().revoked_at is None
    assert revoked_signals == []
    assert_no_secret(response.content.decode())


def test_an_already_dead_token_counts_as_revoked(admin_client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": False, "error": "invalid_auth"})
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": False, "error": "token_revoked"})
    revoke(admin_client, installation)
    assert raw_tokens(installation)[0] is None
    assert raw_tokens(installation)[3] is not None


def test_revoking_many_reports_each(admin_client, slack_app, mocked_slack):
    good = make_installation(slack_app, team_name="Good", user_token=False)
    bad = make_installation(
        slack_app, team_name="Bad", user_token=False, bot_token="xoxb-bad-token-000000000"
    )
    done = make_installation(slack_app, team_name="Done", user_token=False, bot_token=None)
    Installation.objects.filter(pk=done.pk).update(revoked_at=timezone.now())

    def reply(request):
        token = bearer(request)
        ok = token != "xoxb-bad-token-000000000"
        body = {"ok": True} if ok else {"ok": False, "error": "fatal_error"}
        return 200, {}, json.dumps(body)

    mocked_slack.add_callback(responses.POST, REVOKE_URL, callback=reply)
    response = revoke(admin_client, good, bad, done)
    messages = {m.level_tag: m.message for m in response.context["messages"]}
    assert messages["success"] == "Revoked 1 installation."
    assert "Bad was NOT revoked" in messages["error"] and "fatal_error" in messages["error"]
    assert messages["info"] == "Done was already revoked."
    assert raw_tokens(good)[3] is not None
    assert raw_tokens(bad)[3] is None and raw_tokens(bad)[0] is not None


def test_revoke_needs_change_permission(client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    client.force_login(staff_user("viewer", "view_installation"))
    response = revoke(client, installation)
    assert response.status_code == 200
    assert raw_tokens(installation)[0] is not None
    assert len(mocked_slack.calls) == 0


def test_revoked_install_shows_as_revoked(admin_client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": True})
    revoke(admin_client, installation)
    response = admin_client.get(f"{CHANGELIST}?status=revoked")
    assert [i.pk for i in shown(response)] == [installation.pk]
    assert installation.pk not in [
        i.pk for i in shown(admin_client.get(f"{CHANGELIST}?status=active"))
    ]
    assert (timezone.now() - raw_tokens(installation)[3]) < datetime.timedelta(minutes=1)
