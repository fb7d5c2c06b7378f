"""The app's models routed to a second database: every path reads and writes there.

``tests.routers.SlackInstallsRouter`` sends the ``slack_installs`` models to the alias
``settings.ROUTED_DATABASE``; auth and sessions stay on ``default``. Every app is migrated
on both databases, so a row written to the wrong one lands in a real table and the test
sees it there. The tests commit (``transaction=True``): a transaction opened on the wrong
database then shows, as it would in production, instead of hiding inside the test's own.
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.utils import timezone

from slack_installs import keyrotation
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from slack_installs.tokens import get_bot_token, get_user_token
from tests import slack_payloads
from tests.installs import install_through_fake
from tests.test_compat import v1_answer
from tests.test_keyrotation import K1, K2, key_ids, raw, use_keys

ROUTED = django_settings.ROUTED_DATABASE
BOTH = [DEFAULT_DB_ALIAS, ROUTED]
APP_MODELS = (SlackApp, Installation, UserToken, OAuthAttempt)

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH)

DECOY_TOKEN = "xoxb-canary-default-database-0000"


@pytest.fixture
def routed(settings):
    """The router on; ``settings`` resets the cached routers of ``django.db.router``."""
    settings.DATABASE_ROUTERS = ["tests.routers.SlackInstallsRouter"]
    assert {router.db_for_write(model) for model in APP_MODELS} == {ROUTED}
    assert router.db_for_write(User) == DEFAULT_DB_ALIAS


def counts(alias: str) -> dict[str, int]:
    return {model.__name__: model.objects.using(alias).count() for model in APP_MODELS}


def make_app(alias: str | None = None, **fields) -> SlackApp:
    values = {
        "name": "Acme Bot",
        "slug": "acme",
        "client_id": "111.222",
        "client_secret": slack_payloads.CLIENT_SECRET,
        "signing_secret": slack_payloads.SIGNING_SECRET,
        "bot_scopes": "chat:write,commands",
        "user_scopes": "users:read",
        **fields,
    }
    return SlackApp.objects.db_manager(alias).create(**values)


@pytest.fixture
def decoy():
    """What the default database may still hold from before the routers: the same app and
    workspace with another token. A path reading ``default`` answers with it."""
    app = make_app(DEFAULT_DB_ALIAS)
    return Installation.objects.using(DEFAULT_DB_ALIAS).create(
        app=app, team_id="T0GLOBEX01", bot_token=DECOY_TOKEN
    )


@pytest.fixture
def installed(routed, client, fake_slack):
    """An install through our views and the fake Slack, with token rotation on."""
    app = make_app()
    fake_slack.register_slack_app(app, token_rotation=True)
    response = install_through_fake(client, fake_slack, app, workspace="T0GLOBEX01")
    assert response.status_code == 302, response.content
    assert response["Location"] == "/slack/success/?app=acme"
    return Installation.objects.get()


def test_an_install_is_saved_on_the_routed_database(installed, fake_slack):
    assert counts(ROUTED) == {"SlackApp": 1, "Installation": 1, "UserToken": 1, "OAuthAttempt": 1}
    assert counts(DEFAULT_DB_ALIAS) == dict.fromkeys(counts(ROUTED), 0)
    [bot] = fake_slack.tokens(kind="bot")
    assert installed.bot_token == bot.value
    assert OAuthAttempt.objects.get().status == "succeeded"
    assert all(value.startswith("f1:k1:") for value in raw(Installation, "bot_token", ROUTED))


def test_the_bot_token_lookup_reads_the_routed_database(installed, decoy, fake_slack):
    [bot] = fake_slack.tokens(kind="bot")
    assert get_bot_token("acme", team_id="T0GLOBEX01") == bot.value  # by slug
    assert get_bot_token(installed.app, team_id="T0GLOBEX01") == bot.value  # by app
    assert get_bot_token("acme", team_id="T0GLOBEX01", enterprise_id="E0GLOBEX01") == bot.value


def test_a_due_bot_token_is_refreshed_on_the_routed_database(installed, decoy, fake_slack):
    [old] = fake_slack.tokens(kind="bot")
    soon = timezone.now() + datetime.timedelta(minutes=5)  # within TOKEN_REFRESH_MARGIN
    Installation.objects.filter(pk=installed.pk).update(bot_token_expires_at=soon)

    new = get_bot_token("acme", team_id="T0GLOBEX01")

    assert new != old.value and fake_slack.is_active(new)
    installed.refresh_from_db()
    assert installed.bot_token == new and installed.bot_token_expires_at > soon
    [exchange] = [
        c for c in fake_slack.calls_to("oauth.v2.access") if c.params.get("refresh_token")
    ]
    assert exchange.params["grant_type"] == "refresh_token"
    assert Installation.objects.using(DEFAULT_DB_ALIAS).get().bot_token == DECOY_TOKEN


def test_a_due_user_token_is_refreshed_on_the_routed_database(installed, fake_slack):
    [old] = fake_slack.tokens(kind="user")
    soon = timezone.now() + datetime.timedelta(minutes=5)
    UserToken.objects.filter(installation=installed).update(expires_at=soon)

    new = get_user_token("acme", old.user_id, team_id="T0GLOBEX01")

    assert new != old.value and fake_slack.is_active(new)
    assert UserToken.objects.get().access_token == new
    assert counts(DEFAULT_DB_ALIAS)["UserToken"] == 0


def test_key_rotation_runs_on_the_routed_database(installed, decoy, settings):
    use_keys(settings, "k2", k1=K1, k2=K2)

    done = {report.label: report.done for report in keyrotation.rotate_keys()}

    assert done["slack_installs.SlackApp"] == 1
    assert done["slack_installs.Installation"] == done["slack_installs.UserToken"] == 1
    assert key_ids(Installation, "bot_token", ROUTED) == ["k2"]
    assert key_ids(Installation, "bot_refresh_token", ROUTED) == ["k2"]
    assert key_ids(UserToken, "access_token", ROUTED) == ["k2"]
    assert key_ids(SlackApp, "client_secret", ROUTED) == ["k2"]
    assert keyrotation.key_usage()["slack_installs.Installation"]["bot_token"] == {"k2": 1}
    # default is not where the routers send the app: rotation leaves it alone.
    assert key_ids(Installation, "bot_token", DEFAULT_DB_ALIAS) == ["k1"]
    assert Installation.objects.get().bot_token == installed.bot_token


def test_the_rotate_command_works_where_the_routers_send_the_app(installed, decoy, settings):
    use_keys(settings, "k2", k1=K1, k2=K2)
    out = StringIO()
    call_command("slack_installs_rotate_keys", stdout=out)
    assert "slack_installs.Installation: 1/1 rows, re-encrypted 2 values" in out.getvalue()
    assert key_ids(Installation, "bot_token", ROUTED) == ["k2"]
    call_command("slack_installs_rotate_keys", "--verify", stdout=StringIO())  # exits 0
    assert key_ids(Installation, "bot_token", DEFAULT_DB_ALIAS) == ["k1"]

    # --database still names one database itself.
    call_command("slack_installs_rotate_keys", "--database", DEFAULT_DB_ALIAS, stdout=StringIO())
    assert key_ids(Installation, "bot_token", DEFAULT_DB_ALIAS) == ["k2"]
    assert Installation.objects.using(DEFAULT_DB_ALIAS).get().bot_token == DECOY_TOKEN


# --- django-slack-oauth's tokens ----------------------------------------------------------


def legacy_table(alias: str, table: str, user: str, token: str, extras: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (id integer PRIMARY KEY, {user} integer NULL,"
            f" {token} varchar(128) NULL, {extras} text NULL)"
        )


def legacy_row(alias: str, table: str, columns: str, *values) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s)", values)  # noqa: S608


def drop(alias: str, table: str) -> None:
    # Not one of the models' tables, so the flush after a transactional test leaves it.
    with connections[alias].cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")


@pytest.fixture
def alice():
    """A user of default, where auth lives; the FK constraint of ``UserToken.user`` is in
    the second database's own auth table, so the same user is there too (auth migrated on
    both, as with a replicated user table)."""
    user = User.objects.create(username="alice")
    User.objects.using(ROUTED).create(pk=user.pk, username="alice")
    return user


@pytest.fixture
def old_tables():
    """django-slack-oauth 1.x's table, left on default after its app was uninstalled."""
    legacy_table(
        DEFAULT_DB_ALIAS,
        "django_slack_oauth_slackoauthrequest",
        "associated_user_id",
        "access_token",
        "extras",
    )
    yield "django_slack_oauth_slackoauthrequest"
    drop(DEFAULT_DB_ALIAS, "django_slack_oauth_slackoauthrequest")


