"""``InstallationEvent``: the append-only history of installs, re-installs, uninstalls and
revocations, written in the transaction of each change, wherever it happens."""

from __future__ import annotations

import datetime
import json
import time

import pytest
import responses
from django.utils import timezone
from slack_sdk.oauth.installation_store import Installation as SdkInstallation

from slack_installs import events
from slack_installs.compat.token_import import import_legacy_tokens
from slack_installs.contrib.bolt import DjangoInstallationStore
from slack_installs.models import (
    Installation,
    InstallationEvent,
    InstallationEventCount,
    OAuthAttempt,
    UserToken,
    week_of,
)
from slack_installs.revocation import revoke_installation
from tests import slack_payloads
from tests.installs import failing_user_token_save, make_installation, staff_user, start_install
from tests.slack_mocks import answer_install

CALLBACK = "/slack/acme/oauth/callback/"
REVOKE_URL = "https://slack.test/api/auth.revoke"
SIGNING_SECRET = "canary-signing-secret-6666"  # the slack_app fixture's


def history(**filters) -> list[tuple]:
    rows = InstallationEvent.objects.filter(**filters).order_by("at", "pk")
    return list(rows.values_list("installation__team_id", "kind"))


def install(client, mocked_slack, **payload) -> Installation:
    state = start_install(client)
    answer_install(mocked_slack, **payload)
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302, response.content
    return Installation.objects.get(team_id=payload.get("team_id", "T0001"))


def deliver(client, payload) -> None:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    response = client.post(
        "/slack/acme/events/",
        body,
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=events.signature_for(SIGNING_SECRET, timestamp, body),
    )
    assert response.status_code == 200, response.content


def test_an_install_through_the_views_is_installed_at_its_installed_at(
    client, slack_app, mocked_slack
):
    installation = install(client, mocked_slack)
    event = InstallationEvent.objects.get()
    assert (event.app_id, event.installation_id, event.kind) == (
        slack_app.pk,
        installation.pk,
        "installed",
    )
    assert event.at == installation.installed_at


def test_installing_again_is_a_reinstall_and_keeps_the_first_event(client, slack_app, mocked_slack):
    first = install(client, mocked_slack)
    first_at = first.installed_at
    again = install(client, mocked_slack, team_name="Renamed")
    assert again.pk == first.pk and again.installed_at > first_at
    assert history() == [("T0001", "installed"), ("T0001", "reinstalled")]
    assert InstallationEvent.objects.get(kind="installed").at == first_at
    install(client, mocked_slack, team_id="T0002")
    assert history(installation__team_id="T0002") == [("T0002", "installed")]


def test_a_revoked_installation_coming_back_is_a_reinstall(client, slack_app, mocked_slack):
    installation = install(client, mocked_slack)
    revoke_installation(installation, reason="app_uninstalled", call_slack=False)
    back = install(client, mocked_slack)
    assert back.pk == installation.pk and back.revoked_at is None
    assert history() == [("T0001", "installed"), ("T0001", "uninstalled"), ("T0001", "reinstalled")]


def test_app_uninstalled_is_an_uninstall(client, slack_app, mocked_slack):
    installation = install(client, mocked_slack)
    deliver(client, slack_payloads.app_uninstalled(event_time=int(time.time()) + 5))
    installation.refresh_from_db()
    assert installation.revoked_at is not None
    event = InstallationEvent.objects.get(kind="uninstalled")
    assert event.installation_id == installation.pk and event.at == installation.revoked_at
    # Slack's retry of the delivery, or a second uninstall, adds nothing.
    deliver(client, slack_payloads.app_uninstalled(event_id="Ev0002"))
    assert history() == [("T0001", "installed"), ("T0001", "uninstalled")]


