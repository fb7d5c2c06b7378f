"""Org coverage: team_access_granted / team_access_revoked keep WorkspaceAccess rows, and
lookups by workspace id alone find the org-wide install that reaches the workspace."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from slack_installs import events
from slack_installs.exceptions import InstallationNotFound, InstallationRevoked
from slack_installs.models import HandledEvent, Installation, WorkspaceAccess
from slack_installs.signals import slack_event_received
from slack_installs.tokens import get_bot_token, get_user_token, installations_serving
from tests import slack_payloads
from tests.installs import staff_user
from tests.test_events import deliver, recording

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000  # an event_time


@pytest.fixture
def org(slack_app) -> Installation:
    return Installation.objects.create(
        app=slack_app,
        enterprise_id="E0GRID",
        enterprise_name="Grid Inc",
        team_id="",
        is_enterprise_install=True,
        bot_user_id="W0BOT",
        bot_token="xoxb-org-wide",
        installer_user_id="W0001",
    )


@pytest.fixture
def received():
    yield from recording(slack_event_received)


def team_access(
    team_ids, *, granted=True, event_time=T0, event_id="Ev0ACCESS1", **envelope
) -> dict:
    """Slack's delivery to an org-wide app: its authorization names the org."""
    kind = "team_access_granted" if granted else "team_access_revoked"
    values = {"team_id": "E0GRID", "enterprise_id": "E0GRID", "org_wide": True, **envelope}
    return slack_payloads.event_callback(
        {"type": kind, "team_ids": list(team_ids)},
        event_id=event_id,
        event_time=event_time,
        **values,
    )


def access() -> dict[str, tuple]:
    """Every WorkspaceAccess row: team id -> (installation id, granted_at, revoked_at)."""
    return {
        row.team_id: (row.installation_id, row.granted_at, row.revoked_at)
        for row in WorkspaceAccess.objects.all()
    }