def test_the_legacy_token_import_writes_to_the_routed_database(routed, alice, old_tables):
    app = make_app(slug="default")
    columns = "id, associated_user_id, access_token, extras"
    legacy_row(DEFAULT_DB_ALIAS, old_tables, columns, 1, alice.pk, "xoxp-canary-old-1", v1_answer())

    dry = StringIO()
    call_command(
        "slack_installs_import_settings", "--from-django-slack-oauth", "--dry-run", stdout=dry
    )
    assert "Would import 1 user token(s)" in dry.getvalue()
    assert counts(ROUTED)["UserToken"] == 0 and counts(ROUTED)["Installation"] == 0

    out = StringIO()
    call_command("slack_installs_import_settings", "--from-django-slack-oauth", stdout=out)

    assert "Imported 1 user token(s)" in out.getvalue()
    token = UserToken.objects.get()
    assert (token.installation.app, token.installation.team_id) == (app, "T0OLD")
    assert token.access_token == "xoxp-canary-old-1" and token.user_id == alice.pk
    assert raw(UserToken, "access_token", ROUTED)[0].startswith("f1:k1:")
    assert counts(DEFAULT_DB_ALIAS) == dict.fromkeys(counts(ROUTED), 0)


def test_the_legacy_token_import_reads_where_the_routers_send_django_slack_oauth(
    routed, alice, settings
):
    # django-slack-oauth still installed (the guide keeps it until its tokens are copied)
    # and routed along with our app: its table is found through the routers and _meta.
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "tests.legacy_slack_oauth.LegacySlackOAuthConfig",
    ]
    make_app(slug="default")
    legacy_table(ROUTED, "legacy_oauth_requests", "owner", "token", "answer")
    try:
        legacy_row(
            ROUTED,
            "legacy_oauth_requests",
            "id, owner, token, answer",
            1,
            alice.pk,
            "xoxp-canary-old-2",
            v1_answer("T0LEGACY", "U0LEGACY"),
        )
        out = StringIO()
        call_command("slack_installs_import_settings", "--from-django-slack-oauth", stdout=out)
    finally:
        drop(ROUTED, "legacy_oauth_requests")

    assert "Imported 1 user token(s) from legacy_oauth_requests" in out.getvalue()
    token = UserToken.objects.get(slack_user_id="U0LEGACY")
    assert token.access_token == "xoxp-canary-old-2" and token.user_id == alice.pk
    assert counts(DEFAULT_DB_ALIAS) == dict.fromkeys(counts(ROUTED), 0)
