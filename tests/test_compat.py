"""Switching from django-slack-oauth: its settings, URL names and stored tokens."""

from __future__ import annotations

import json
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse

from slack_installs import pipelines
from slack_installs.compat.settings_import import map_v1_scopes
from slack_installs.models import Installation, SlackApp, UserToken
from tests import slack_payloads
from tests.slack_mocks import answer_install

pytestmark = pytest.mark.django_db

LEGACY_SECRET = "canary-legacy-client-secret-4242"
OLD_SETTINGS = {
    "SLACK_CLIENT_ID": "123.456",
    "SLACK_CLIENT_SECRET": LEGACY_SECRET,
    "SLACK_SCOPE": "bot,commands,incoming-webhook",
    "SLACK_PIPELINES": [
        "django_slack_oauth.pipelines.log_request",
        "slack_installs.pipelines.notify_admins",
    ],
    "SLACK_SUCCESS_REDIRECT_URL": "/thanks/",
    "SLACK_ERROR_REDIRECT_URL": "/oops/",
}


def register_user(request, api_data):
    """A django-slack-oauth style step of the project being migrated."""
    return request, api_data


def run(*args: str) -> str:
    out = StringIO()
    call_command("slack_installs_import_settings", *args, stdout=out)
    return out.getvalue()


# --- settings ------------------------------------------------------------------------------


@override_settings(**OLD_SETTINGS)
def test_import_creates_the_default_app():
    output = run()

    app = SlackApp.objects.get(slug="default")
    assert (app.name, app.client_id, app.client_secret) == ("Default", "123.456", LEGACY_SECRET)
    assert app.bot_scopes == "app_mentions:read,chat:write,im:history,commands,incoming-webhook"
    assert app.user_scopes == ""
    assert app.pipelines == ["slack_installs.pipelines.notify_admins"]
    assert (app.success_url, app.error_url) == ("/thanks/", "/oops/")
    raw = SlackApp.objects.values_list("client_secret", flat=True).get()
    assert raw.startswith("f1:") and LEGACY_SECRET not in raw
    assert LEGACY_SECRET not in output
    assert "Created the Slack app 'default'" in output
    assert "log_request dropped" in output
    assert "/slack/default/oauth/callback/" in output


def test_import_updates_the_default_app_in_place(slack_app):
    existing = SlackApp.objects.create(
        name="Our bot",
        slug="default",
        client_id="old.1",
        client_secret="old-secret",
        bot_scopes="chat:write",
        signing_secret="canary-signing-kept",
    )
    with override_settings(**{**OLD_SETTINGS, "SLACK_SCOPE": "commands"}):
        output = run("--user-scopes", "search:read")

    app = SlackApp.objects.get(slug="default")
    assert app.pk == existing.pk and app.name == "Our bot"
    assert (app.client_id, app.client_secret) == ("123.456", LEGACY_SECRET)
    assert (app.bot_scopes, app.user_scopes) == ("commands", "search:read")
    assert app.signing_secret == "canary-signing-kept"
    assert "Updated the Slack app 'default'" in output
    assert SlackApp.objects.count() == 2


@pytest.mark.parametrize(
    ("scope", "bot", "user", "unmappable"),
    [
        (
            "identify,read,post",
            [],
            ["channels:read", "channels:history", "users:read", "chat:write"],
            [],
        ),
        ("identify", [], ["identity.basic"], []),
        ("identity.basic, identity.email", [], ["identity.basic", "identity.email"], []),
        (
            "chat:write:bot,chat:write:user,channels:read",
            ["chat:write"],
            ["chat:write", "channels:read"],
            [],
        ),
        (
            "admin,bot,commands",
            ["app_mentions:read", "chat:write", "im:history", "commands"],
            [],
            ["admin"],
        ),
        ("client,bogus", [], [], ["client", "bogus"]),
    ],
)
def test_v1_scope_mapping(scope, bot, user, unmappable):
    mapping = map_v1_scopes(scope)
    assert (mapping.bot, mapping.user, mapping.unmappable) == (bot, user, unmappable)