def test_a_staff_revoke_is_a_revocation(client, slack_app, mocked_slack):
    installation = make_installation(slack_app, team_id="T0042")
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": True, "revoked": True})
    client.force_login(staff_user("ops", "view_installation", "change_installation"))
    response = client.post(
        "/admin/slack_installs/installation/",
        {"action": "revoke", "_selected_action": [str(installation.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert history() == [("T0042", "revoked")]
    assert InstallationEvent.objects.get().at == Installation.objects.get().revoked_at


def test_a_revoke_that_slack_refuses_writes_no_event(client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    mocked_slack.add(responses.POST, REVOKE_URL, json={"ok": False, "error": "internal_error"})
    result = revoke_installation(installation, reason="admin")
    assert not result.revoked and InstallationEvent.objects.count() == 0


def test_tokens_revoked_for_the_bot_is_a_revocation_once(client, slack_app, mocked_slack):
    install(client, mocked_slack)
    deliver(client, slack_payloads.tokens_revoked(bot=("U0BOT",), event_time=int(time.time()) + 5))
    assert Installation.objects.values_list("bot_token", flat=True).get() is None
    deliver(client, slack_payloads.tokens_revoked(bot=("U0BOT",), event_id="Ev0002"))
    assert history() == [("T0001", "installed"), ("T0001", "revoked")]


def test_tokens_revoked_for_a_user_only_is_no_event(client, slack_app, mocked_slack):
    install(client, mocked_slack, user_token=slack_payloads.USER_TOKEN)
    deliver(client, slack_payloads.tokens_revoked(oauth=("U0001",), event_time=int(time.time())))
    assert UserToken.objects.get().revoked_at is not None
    assert history() == [("T0001", "installed")]


@pytest.mark.django_db(transaction=True)
def test_an_install_rolled_back_writes_no_event(client, slack_app, mocked_slack):
    slack_app.user_scopes = "search:read"
    slack_app.save()
    state = start_install(client)
    answer_install(mocked_slack, user_token=slack_payloads.USER_TOKEN, user_scopes="search:read")

    # The user token is saved after the installation and its event, in one transaction.
    with failing_user_token_save():
        response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert OAuthAttempt.objects.get().status == "failed"
    assert Installation.objects.count() == 0
    assert InstallationEvent.objects.count() == 0


def test_an_event_outlives_its_deleted_installation(slack_app):
    installation = make_installation(slack_app)
    InstallationEvent.record(installation, InstallationEvent.Kind.INSTALLED)
    installation.delete()
    event = InstallationEvent.objects.get()
    assert (event.app_id, event.installation_id, event.kind) == (slack_app.pk, None, "installed")


def bolt_installation(installed_at: float, **overrides) -> SdkInstallation:
    values = {
        "team_id": "T0BOLT",
        "team_name": "Bolted",
        "bot_token": "xoxb-canary-bolt-bot",
        "bot_user_id": "UB111",
        "bot_scopes": ["chat:write"],
        "user_id": "U111",
        "installed_at": installed_at,
    }
    return SdkInstallation(**{**values, **overrides})


def test_the_bolt_store_writes_installs_reinstalls_and_revocations(slack_app):
    store = DjangoInstallationStore(app="acme")
    first = time.time() - 100
    store.save(bolt_installation(first))
    store.save(bolt_installation(first))  # the same install saved again (a token rotation)
    assert history() == [("T0BOLT", "installed")]
    assert InstallationEvent.objects.get().at.timestamp() == pytest.approx(first)
    store.save(bolt_installation(first + 50))
    assert history() == [("T0BOLT", "installed"), ("T0BOLT", "reinstalled")]
    store.delete_bot(enterprise_id=None, team_id="T0BOLT")
    store.delete_bot(enterprise_id=None, team_id="T0BOLT")  # nothing left to lose
    assert [kind for _, kind in history()] == ["installed", "reinstalled", "revoked"]
    store.delete_all(enterprise_id=None, team_id="T0BOLT")
    assert [kind for _, kind in history()] == ["installed", "reinstalled", "revoked", "uninstalled"]


@pytest.fixture
def legacy_table(transactional_db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE slack_user (slacker_id integer PRIMARY KEY,"
            " access_token varchar(128) NULL, extras text NULL)"
        )
    yield connection
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE slack_user")


def test_an_imported_installation_is_installed_at_its_installed_at(legacy_table, slack_app):
    extras = json.dumps({"team_id": "T0OLD", "user_id": "U0OLD", "team_name": "Old Team"})
    with legacy_table.cursor() as cursor:
        cursor.execute(
            "INSERT INTO slack_user (slacker_id, access_token, extras) VALUES (%s, %s, %s)",
            [1, "xoxp-canary-legacy-7171", extras],
        )
    existing = make_installation(slack_app, team_id="T0NEW")
    report = import_legacy_tokens(slack_app)
    assert report.installations_created == 1
    imported = Installation.objects.get(team_id="T0OLD")
    event = InstallationEvent.objects.get()
    assert (event.installation_id, event.kind, event.at) == (
        imported.pk,
        "installed",
        imported.installed_at,
    )
    assert not InstallationEvent.objects.filter(installation=existing).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_installations_their_history():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("slack_installs", "0010_manifests")]
    after = [("slack_installs", "0011_installationevent")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        app = old.get_model("slack_installs", "SlackApp").objects.create(
            name="Old", slug="old", client_id="1.1", client_secret="s"
        )
        installed = timezone.now() - datetime.timedelta(days=40)
        revoked = installed + datetime.timedelta(days=3)
        rows = old.get_model("slack_installs", "Installation").objects
        active = rows.create(app_id=app.pk, team_id="T1", installed_at=installed)
        gone = rows.create(app_id=app.pk, team_id="T2", installed_at=installed, revoked_at=revoked)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        events_so_far = new.get_model("slack_installs", "InstallationEvent").objects.order_by(
            "installation_id", "at"
        )
        assert list(events_so_far.values_list("installation_id", "kind", "at")) == [
            (active.pk, "installed", installed),
            (gone.pk, "installed", installed),
            (gone.pk, "revoked", revoked),
        ]

        # 0013 counts them per app, week (its Monday, in TIME_ZONE) and kind.
        counted = [("slack_installs", "0013_overview_at_scale")]
        executor = MigrationExecutor(connection)
        executor.migrate(counted)
        newer = executor.loader.project_state(counted).apps
        counts = newer.get_model("slack_installs", "InstallationEventCount").objects
        assert sorted(counts.values_list("app_id", "week", "kind", "count")) == sorted(
            [(app.pk, week_of(installed), "installed", 2), (app.pk, week_of(revoked), "revoked", 1)]
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("slack_installs"))


def test_a_weeks_first_event_that_loses_the_race_to_insert_counts_on_the_winners_row(
    slack_app, monkeypatch
):
    """Two first events of a week at once: both find no row to update, one inserts, the
    other hits the unique constraint and adds itself to the winner's row."""
    installation = make_installation(slack_app)
    at = timezone.now()
    InstallationEventCount.objects.create(
        app=slack_app, week=week_of(at), kind="installed", count=1
    )  # the winner's row, committed after this caller looked
    queryset = type(InstallationEventCount.objects.all())
    real_update = queryset.update
    looked = []

    def update(self, **changes):
        if not looked:  # the first UPDATE ran before the winner's insert: it found nothing
            looked.append(True)
            return 0
        return real_update(self, **changes)

    monkeypatch.setattr(queryset, "update", update)
    InstallationEvent.record(installation, "installed", at=at)
    monkeypatch.undo()
    assert InstallationEventCount.objects.get().count == 2
    assert InstallationEvent.objects.count() == 1