def at(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


# --- The events ------------------------------------------------------------------------


def test_granted_then_revoked_keeps_one_row_per_workspace(client, org, received):
    response = deliver(client, team_access(["T0AAA", "T0BBB", "T0AAA"]))
    assert response.status_code == 200
    assert access() == {"T0AAA": (org.pk, at(T0), None), "T0BBB": (org.pk, at(T0), None)}
    assert received[0]["installation"] == org  # the org-wide install the event is about

    response = deliver(
        client, team_access(["T0BBB"], granted=False, event_time=T0 + 60, event_id="Ev0ACCESS2")
    )
    assert response.status_code == 200
    assert access() == {"T0AAA": (org.pk, at(T0), None), "T0BBB": (org.pk, at(T0), at(T0 + 60))}

    # Granted again later: access again, the revocation forgotten.
    deliver(client, team_access(["T0BBB"], event_time=T0 + 120, event_id="Ev0ACCESS3"))
    assert access()["T0BBB"] == (org.pk, at(T0 + 120), None)


def test_a_retried_delivery_is_handled_once(client, org, received):
    payload = team_access(["T0AAA"])
    assert deliver(client, payload).status_code == 200
    retry = deliver(
        client, payload, HTTP_X_SLACK_RETRY_NUM="1", HTTP_X_SLACK_RETRY_REASON="http_timeout"
    )
    assert retry.status_code == 200
    assert access() == {"T0AAA": (org.pk, at(T0), None)}
    assert len(received) == 1
    assert HandledEvent.objects.filter(event_id="Ev0ACCESS1").count() == 1


def test_a_retry_after_the_dedup_window_still_undoes_nothing(client, org):
    deliver(client, team_access(["T0AAA"], event_id="Ev0GRANT01"))
    deliver(
        client, team_access(["T0AAA"], granted=False, event_time=T0 + 10, event_id="Ev0REVOKE1")
    )
    # Slack's last retry of the grant, after its HandledEvent row has gone stale.
    HandledEvent.objects.update(handled_at=timezone.now() - datetime.timedelta(hours=2))
    assert deliver(client, team_access(["T0AAA"], event_id="Ev0GRANT01")).status_code == 200
    assert access() == {"T0AAA": (org.pk, at(T0), at(T0 + 10))}
    with pytest.raises(InstallationNotFound):
        get_bot_token("acme", team_id="T0AAA")


@pytest.mark.parametrize("revoke_first", [True, False])
def test_a_late_event_never_undoes_a_newer_one(client, org, revoke_first):
    grant = team_access(["T0AAA"], event_time=T0, event_id="Ev0GRANT01")
    revoke = team_access(["T0AAA"], granted=False, event_time=T0 + 5, event_id="Ev0REVOKE1")
    for payload in (revoke, grant) if revoke_first else (grant, revoke):
        assert deliver(client, payload).status_code == 200
    granted_at, revoked_at = access()["T0AAA"][1:]
    assert revoked_at == at(T0 + 5)
    assert granted_at == (None if revoke_first else at(T0))
    with pytest.raises(InstallationNotFound):
        get_bot_token("acme", team_id="T0AAA")

    # And the other way round: a newer grant beats a late revocation.
    regrant = team_access(["T0BBB"], event_time=T0 + 9, event_id="Ev0GRANT02")
    old_revoke = team_access(["T0BBB"], granted=False, event_time=T0 + 1, event_id="Ev0REVOKE2")
    for payload in (old_revoke, regrant) if revoke_first else (regrant, old_revoke):
        deliver(client, payload)
    assert access()["T0BBB"][1:] == (at(T0 + 9), None)
    assert get_bot_token("acme", team_id="T0BBB") == "xoxb-org-wide"


@pytest.mark.parametrize("revoke_first", [True, False])
def test_within_one_second_the_revocation_wins_whatever_the_order(client, org, revoke_first):
    grant = team_access(["T0AAA"], event_id="Ev0GRANT01")
    revoke = team_access(["T0AAA"], granted=False, event_id="Ev0REVOKE1")  # the same second
    for payload in (revoke, grant) if revoke_first else (grant, revoke):
        deliver(client, payload)
    assert access()["T0AAA"][2] == at(T0)
    with pytest.raises(InstallationNotFound):
        get_bot_token("acme", team_id="T0AAA")


def test_events_name_the_org_wherever_slack_puts_it(client, org):
    # Slack's documented example: the authorization names a workspace, not org-wide
    # (bolt-js#1778), and the org's id sits in the event.
    payload = team_access(["T0AAA"], team_id="T0SEEN", enterprise_id=None, org_wide=False)
    payload["event"]["enterprise_id"] = "E0GRID"
    assert deliver(client, payload).status_code == 200
    assert set(access()) == {"T0AAA"}


def test_events_for_no_org_wide_install_or_with_junk_change_nothing(client, slack_app, org):
    Installation.objects.create(app=slack_app, team_id="T0SOLO", bot_token="xoxb-solo")
    no_org = team_access(["T0AAA"], team_id="E0OTHER", enterprise_id="E0OTHER")
    assert deliver(client, no_org).status_code == 200
    junk = team_access([], event_id="Ev0JUNK001")
    junk["event"]["team_ids"] = ["T0GOOD", 7, None, "lower", "T0" + "X" * 40, {"id": "T1"}]
    assert deliver(client, junk).status_code == 200
    not_a_list = team_access([], event_id="Ev0JUNK002")
    not_a_list["event"]["team_ids"] = "T0AAA"
    assert deliver(client, not_a_list).status_code == 200
    assert set(access()) == {"T0GOOD"}


def test_a_concurrent_delivery_that_created_the_row_first_is_applied_over(org, monkeypatch):
    from django.db.models.query import QuerySet

    real_exists = QuerySet.exists

    def racing_exists(self):
        # Between our UPDATE (no row yet) and our INSERT, another worker's grant lands.
        if self.model is WorkspaceAccess and not real_exists(self):
            WorkspaceAccess.objects.create(installation=org, team_id="T0AAA", granted_at=at(T0))
            return False
        return real_exists(self)

    monkeypatch.setattr(QuerySet, "exists", racing_exists)
    changed = events.record_team_access(org, ["T0AAA"], granted=False, at=at(T0 + 1))
    assert changed == ["T0AAA"]
    assert access() == {"T0AAA": (org.pk, at(T0), at(T0 + 1))}


# --- Lookups by workspace id -----------------------------------------------------------


def test_get_bot_token_by_workspace_finds_the_org_wide_install_that_reaches_it(
    client, slack_app, org
):
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T0AAA")  # not granted yet
    deliver(client, team_access(["T0AAA"]))
    assert get_bot_token(slack_app, team_id="T0AAA") == "xoxb-org-wide"
    assert get_bot_token("acme", team_id="T0AAA") == "xoxb-org-wide"
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T0BBB")

    deliver(client, team_access(["T0AAA"], granted=False, event_time=T0 + 1, event_id="Ev0ACCESS2"))
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T0AAA")


def test_a_workspace_install_still_wins_and_outlives_the_revocation(client, slack_app, org):
    Installation.objects.create(
        app=slack_app, enterprise_id="E0GRID", team_id="T0AAA", bot_token="xoxb-own"
    )
    deliver(client, team_access(["T0AAA"]))
    assert get_bot_token(slack_app, team_id="T0AAA") == "xoxb-own"
    deliver(client, team_access(["T0AAA"], granted=False, event_time=T0 + 1, event_id="Ev0ACCESS2"))
    assert get_bot_token(slack_app, team_id="T0AAA") == "xoxb-own"


def test_an_active_install_wins_over_a_revoked_own_one(client, slack_app, org):
    Installation.objects.create(
        app=slack_app, team_id="T0AAA", bot_token="xoxb-own", revoked_at=timezone.now()
    )
    with pytest.raises(InstallationRevoked):
        get_bot_token(slack_app, team_id="T0AAA")  # its own, revoked, and nothing else
    deliver(client, team_access(["T0AAA"]))
    assert get_bot_token(slack_app, team_id="T0AAA") == "xoxb-org-wide"
    assert get_bot_token(slack_app, team_id="T0AAA", enterprise_id="E0GRID") == "xoxb-org-wide"


def test_a_revoked_org_wide_install_says_revoked(client, slack_app, org):
    deliver(client, team_access(["T0AAA"]))
    Installation.objects.filter(pk=org.pk).update(revoked_at=timezone.now(), bot_token=None)
    with pytest.raises(InstallationRevoked):
        get_bot_token(slack_app, team_id="T0AAA")


def test_access_of_another_apps_org_install_is_not_seen(client, slack_app, org):
    other = type(slack_app).objects.create(
        name="Other", slug="other", client_id="9.9", client_secret="s"
    )
    other_org = Installation.objects.create(
        app=other, enterprise_id="E0GRID", team_id="", bot_token="xoxb-other"
    )
    WorkspaceAccess.objects.create(installation=other_org, team_id="T0AAA", granted_at=at(T0))
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T0AAA")
    assert get_bot_token("other", team_id="T0AAA") == "xoxb-other"


def test_the_orm_lookup_picks_the_row_get_bot_token_picks(slack_app, org):
    rows = {
        "own_revoked": Installation.objects.create(
            app=slack_app, team_id="T0AAA", bot_token="xoxb-1", revoked_at=timezone.now()
        ),
        "moved_into_grid": Installation.objects.create(
            app=slack_app, enterprise_id="E0GRID", team_id="T0BBB", bot_token="xoxb-2"
        ),
    }
    WorkspaceAccess.objects.create(installation=org, team_id="T0AAA", granted_at=at(T0))
    WorkspaceAccess.objects.create(installation=org, team_id="T0BBB", granted_at=at(T0))
    for team_id, enterprise_id in [
        ("T0AAA", None),
        ("T0BBB", None),
        ("T0BBB", "E0GRID"),
        ("T0CCC", "E0GRID"),
        (None, "E0GRID"),
    ]:
        first = installations_serving(slack_app, team_id=team_id, enterprise_id=enterprise_id)[0]
        assert first.bot_token == get_bot_token(
            slack_app, team_id=team_id, enterprise_id=enterprise_id
        )
    assert rows["own_revoked"].pk not in {
        row.pk for row in installations_serving(slack_app, team_id="T0AAA")[:1]
    }


def test_get_user_token_by_workspace_follows_the_same_rule(client, slack_app, org):
    org.user_tokens.create(slack_user_id="W0001", access_token="xoxp-org-user")
    with pytest.raises(InstallationNotFound):
        get_user_token(slack_app, "W0001", team_id="T0AAA")
    deliver(client, team_access(["T0AAA"]))
    assert get_user_token(slack_app, "W0001", team_id="T0AAA") == "xoxp-org-user"


# --- The admin -------------------------------------------------------------------------


def test_the_org_wide_installs_page_lists_the_workspaces_it_reaches(
    admin_client, client, slack_app, org
):
    WorkspaceAccess.objects.create(installation=org, team_id="T0AAA", granted_at=at(T0))
    WorkspaceAccess.objects.create(
        installation=org, team_id="T0BBB", granted_at=at(T0), revoked_at=at(T0 + 1)
    )
    page = admin_client.get(f"/admin/slack_installs/installation/{org.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Workspaces it reaches" in html
    assert "T0AAA" in html and "T0BBB" in html
    formset = next(
        inline
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is WorkspaceAccess
    )
    assert [form.instance.team_id for form in formset.formset.forms] == ["T0AAA", "T0BBB"]
    assert 'name="workspace_access-0-team_id"' not in html  # read-only

    # Staff who may only view installations see the list too.
    client.force_login(staff_user("viewer", "view_installation"))
    html = client.get(f"/admin/slack_installs/installation/{org.pk}/change/").content.decode()
    assert "Workspaces it reaches" in html and "T0BBB" in html

    workspace = Installation.objects.create(app=slack_app, team_id="T0SOLO")
    html = admin_client.get(f"/admin/slack_installs/installation/{workspace.pk}/change/")
    assert "Workspaces it reaches" not in html.content.decode()


# --- The fake Slack delivers them ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_fake_slack_delivers_team_access_events_that_we_apply(
    live_server, fake_slack, slack_app
):
    app = slack_app
    fake_slack.register_slack_app(app)
    answer = fake_slack.install(app.client_id, "E0GLOBEX01")
    org = Installation.objects.create(
        app=app,
        enterprise_id="E0GLOBEX01",
        team_id="",
        is_enterprise_install=True,
        bot_token=answer["access_token"],
    )
    url = f"{live_server.url}/slack/acme/events/"
    granted = fake_slack.team_access_event(app.client_id, "E0GLOBEX01", ["T0GLOBEX01"])
    assert granted["authorizations"][0]["is_enterprise_install"] is True
    assert fake_slack.send_event(url, granted, client_id=app.client_id).status == 200
    assert get_bot_token("acme", team_id="T0GLOBEX01") == answer["access_token"]

    revoked = fake_slack.team_access_event(
        app.client_id,
        "E0GLOBEX01",
        ["T0GLOBEX01"],
        granted=False,
        event_time=granted["event_time"] + 1,
    )
    assert fake_slack.send_event(url, revoked, client_id=app.client_id).status == 200
    assert WorkspaceAccess.objects.get(installation=org).revoked_at is not None
    with pytest.raises(InstallationNotFound):
        get_bot_token("acme", team_id="T0GLOBEX01")