@override_settings(**{**OLD_SETTINGS, "SLACK_SCOPE": "admin,bot"})
def test_unmappable_scopes_need_explicit_scopes():
    with pytest.raises(CommandError, match="admin") as caught:
        run()
    assert "--bot-scopes and --user-scopes" in str(caught.value)
    assert not SlackApp.objects.exists()

    run("--bot-scopes", "chat:write,commands", "--user-scopes", "")
    app = SlackApp.objects.get(slug="default")
    assert (app.bot_scopes, app.user_scopes) == ("chat:write,commands", "")


@override_settings(**{**OLD_SETTINGS, "SLACK_SCOPE": "bot"})
def test_bad_scope_override_is_a_clear_error():
    with pytest.raises(CommandError, match="bot_scopes"):
        run("--bot-scopes", "chat write")
    assert not SlackApp.objects.exists()


@override_settings(
    **{
        **OLD_SETTINGS,
        "SLACK_PIPELINES": [
            "myproject.pipelines.register_user",
            "tests.test_compat.register_user",
            "slack_installs.pipelines.log_api_data",
        ],
    }
)
def test_unregistered_pipelines_are_named_and_nothing_is_saved():
    before = SlackApp.objects.create(
        name="Default", slug="default", client_id="old.1", client_secret="old-secret"
    )
    with pytest.raises(CommandError) as caught:
        run()
    message = str(caught.value)
    assert "'myproject.pipelines.register_user' is not registered" in message
    assert "'tests.test_compat.register_user' is not registered" in message
    assert "log_api_data" not in message
    assert "SLACK_INSTALLS['PIPELINES']" in message and "pipelines.register" in message
    assert SlackApp.objects.get().client_id == before.client_id  # no half config


def test_pipelines_registered_by_setting_or_decorator_are_kept(settings):
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "PIPELINES": ["tests.test_compat.register_user"],
    }

    def welcome_team(request, api_data):
        return request, api_data

    pipelines.register(welcome_team)
    decorated = pipelines.path_of(welcome_team)
    try:
        steps = ["tests.test_compat.register_user", decorated, "django_slack_oauth.pipelines.debug"]
        with override_settings(
            SLACK_PIPELINES=steps,
            **{k: v for k, v in OLD_SETTINGS.items() if k != "SLACK_PIPELINES"},
        ):
            run()
    finally:
        pipelines._registered.pop(decorated, None)
    assert SlackApp.objects.get().pipelines == [
        "tests.test_compat.register_user",
        decorated,
        "slack_installs.pipelines.log_api_data",
    ]


@override_settings(SLACK_CLIENT_ID="123.456", SLACK_SCOPE="bot")
def test_missing_client_secret():
    with pytest.raises(CommandError, match="SLACK_CLIENT_SECRET is not set"):
        run()
    assert not SlackApp.objects.exists()


@override_settings(**OLD_SETTINGS)
def test_client_id_of_another_app():
    SlackApp.objects.create(name="X", slug="x", client_id="123.456", client_secret="s")
    with pytest.raises(CommandError, match="already belongs to the Slack app 'x'"):
        run()
    assert not SlackApp.objects.filter(slug="default").exists()


def test_nothing_to_import():
    with pytest.raises(CommandError, match="nothing to import"):
        run()


@override_settings(**OLD_SETTINGS)
def test_dry_run_saves_nothing():
    output = run("--dry-run")
    assert "Would create the Slack app 'default'" in output
    assert "Dry run: nothing was saved." in output
    assert not SlackApp.objects.exists()


# --- URL names -------------------------------------------------------------------------------


@pytest.fixture
def default_app(db):
    with override_settings(**OLD_SETTINGS):
        run()
    return SlackApp.objects.get(slug="default")


