"""Scope drift: what an install lacks of the app's scopes today, the flag kept for filtering,
its recomputation (installs, the app's scopes changing, the migration), and the admin."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from slack_installs.models import Installation, SlackApp, UserToken
from tests import slack_payloads
from tests.installs import make_installation, make_org_installation, start_install
from tests.slack_mocks import answer_install

CHANGELIST = "/admin/slack_installs/installation/"

pytestmark = pytest.mark.django_db


def flags() -> dict[str, bool]:
    """The raw ``scopes_missing`` column by team (or enterprise) id."""
    return {
        team or enterprise: missing
        for team, enterprise, missing in Installation.objects.values_list(
            "team_id", "enterprise_id", "scopes_missing"
        )
    }


def install(client, mocked_slack, **answer) -> Installation:
    """One install through our callback, Slack answering ``answer``."""
    answer_install(mocked_slack, **answer)
    state = start_install(client)
    response = client.get("/slack/acme/oauth/callback/", {"code": "c0de", "state": state})
    assert response.status_code == 302, response.content
    return Installation.objects.get(team_id=answer.get("team_id", "T0001"))


# --- What is missing -------------------------------------------------------------------


def test_missing_bot_scopes_are_the_apps_minus_the_granted_sorted(slack_app):
    slack_app.bot_scopes = "commands,chat:write,users:read,channels:history"
    slack_app.save()
    installation = make_installation(slack_app, bot_scopes="chat:write.public,commands,files:read")
    # chat:write.public is not chat:write; a scope granted beyond the app's asks changes nothing.
    assert installation.missing_bot_scopes == ["channels:history", "chat:write", "users:read"]


def test_missing_user_scopes_are_against_the_installers_token(slack_app):
    slack_app.user_scopes = "search:read,users:read"
    slack_app.save()
    installation = make_installation(slack_app, installer_user_id="U0001")  # search:read
    UserToken.objects.create(
        installation=installation, slack_user_id="U0OTHER", scopes="search:read,users:read"
    )
    assert installation.missing_user_scopes == ["users:read"]  # another user's token is not his

    no_token = make_installation(slack_app, user_token=False)
    assert no_token.missing_user_scopes == ["search:read", "users:read"]


def test_an_app_without_user_scopes_asks_nothing_and_queries_nothing(slack_app):
    installation = Installation.objects.select_related("app").get(
        pk=make_installation(slack_app).pk
    )
    with CaptureQueriesContext(connection) as queries:
        assert installation.missing_user_scopes == []
        assert installation.missing_bot_scopes == []
    assert len(queries) == 0


# --- The flag: installs ----------------------------------------------------------------


def test_an_install_granted_fewer_scopes_is_flagged_and_a_full_reinstall_clears_it(
    client, slack_app, mocked_slack
):
    slack_app.bot_scopes = "chat:write,commands,users:read"
    slack_app.save()
    installation = install(client, mocked_slack, bot_scopes="chat:write,commands")
    assert flags() == {"T0001": True}
    assert installation.missing_bot_scopes == ["users:read"]

    mocked_slack.reset()
    install(client, mocked_slack, bot_scopes="chat:write,commands,users:read")
    assert flags() == {"T0001": False}


def test_an_install_without_the_user_scopes_asked_is_flagged(client, slack_app, mocked_slack):
    slack_app.user_scopes = "search:read,users:read"
    slack_app.save()
    install(
        client,
        mocked_slack,
        user_token=slack_payloads.USER_TOKEN,
        user_scopes="search:read",
    )
    assert flags() == {"T0001": True}
    mocked_slack.reset()
    install(
        client,
        mocked_slack,
        user_token=slack_payloads.USER_TOKEN,
        user_scopes="search:read,users:read",
    )
    assert flags() == {"T0001": False}


# --- The flag: the app's scopes change -------------------------------------------------


def test_changing_the_apps_scopes_recomputes_every_install_in_the_database(slack_app):
    for number in range(5):
        make_installation(slack_app, team_id=f"T{number}", bot_scopes="chat:write,commands")
    make_installation(slack_app, team_id="TFULL", bot_scopes="chat:write,commands,users:read")
    other = SlackApp.objects.create(
        name="Other", slug="other", client_id="9.9", client_secret="s", bot_scopes="chat:write"
    )
    make_installation(other, team_id="TOTHER", bot_scopes="chat:write")
    assert not any(flags().values())

    slack_app.bot_scopes = "chat:write,commands,users:read"
    with CaptureQueriesContext(connection) as queries:
        slack_app.save()
    expected = {f"T{n}": True for n in range(5)} | {"TFULL": False, "TOTHER": False}
    assert flags() == expected
    # No installation was read into Python: no query selected its columns.
    table = Installation._meta.db_table
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.startswith("SELECT") and table in sql.split(" FROM ")[1].split()[0]:
            assert "bot_token" not in sql.split(" FROM ")[0], sql

    slack_app.bot_scopes = "chat:write"
    slack_app.save()
    assert not any(flags().values())


def test_recomputing_in_small_batches_changes_each_row_once(slack_app):
    for number in range(7):
        make_installation(slack_app, team_id=f"T{number}", bot_scopes="chat:write")
    SlackApp.objects.filter(pk=slack_app.pk).update(bot_scopes="chat:write,commands")
    rows = Installation.objects.filter(app=slack_app)
    assert rows.update_scopes_missing(batch_size=2) == 7
    assert all(flags().values())
    assert rows.update_scopes_missing(batch_size=2) == 0  # nothing changed: nothing written


def test_a_queryset_update_of_the_scopes_needs_the_explicit_call(slack_app):
    make_installation(slack_app, bot_scopes="chat:write")
    SlackApp.objects.filter(pk=slack_app.pk).update(bot_scopes="chat:write,users:read")
    assert not any(flags().values())  # update() sends no save(): nothing recomputed yet
    slack_app.refresh_from_db()
    assert slack_app.update_scopes_missing() == 1
    assert all(flags().values())


def test_a_save_that_leaves_the_scopes_alone_recomputes_nothing(slack_app):
    make_installation(slack_app, bot_scopes="chat:write")
    Installation.objects.update(scopes_missing=True)  # a wrong flag stays wrong...
    slack_app.name = "Renamed"
    slack_app.save()
    slack_app.save(update_fields=["name"])
    assert all(flags().values())  # ...as no scope changed


@pytest.mark.parametrize(
    ("app_bot", "app_user", "granted_bot", "installer_scopes"),
    [
        ("", "", "", None),
        ("chat:write", "", "chat:write", None),
        ("chat:write", "", "chat:write.public", None),
        ("chat:write", "", "", None),
        ("chat:write,commands", "", "commands,chat:write,files:read", None),
        ("", "search:read", "", None),
        ("", "search:read", "", "search:read"),
        ("", "search:read,users:read", "", "users:read"),
        ("chat:write", "users:read", "chat:write", "users:read.email"),
        ("a_b", "", "axb", None),  # LIKE's wildcards are plain characters here
        ("files:read", "", "x,files:read%", None),
    ],
)
def test_the_database_and_the_properties_agree(
    slack_app, app_bot, app_user, granted_bot, installer_scopes
):
    installation = make_installation(
        slack_app, bot_scopes=granted_bot, user_token=installer_scopes is not None
    )
    if installer_scopes is not None:
        UserToken.objects.filter(installation=installation).update(scopes=installer_scopes)
    slack_app.bot_scopes, slack_app.user_scopes = app_bot, app_user
    SlackApp.objects.filter(pk=slack_app.pk).update(bot_scopes=app_bot, user_scopes=app_user)
    Installation.objects.update(scopes_missing=not (app_bot or app_user))  # start wrong
    slack_app.update_scopes_missing()

    installation = Installation.objects.select_related("app").get(pk=installation.pk)
    expected = bool(installation.missing_bot_scopes or installation.missing_user_scopes)
    assert installation.scopes_missing is expected
    assert installation.update_scopes_missing() is expected  # the one-row path agrees


# --- The admin -------------------------------------------------------------------------


def test_the_filter_the_column_and_the_reinstall_links(admin_client, slack_app):
    slack_app.bot_scopes = "chat:write,commands,users:read"
    slack_app.save()
    lacking = make_installation(slack_app, team_id="T0LACK", bot_scopes="chat:write")
    full = make_installation(slack_app, team_id="T0FULL", bot_scopes=slack_app.bot_scopes)
    org = make_org_installation(slack_app, enterprise_id="E0GRID", bot_scopes="chat:write")
    slack_app.update_scopes_missing()

    missing = admin_client.get(CHANGELIST, {"scopes": "missing"})
    assert {row.pk for row in missing.context["cl"].result_list} == {lacking.pk, org.pk}
    up_to_date = admin_client.get(CHANGELIST, {"scopes": "up_to_date"})
    assert [row.pk for row in up_to_date.context["cl"].result_list] == [full.pk]

    html = missing.content.decode()
    links = re.findall(r'href="(/slack/acme/install/\?[^"]*)"', html)
    assert sorted(parse_qs(urlsplit(link).query)["team"][0] for link in links) == [
        "E0GRID",  # an org-wide install: its org
        "T0LACK",
    ]
    assert "Scopes" in html and "up to date" in html  # the filter's choices

    page = admin_client.get(f"{CHANGELIST}{lacking.pk}/change/").content.decode()
    assert "commands, users:read" in page  # the bot scopes it lacks
    assert 'href="/slack/acme/install/?team=T0LACK"' in page


def test_an_inactive_app_gets_no_reinstall_link(admin_client, slack_app):
    make_installation(slack_app, bot_scopes="")
    slack_app.is_active = False
    slack_app.save()
    Installation.objects.update(scopes_missing=True)
    html = admin_client.get(CHANGELIST, {"scopes": "missing"}).content.decode()
    assert "/slack/acme/install/" not in html


def test_the_apps_page_counts_active_installs_missing_scopes_and_links_to_them(
    admin_client, slack_app
):
    for number in range(3):
        make_installation(slack_app, team_id=f"T{number}", bot_scopes="chat:write")
    revoked = make_installation(slack_app, team_id="TREV", bot_scopes="chat:write")
    Installation.objects.filter(pk=revoked.pk).update(revoked_at="2026-01-01T00:00:00Z")
    page = admin_client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")
    assert "none: every active install has the scopes above" in page.content.decode()

    slack_app.bot_scopes = "chat:write,users:read"
    slack_app.save()
    html = admin_client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")
    html = html.content.decode()
    assert "3 active installs lack scopes asked for above" in html
    link = re.search(r'href="([^"]*)" id="slack-missing-scopes-link"', html).group(1)
    listed = admin_client.get(link.replace("&amp;", "&"))
    assert listed.context["cl"].result_count == 3


def test_saving_the_apps_scopes_in_the_admin_recomputes_the_flags(admin_client, slack_app):
    make_installation(slack_app, bot_scopes="chat:write,commands")
    page = admin_client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("client_secret", "signing_secret", "pipelines")
    }
    data.update(bot_scopes="chat:write,commands,users:read", user_scopes="", pipelines=[])
    response = admin_client.post(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert all(flags().values())


# --- The migration ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_flags_existing_installs_missing_scopes():
    before = [("slack_installs", "0007_pkce")]
    after = [("slack_installs", "0008_installations_stay_true")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        app = old.get_model("slack_installs", "SlackApp").objects.create(
            name="Old",
            slug="old",
            client_id="1.1",
            client_secret="s",
            bot_scopes="chat:write,commands",
            user_scopes="search:read",
        )
        rows = old.get_model("slack_installs", "Installation").objects
        full = rows.create(
            app_id=app.pk, team_id="T1", bot_scopes="commands,chat:write", installer_user_id="U1"
        )
        old.get_model("slack_installs", "UserToken").objects.create(
            installation_id=full.pk, slack_user_id="U1", scopes="search:read"
        )
        rows.create(app_id=app.pk, team_id="T2", bot_scopes="chat:write,commands")  # no token
        rows.create(app_id=app.pk, team_id="T3", bot_scopes="chat:write", installer_user_id="U1")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        migrated = new.get_model("slack_installs", "Installation").objects
        assert dict(migrated.values_list("team_id", "scopes_missing")) == {
            "T1": False,
            "T2": True,
            "T3": True,
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("slack_installs"))