@pytest.mark.urls("tests.compat_urls")
def test_old_url_names_keep_working(client, default_app, mocked_slack):
    rendered = Template("<a href='{% url 'slack_auth' %}'>Get slacked</a>").render(Context())
    assert rendered == "<a href='/slack/login/'>Get slacked</a>"
    assert reverse("slack_success") == "/slack/login/success/"

    response = client.get(reverse("slack_auth"))
    assert response.status_code == 302
    authorize = urlsplit(response["Location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/oauth/v2/authorize" and query["client_id"] == ["123.456"]
    assert query["redirect_uri"] == ["http://testserver/slack/default/oauth/callback/"]

    answer_install(mocked_slack)
    done = client.get("/slack/default/oauth/callback/", {"code": "c1", "state": query["state"][0]})
    assert (done.status_code, done["Location"]) == (302, "/thanks/")
    assert Installation.objects.get().app == default_app

    page = client.get(reverse("slack_success"))
    assert page.status_code == 200 and b"Default" in page.content
    error_page = client.get(reverse("slack_error"), {"error": "access_denied"})
    assert error_page.status_code == 200 and b"cancelled" in error_page.content


@pytest.mark.urls("tests.compat_urls")
def test_old_redirect_url_still_takes_slacks_answer(client, default_app, mocked_slack):
    # A Slack app whose Redirect URL still is django-slack-oauth's: keep it as override.
    SlackApp.objects.filter(pk=default_app.pk).update(redirect_uri="http://testserver/slack/login/")
    started = client.get("/slack/login/")
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["redirect_uri"] == ["http://testserver/slack/login/"]
    answer_install(mocked_slack)

    done = client.get("/slack/login/", {"code": "c1", "state": query["state"][0]})

    assert (done.status_code, done["Location"]) == (302, "/thanks/")
    sent = parse_qs(mocked_slack.calls[0].request.body)
    assert sent["redirect_uri"] == ["http://testserver/slack/login/"]
    assert Installation.objects.get().bot_token == slack_payloads.BOT_TOKEN

    denied = client.get("/slack/login/", {"error": "access_denied", "state": "forged"})
    assert denied.status_code == 400


@pytest.mark.urls("tests.compat_urls")
def test_slack_auth_without_a_default_app_is_404(client, db):
    assert client.get("/slack/login/").status_code == 404


# --- tokens from django-slack-oauth's tables -------------------------------------------------


OLD_USER_TOKEN = "xoxp-canary-legacy-user-5151"
OLD_BOT_TOKEN = "xoxb-canary-legacy-bot-6161"


@pytest.fixture
def legacy_tables(transactional_db):
    """django-slack-oauth's tables. Their DDL commits on MariaDB/MySQL, where no test
    transaction can roll it back: so real transactions (flushed after), and the tables dropped."""
    create_legacy_tables()
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE django_slack_oauth_slackoauthrequest")
        cursor.execute("DROP TABLE slack_user")


def create_legacy_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE django_slack_oauth_slackoauthrequest ("
            " id integer PRIMARY KEY, associated_user_id integer NULL,"
            " access_token varchar(128) NULL, extras text NULL, ip varchar(39) NULL,"
            " created timestamp NULL, modified timestamp NULL)"
        )
        cursor.execute(
            "CREATE TABLE slack_user (slacker_id integer PRIMARY KEY,"
            " access_token varchar(128) NULL, extras text NULL)"
        )


def insert(table: str, columns: str, *values) -> None:
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def oauth_request_row(row_id, django_user_id, token, extras) -> None:
    """A row of django-slack-oauth 1.x's SlackOAuthRequest."""
    insert(
        "django_slack_oauth_slackoauthrequest",
        "id, associated_user_id, access_token, extras",
        row_id,
        django_user_id,
        token,
        extras,
    )


def slack_user_row(django_user_id, token, extras) -> None:
    """A row of django-slack-oauth 0.x's SlackUser (db_table "slack_user")."""
    insert("slack_user", "slacker_id, access_token, extras", django_user_id, token, extras)


def v1_answer(team_id="T0OLD", user_id="U0OLD", **extra) -> str:
    data = {
        "ok": True,
        "scope": "identify,bot,commands",
        "team_name": "Old Team",
        "team_id": team_id,
        "user_id": user_id,
        "enterprise_id": None,
    }
    data.update(extra)
    return json.dumps(data)


def test_tokens_are_copied_from_django_slack_oauth_tables(
    default_app, django_user_model, legacy_tables
):
    alice = django_user_model.objects.create(username="alice")
    bot = {"bot_user_id": "U0OLDBOT", "bot_access_token": OLD_BOT_TOKEN}
    identity = {"ok": True, "user": {"id": "U0ID", "name": "Id"}, "team": {"id": "T0OLD"}}
    oauth_request_row(1, alice.pk, "xoxp-canary-older-0001", v1_answer())
    oauth_request_row(2, alice.pk, OLD_USER_TOKEN, v1_answer(bot=bot))
    oauth_request_row(3, None, "xoxp-canary-no-team-0003", json.dumps({"user_id": "U9"}))
    oauth_request_row(4, None, "xoxp-canary-bad-json-0004", "{not json")
    oauth_request_row(5, None, "xoxp-canary-identity-0005", json.dumps(identity))
    slack_user_row(alice.pk, "xoxp-canary-slackuser-0006", v1_answer("T0NEW", "U0NEW"))
    slack_user_row(999, None, v1_answer())

    out = StringIO()
    call_command("slack_installs_import_settings", "--from-django-slack-oauth", stdout=out)
    output = out.getvalue()

    old_team = Installation.objects.get(team_id="T0OLD")
    assert old_team.app == default_app and old_team.team_name == "Old Team"
    assert old_team.installer_user_id == "U0OLD"
    assert (old_team.bot_token, old_team.bot_user_id) == (OLD_BOT_TOKEN, "U0OLDBOT")
    alice_token = UserToken.objects.get(installation=old_team, slack_user_id="U0OLD")
    assert alice_token.access_token == OLD_USER_TOKEN  # the newest row wins
    assert alice_token.user == alice and alice_token.scopes == "identify,bot,commands"
    assert UserToken.objects.get(slack_user_id="U0ID").access_token == "xoxp-canary-identity-0005"
    assert UserToken.objects.get(slack_user_id="U0NEW").installation.team_id == "T0NEW"
    assert UserToken.objects.count() == 3 and Installation.objects.count() == 2

    raw_tokens = list(UserToken.objects.values_list("access_token", flat=True))
    raw_tokens += list(
        Installation.objects.filter(bot_token__isnull=False).values_list("bot_token", flat=True)
    )
    assert len(raw_tokens) == 4
    assert all(value.startswith("f1:") for value in raw_tokens)
    for plaintext in (OLD_USER_TOKEN, OLD_BOT_TOKEN, "xoxp-canary-slackuser-0006"):
        assert all(plaintext not in value for value in raw_tokens)
        assert plaintext not in output

    assert "Imported 3 user token(s)" in output and "2 installation(s) created" in output
    assert "Could not map 3 row(s)" in output
    assert "django_slack_oauth_slackoauthrequest row 3: extras names no team_id" in output
    assert "django_slack_oauth_slackoauthrequest row 4: extras is not a JSON object" in output
    assert "slack_user row 999: no access token" in output
    assert "row 1: an older token of U0OLD" in output
    assert "still hold these tokens in plaintext" in output

    # Running it again keeps what is there.
    again = StringIO()
    call_command("slack_installs_import_settings", "--from-django-slack-oauth", stdout=again)
    assert "Imported 0 user token(s)" in again.getvalue()
    assert UserToken.objects.get(slack_user_id="U0OLD").access_token == OLD_USER_TOKEN


def test_token_import_without_old_tables(default_app):
    output = run("--from-django-slack-oauth")
    assert "No django-slack-oauth token table was found." in output


def test_token_import_keeps_a_newer_install(default_app, legacy_tables):
    installation = Installation.objects.create(
        app=default_app, team_id="T0OLD", bot_token="xoxb-canary-v2-bot"
    )
    UserToken.objects.create(
        installation=installation, slack_user_id="U0OLD", access_token="xoxp-canary-v2-user"
    )
    bot = {"bot_user_id": "U0OLDBOT", "bot_access_token": OLD_BOT_TOKEN}
    oauth_request_row(1, None, OLD_USER_TOKEN, v1_answer(bot=bot))

    output = run("--from-django-slack-oauth")

    installation.refresh_from_db()
    assert installation.bot_token == "xoxb-canary-v2-bot"
    assert UserToken.objects.get().access_token == "xoxp-canary-v2-user"
    assert "U0OLD in T0OLD already has one" in output
    assert get_user_model().objects.count() == 0
