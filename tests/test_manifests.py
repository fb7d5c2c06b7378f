"""App manifests: build, validate, compare, create/push/export, configuration tokens, admin."""

from __future__ import annotations

import datetime
import functools
import io
import json
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.template import Context, Template
from django.utils import timezone

from slack_installs import client, manifests
from slack_installs.exceptions import ConfigurationTokenError, ManifestError, SlackAPIError
from slack_installs.models import ConfigurationToken, Installation, SlackApp
from tests.installs import install_through_fake, staff_user
from tests.test_hardening_concurrency import CONTENDERS, racing, run_together

API = "https://slack.test/api"  # tests/settings.py
BASE = "https://apps.example.com"
CONFIG_TOKEN = "xoxe.xoxp-1-canary-config-token-9901"
CONFIG_REFRESH = "xoxe-1-canary-config-refresh-9902"
NEW_CONFIG_TOKEN = "xoxe.xoxp-1-canary-config-token-9903"
NEW_CONFIG_REFRESH = "xoxe-1-canary-config-refresh-9904"
CREATED_CLIENT_SECRET = "canary-created-client-secret-9905"
CREATED_SIGNING_SECRET = "canary-created-signing-secret-9906"
INVALID_MANIFEST = {
    "ok": False,
    "error": "invalid_manifest",
    "errors": [
        {
            "code": "failed_constraint",
            "message": "A slash command starts with /",
            "pointer": "/features/slash_commands/0/command",
            "related_component": "slash_commands",
        }
    ],
}


def created_answer(app_id: str = "A0CREATED1", client_id: str = "9000000001.9000000001"):
    return {
        "ok": True,
        "app_id": app_id,
        "credentials": {
            "client_id": client_id,
            "client_secret": CREATED_CLIENT_SECRET,
            "verification_token": "canary-verification-9907",
            "signing_secret": CREATED_SIGNING_SECRET,
        },
        "oauth_authorize_url": "https://slack.com/oauth/v2/authorize?client_id=" + client_id,
        "team_id": "T0ACME0001",
        "team_domain": "acme",
    }


def rotated_answer(token: str = NEW_CONFIG_TOKEN, refresh: str = NEW_CONFIG_REFRESH):
    now = int(time.time())
    return {
        "ok": True,
        "token": token,
        "refresh_token": refresh,
        "team_id": "T0ACME0001",
        "user_id": "U0ACME0001",
        "iat": now,
        "exp": now + 43200,
    }


@pytest.fixture
def base_url(settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "REDIRECT_BASE_URL": BASE}
    return BASE


@pytest.fixture
def new_app(db):
    """An app saved in the admin to be created on Slack: no credentials yet."""
    return SlackApp.objects.create(
        name="Standup Bot", slug="standup", bot_scopes="chat:write,commands", user_scopes=""
    )


@pytest.fixture
def config_token(db):
    return ConfigurationToken.objects.create(
        team_id="T0ACME0001",
        access_token=CONFIG_TOKEN,
        refresh_token=CONFIG_REFRESH,
        expires_at=timezone.now() + datetime.timedelta(hours=11),
    )


def raw_columns(model, pk, *names):
    return model.objects.filter(pk=pk).values_list(*names).get()


def posted(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body)


# --- build_manifest ----------------------------------------------------------------------


def test_the_manifest_matches_the_admin_row(new_app, base_url):
    new_app.user_scopes = "search:read"
    assert manifests.build_manifest(new_app) == {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": "Standup Bot"},
        "features": {"bot_user": {"display_name": "Standup Bot", "always_online": False}},
        "oauth_config": {
            "redirect_urls": [f"{BASE}/slack/standup/oauth/callback/"],
            "scopes": {"bot": ["chat:write", "commands"], "user": ["search:read"]},
        },
        "settings": {
            "event_subscriptions": {
                "request_url": f"{BASE}/slack/standup/events/",
                "bot_events": ["app_uninstalled", "tokens_revoked"],
            },
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


def test_sign_in_adds_its_callback_and_openid_scopes(new_app, base_url):
    new_app.user_scopes = "search:read,email"
    new_app.sign_in_enabled = True
    oauth_config = manifests.build_manifest(new_app)["oauth_config"]
    assert oauth_config["redirect_urls"] == [
        f"{BASE}/slack/standup/oauth/callback/",
        f"{BASE}/slack/standup/sign-in/callback/",
    ]
    assert oauth_config["scopes"]["user"] == ["search:read", "email", "openid", "profile"]


def test_an_org_ready_app_with_rotation_follows_team_access(new_app, base_url):
    new_app.org_deploy_enabled = True
    new_app.token_rotation_enabled = True
    settings_ = manifests.build_manifest(new_app)["settings"]
    assert settings_["event_subscriptions"]["bot_events"] == [
        "app_uninstalled",
        "tokens_revoked",
        "team_access_granted",
        "team_access_revoked",
    ]
    assert (settings_["org_deploy_enabled"], settings_["token_rotation_enabled"]) == (True, True)


def test_the_base_url_argument_and_the_redirect_override(new_app, base_url):
    manifest = manifests.build_manifest(new_app, base_url="http://127.0.0.1:8000/")
    assert manifest["oauth_config"]["redirect_urls"] == [
        "http://127.0.0.1:8000/slack/standup/oauth/callback/"
    ]
    new_app.redirect_uri = "https://proxy.example.com/cb/"
    manifest = manifests.build_manifest(new_app)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://proxy.example.com/cb/"]
    assert manifest["settings"]["event_subscriptions"]["request_url"].startswith(BASE)


def test_a_user_scopes_only_app_has_no_bot_user(new_app, base_url):
    new_app.bot_scopes, new_app.user_scopes = "", "search:read"
    manifest = manifests.build_manifest(new_app)
    assert "features" not in manifest
    assert manifest["oauth_config"]["scopes"] == {"user": ["search:read"]}


def test_manifest_extra_is_deep_merged_last(new_app, base_url):
    new_app.manifest_extra = {
        "features": {
            "bot_user": {"display_name": "standup"},
            "slash_commands": [{"command": "/standup", "url": f"{BASE}/cmd/"}],
        },
        "settings": {
            "event_subscriptions": {"bot_events": ["app_mention", "tokens_revoked"]},
            "interactivity": {"is_enabled": True, "request_url": f"{BASE}/actions/"},
        },
    }
    manifest = manifests.build_manifest(new_app)
    assert manifest["features"] == {
        "bot_user": {"display_name": "standup", "always_online": False},
        "slash_commands": [{"command": "/standup", "url": f"{BASE}/cmd/"}],
    }
    events = manifest["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_uninstalled", "tokens_revoked", "app_mention"]
    assert events["request_url"] == f"{BASE}/slack/standup/events/"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_without_a_base_url_the_manifest_says_which_setting_to_set(new_app):
    with pytest.raises(ManifestError, match=r"REDIRECT_BASE_URL"):
        manifests.build_manifest(new_app)


def test_the_create_link_carries_the_manifest(new_app, base_url):
    manifest = manifests.build_manifest(new_app)
    link = manifests.create_app_link(manifest)
    assert link.startswith("https://api.slack.com/apps?new_app=1&manifest_json=")
    assert json.loads(unquote(link.split("manifest_json=", 1)[1])) == manifest


# --- Slack's rules, before anything reaches Slack ----------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (lambda m: m["display_information"].pop("name"), "/display_information/name", "a name"),
        (lambda m: m["display_information"].update(name="  "), "/display_information/name", "name"),
        (
            lambda m: m["display_information"].update(name="x" * 36),
            "/display_information/name",
            "35",
        ),
        (
            lambda m: m["oauth_config"].update(redirect_urls=["http://example.com/cb/"]),
            "/oauth_config/redirect_urls/0",
            "https://",
        ),
        (
            lambda m: m["settings"]["event_subscriptions"].update(request_url="ftp://x.example/"),
            "/settings/event_subscriptions/request_url",
            "https://",
        ),
        (
            lambda m: m["features"].update(
                slash_commands=[{"command": "/x", "url": "http://a.b/"}]
            ),
            "/features/slash_commands/0/url",
            "https://",
        ),
        (lambda m: m.update(commands=[]), "/commands", "no top-level key “commands”"),
        (
            lambda m: m["features"]["bot_user"].update(display_name=""),
            "/features/bot_user/display_name",
            "bot user",
        ),
    ],
)
def test_what_slack_would_refuse_is_found_first(new_app, base_url, change, pointer, message):
    manifest = manifests.build_manifest(new_app)
    assert manifests.validate_manifest(manifest) == []
    change(manifest)
    [problem] = manifests.validate_manifest(manifest)
    assert problem.pointer == pointer
    assert message in problem.message


def test_http_is_fine_on_loopback_only(new_app):
    for base in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:8000"):
        assert manifests.validate_manifest(manifests.build_manifest(new_app, base_url=base)) == []
    problems = manifests.validate_manifest(
        manifests.build_manifest(new_app, base_url="http://apps.example.com")
    )
    assert [p.pointer for p in problems] == [
        "/oauth_config/redirect_urls/0",
        "/settings/event_subscriptions/request_url",
    ]
    assert manifests.validate_manifest(["not", "an", "object"])[0].message == (
        "A manifest is a JSON object."
    )


def test_pointers_name_the_admin_field_they_come_from(new_app):
    new_app.manifest_extra = {"features": {"slash_commands": [{"command": "x"}]}}
    assert manifests.field_of(new_app, "/features/slash_commands/0/command") == "manifest_extra"
    assert manifests.field_of(new_app, "/display_information/name") == "name"
    assert manifests.field_of(new_app, "/oauth_config/scopes/bot/1") == "bot_scopes"
    assert manifests.field_of(new_app, "/oauth_config/redirect_urls/0") is None  # the site's
    new_app.redirect_uri = "https://proxy.example.com/cb/"
    assert manifests.field_of(new_app, "/oauth_config/redirect_urls/0") == "redirect_uri"
    assert manifests.field_of(new_app, "/settings/event_subscriptions/request_url") is None
    assert manifests.pointer_of("a/b", "c~d", 0) == "/a~1b/c~0d/0"


# --- Comparing with Slack's copy ---------------------------------------------------------


def test_slacks_metadata_defaults_and_order_are_not_drift(new_app, base_url):
    ours = manifests.build_manifest(new_app)
    theirs = json.loads(json.dumps(ours))
    theirs["_metadata"] = {"major_version": 2, "minor_version": 7}
    theirs["oauth_config"]["scopes"]["bot"].reverse()
    theirs["oauth_config"]["token_management_enabled"] = False
    theirs["settings"]["is_hosted"] = False
    theirs["features"]["app_home"] = {
        "home_tab_enabled": False,
        "messages_tab_enabled": False,
        "messages_tab_read_only_enabled": False,
    }
    del theirs["settings"]["socket_mode_enabled"]  # at its default on our side
    theirs["oauth_config"]["scopes"]["user"] = []
    assert manifests.compare(ours, theirs) == []


def test_real_drift_is_listed_by_json_pointer(new_app, base_url):
    ours = manifests.build_manifest(new_app)
    theirs = json.loads(json.dumps(ours))
    theirs["oauth_config"]["scopes"]["bot"] = ["chat:write"]
    theirs["oauth_config"]["redirect_urls"] = []
    theirs["settings"]["event_subscriptions"]["bot_events"].remove("tokens_revoked")
    theirs["settings"]["token_rotation_enabled"] = True
    theirs["features"]["slash_commands"] = [{"command": "/old", "should_escape": False}]
    differences = {d.pointer: (d.ours, d.theirs) for d in manifests.compare(ours, theirs)}
    assert differences == {
        "/features/slash_commands": (
            manifests.MISSING,
            [{"command": "/old", "should_escape": False}],
        ),
        "/oauth_config/redirect_urls": ([f"{BASE}/slack/standup/oauth/callback/"], []),
        "/oauth_config/scopes/bot": (["chat:write", "commands"], ["chat:write"]),
        "/settings/event_subscriptions/bot_events": (
            ["app_uninstalled", "tokens_revoked"],
            ["app_uninstalled"],
        ),
        "/settings/token_rotation_enabled": (False, True),
    }
    shown = str(manifests.compare({"a": 1}, {})[0])
    assert shown == "/a: ours 1, Slack's (not set)"


def test_lists_of_objects_compare_item_by_item(new_app, base_url):
    ours = {"features": {"slash_commands": [{"command": "/a", "url": "https://x/"}]}}
    theirs = {
        "features": {
            "slash_commands": [
                {"command": "/a", "url": "https://y/", "should_escape": False},
                {"command": "/b"},
            ]
        }
    }
    assert [(d.pointer, d.ours, d.theirs) for d in manifests.compare(ours, theirs)] == [
        ("/features/slash_commands/0/url", "https://x/", "https://y/"),
        ("/features/slash_commands/1", manifests.MISSING, {"command": "/b"}),
    ]


# --- client.py ---------------------------------------------------------------------------


def test_the_manifest_methods_post_json_and_invalid_manifest_errors_are_reachable(mocked_slack):
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.validate", json=INVALID_MANIFEST)
    with pytest.raises(SlackAPIError) as raised:
        client.apps_manifest_validate(CONFIG_TOKEN, manifest={"a": [1]}, app_id="A0X")
    assert raised.value.code == "invalid_manifest"
    assert raised.value.errors == [
        {
            "code": "failed_constraint",
            "message": "A slash command starts with /",
            "pointer": "/features/slash_commands/0/command",
            "related_component": "slash_commands",
        }
    ]
    call = mocked_slack.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {CONFIG_TOKEN}"
    assert json.loads(posted(call)["manifest"][0]) == {"a": [1]}
    assert posted(call)["app_id"] == ["A0X"]

    mocked_slack.add(responses.POST, f"{API}/tooling.tokens.rotate", json=rotated_answer())
    assert client.tooling_tokens_rotate(CONFIG_REFRESH)["token"] == NEW_CONFIG_TOKEN
    rotate = mocked_slack.calls[1]
    assert posted(rotate) == {"refresh_token": [CONFIG_REFRESH]}
    assert "Authorization" not in rotate.request.headers


def test_other_errors_carry_no_errors_list(mocked_slack):
    mocked_slack.add(
        responses.POST, f"{API}/apps.manifest.export", json={"ok": False, "error": "invalid_app_id"}
    )
    with pytest.raises(SlackAPIError) as raised:
        client.apps_manifest_export(CONFIG_TOKEN, app_id="A0NOPE")
    assert (raised.value.code, raised.value.errors) == ("invalid_app_id", [])


# --- Configuration tokens ----------------------------------------------------------------


def test_a_due_token_is_rotated_once_and_stored_encrypted(config_token, mocked_slack):
    ConfigurationToken.objects.filter(pk=config_token.pk).update(
        expires_at=timezone.now() + datetime.timedelta(minutes=30)  # within the 2 h margin
    )
    config_token.refresh_from_db()
    rotate = mocked_slack.add(responses.POST, f"{API}/tooling.tokens.rotate", json=rotated_answer())
    assert manifests.access_token(config_token) == NEW_CONFIG_TOKEN
    assert manifests.access_token(ConfigurationToken.objects.get()) == NEW_CONFIG_TOKEN
    assert rotate.call_count == 1
    access_raw, refresh_raw = raw_columns(
        ConfigurationToken, config_token.pk, "access_token", "refresh_token"
    )
    assert access_raw.startswith("f1:k1:") and NEW_CONFIG_TOKEN not in access_raw
    assert refresh_raw.startswith("f1:k1:") and NEW_CONFIG_REFRESH not in refresh_raw
    stored = ConfigurationToken.objects.get()
    assert stored.refresh_token == NEW_CONFIG_REFRESH
    assert stored.rotated_at is not None
    assert stored.expires_at > timezone.now() + datetime.timedelta(hours=11)


def test_a_token_not_due_is_used_as_is(config_token, mocked_slack):
    assert manifests.access_token(config_token) == CONFIG_TOKEN
    assert len(mocked_slack.calls) == 0


def test_a_token_of_unknown_expiry_is_rotated_before_its_first_use(config_token, mocked_slack):
    ConfigurationToken.objects.filter(pk=config_token.pk).update(expires_at=None)
    mocked_slack.add(responses.POST, f"{API}/tooling.tokens.rotate", json=rotated_answer())
    assert manifests.access_token(ConfigurationToken.objects.get()) == NEW_CONFIG_TOKEN


def test_a_spent_refresh_token_says_to_paste_a_new_one_and_changes_nothing(
    config_token, mocked_slack
):
    mocked_slack.add(
        responses.POST,
        f"{API}/tooling.tokens.rotate",
        json={"ok": False, "error": "invalid_refresh_token"},
    )
    before = raw_columns(ConfigurationToken, config_token.pk, "access_token", "refresh_token")
    with pytest.raises(ConfigurationTokenError, match="paste it with its refresh token"):
        manifests.rotate_configuration_token(config_token, stale=CONFIG_TOKEN)
    assert raw_columns(ConfigurationToken, config_token.pk, "access_token", "refresh_token") == (
        before
    )


def test_an_expired_token_without_refresh_token_is_a_clear_error(db, mocked_slack):
    token = ConfigurationToken.objects.create(
        team_id="T0ACME0001",
        access_token=CONFIG_TOKEN,
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    with pytest.raises(ConfigurationTokenError, match="has no refresh token"):
        manifests.access_token(token)
    assert len(mocked_slack.calls) == 0


def test_the_app_names_its_token_else_the_only_one_counts(new_app, config_token):
    assert manifests.configuration_token_for(new_app) == config_token
    other = ConfigurationToken.objects.create(team_id="T0OTHER001", access_token=CONFIG_TOKEN)
    with pytest.raises(ConfigurationTokenError, match="Several app configuration tokens"):
        manifests.configuration_token_for(new_app)
    new_app.configuration_token = other
    assert manifests.configuration_token_for(new_app) == other
    ConfigurationToken.objects.all().delete()
    new_app.refresh_from_db()
    assert new_app.configuration_token is None  # SET_NULL
    with pytest.raises(ConfigurationTokenError, match="No app configuration token is stored"):
        manifests.configuration_token_for(new_app)


def test_a_token_slack_calls_expired_is_rotated_and_the_call_tried_once_more(
    new_app, config_token, base_url, mocked_slack
):
    SlackApp.objects.filter(pk=new_app.pk).update(app_id="A0STANDUP1")
    new_app.refresh_from_db()
    expired = {"ok": False, "error": "token_expired"}
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.export", json=expired)
    mocked_slack.add(responses.POST, f"{API}/tooling.tokens.rotate", json=rotated_answer())
    mocked_slack.add(
        responses.POST,
        f"{API}/apps.manifest.export",
        json={"ok": True, "manifest": manifests.build_manifest(new_app)},
    )
    assert manifests.compare_with_slack(new_app) == []
    used = [call.request.headers.get("Authorization") for call in mocked_slack.calls]
    assert used == [f"Bearer {CONFIG_TOKEN}", None, f"Bearer {NEW_CONFIG_TOKEN}"]
    assert ConfigurationToken.objects.get().access_token == NEW_CONFIG_TOKEN


@racing
@pytest.mark.django_db(transaction=True)
def test_many_workers_rotate_a_due_token_once(fake_slack):
    issued = fake_slack.issue_configuration_token()
    token = ConfigurationToken.objects.create(
        team_id=issued.team_id,
        access_token=issued.token,
        refresh_token=issued.refresh_token,
        expires_at=timezone.now() + datetime.timedelta(minutes=5),  # due
    )
    # Each worker read the row before any rotated it, as workers of a busy site do.
    stale = [ConfigurationToken.objects.get(pk=token.pk) for _ in range(CONTENDERS)]
    got = run_together([functools.partial(manifests.access_token, row) for row in stale])
    [rotate] = fake_slack.calls_to("tooling.tokens.rotate")  # once: the refresh token is single-use
    assert rotate.status == 200 and rotate.response["ok"] is True
    assert got == [rotate.response["token"]] * CONTENDERS
    assert ConfigurationToken.objects.get().refresh_token == rotate.response["refresh_token"]


# --- Create, push and compare (responses) -------------------------------------------------


def test_create_saves_what_slack_answers_encrypted_in_one_go(
    new_app, config_token, base_url, mocked_slack
):
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.create", json=created_answer())
    created = manifests.create_on_slack(new_app)
    sent = posted(mocked_slack.calls[0])
    assert json.loads(sent["manifest"][0]) == manifests.build_manifest(new_app)
    assert (created.app_id, created.client_id) == ("A0CREATED1", "9000000001.9000000001")
    stored = SlackApp.objects.get(pk=new_app.pk)
    assert (stored.client_secret, stored.signing_secret) == (
        CREATED_CLIENT_SECRET,
        CREATED_SIGNING_SECRET,
    )
    client_raw, signing_raw = raw_columns(SlackApp, new_app.pk, "client_secret", "signing_secret")
    assert client_raw.startswith("f1:k1:") and CREATED_CLIENT_SECRET not in client_raw
    assert signing_raw.startswith("f1:k1:") and CREATED_SIGNING_SECRET not in signing_raw
    assert stored.has_credentials
    with pytest.raises(ManifestError, match="on Slack already"):
        manifests.create_on_slack(stored)
    assert len(mocked_slack.calls) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (INVALID_MANIFEST, None),
        ({**created_answer(), "credentials": {"client_id": "9.9"}}, "A0CREATED1"),
        ({**created_answer(), "app_id": "not an id"}, "Slack created an app"),
    ],
)
def test_a_failed_create_saves_nothing(
    new_app, config_token, base_url, mocked_slack, answer, message
):
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.create", json=answer)
    before = raw_columns(
        SlackApp, new_app.pk, "app_id", "client_id", "client_secret", "signing_secret"
    )
    expected = (ManifestError,) if message else (SlackAPIError,)
    with pytest.raises(expected) as raised:
        manifests.create_on_slack(new_app)
    if message:
        assert message in str(raised.value)  # Slack made it: say which app to delete
    assert (
        raw_columns(SlackApp, new_app.pk, "app_id", "client_id", "client_secret", "signing_secret")
        == before
        == ("", None, None, None)
    )


def test_a_client_id_slack_gives_twice_saves_nothing_and_names_the_app(
    new_app, config_token, base_url, mocked_slack
):
    SlackApp.objects.create(name="Other", slug="other", client_id="9000000001.9000000001")
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.create", json=created_answer())
    with pytest.raises(ManifestError, match="A0CREATED1.*could not be saved"):
        manifests.create_on_slack(new_app)
    assert SlackApp.objects.get(pk=new_app.pk).client_id is None


def test_an_invalid_manifest_never_reaches_slack(new_app, config_token, base_url, mocked_slack):
    new_app.manifest_extra = {"commands": []}
    with pytest.raises(ManifestError) as raised:
        manifests.create_on_slack(new_app)
    assert raised.value.problems == [("/commands", "Slack knows no top-level key “commands”.")]
    assert len(mocked_slack.calls) == 0


def test_push_validates_then_updates(new_app, config_token, base_url, mocked_slack):
    SlackApp.objects.filter(pk=new_app.pk).update(app_id="A0STANDUP1")
    new_app.refresh_from_db()
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.validate", json={"ok": True})
    mocked_slack.add(
        responses.POST,
        f"{API}/apps.manifest.update",
        json={"ok": True, "app_id": "A0STANDUP1", "permissions_updated": True},
    )
    assert manifests.push_to_slack(new_app) == manifests.Pushed(permissions_updated=True)
    methods = [urlsplit(call.request.url).path.rsplit("/", 1)[1] for call in mocked_slack.calls]
    assert methods == ["apps.manifest.validate", "apps.manifest.update"]
    for call in mocked_slack.calls:
        assert posted(call)["app_id"] == ["A0STANDUP1"]
        assert json.loads(posted(call)["manifest"][0]) == manifests.build_manifest(new_app)


def test_a_refused_validate_stops_the_push(new_app, config_token, base_url, mocked_slack):
    SlackApp.objects.filter(pk=new_app.pk).update(app_id="A0STANDUP1")
    new_app.refresh_from_db()
    mocked_slack.add(responses.POST, f"{API}/apps.manifest.validate", json=INVALID_MANIFEST)
    with pytest.raises(SlackAPIError) as raised:
        manifests.push_to_slack(new_app)
    assert raised.value.errors[0]["pointer"] == "/features/slash_commands/0/command"
    assert len(mocked_slack.calls) == 1


def test_push_and_compare_need_the_app_on_slack(new_app, config_token, base_url, mocked_slack):
    for operation in (manifests.push_to_slack, manifests.compare_with_slack):
        with pytest.raises(ManifestError, match="not on Slack yet"):
            operation(new_app)
    assert len(mocked_slack.calls) == 0


# --- Against the fake Slack -------------------------------------------------------------


@pytest.fixture
def on_fake(fake_slack, new_app, base_url):
    """``new_app`` with the fake's configuration token stored, ready to create."""
    issued = fake_slack.issue_configuration_token()
    ConfigurationToken.objects.create(
        team_id=issued.team_id,
        access_token=issued.token,
        refresh_token=issued.refresh_token,
        expires_at=timezone.now() + datetime.timedelta(hours=11),
    )
    return new_app


def test_an_app_created_on_the_fake_installs_through_it(on_fake, fake_slack, client):
    created = manifests.create_on_slack(on_fake)
    known = fake_slack.app(created.client_id)
    assert known is not None and known.app_id == created.app_id
    assert (known.client_secret, known.signing_secret) == (
        created.client_secret,
        created.signing_secret,
    )
    exported = fake_slack.manifest_of(created.app_id)
    assert exported["_metadata"] == {"major_version": 1, "minor_version": 1}
    assert manifests.compare_with_slack(created) == []
    response = install_through_fake(client, fake_slack, created)
    assert response.status_code == 302, response.content
    installation = Installation.objects.get()
    assert (installation.app_id, installation.team_id) == (created.pk, "T0ACME0001")


def test_scopes_changed_here_are_drift_until_pushed(on_fake, fake_slack):
    created = manifests.create_on_slack(on_fake)
    created.bot_scopes = "chat:write,commands,users:read"
    created.save()
    [difference] = manifests.compare_with_slack(created)
    assert difference.pointer == "/oauth_config/scopes/bot"
    assert difference.theirs == ["chat:write", "commands"]
    assert manifests.push_to_slack(created).permissions_updated is True
    assert manifests.compare_with_slack(created) == []
    assert fake_slack.manifest_of(created.app_id)["oauth_config"]["scopes"]["bot"] == [
        "chat:write",
        "commands",
        "users:read",
    ]


def test_the_fake_answers_with_slacks_errors(fake_slack):
    issued = fake_slack.issue_configuration_token()
    manifest = {"display_information": {"name": "X"}}
    with pytest.raises(SlackAPIError, match="not_authed"):
        client.call("apps.manifest.create", data={"manifest": json.dumps(manifest)})
    with pytest.raises(SlackAPIError, match="invalid_auth"):
        client.apps_manifest_create("xoxe.xoxp-1-unknown", manifest=manifest)
    with pytest.raises(SlackAPIError, match="invalid_app_id"):
        client.apps_manifest_export(issued.token, app_id="A0NOSUCH1")
    with pytest.raises(SlackAPIError) as raised:
        client.apps_manifest_validate(
            issued.token,
            manifest={
                "display_information": {"name": ""},
                "oauth_config": {"scopes": {"bot": ["chat:write"]}},
                "features": {"slash_commands": [{"command": "standup"}]},
                "colour": "red",
            },
        )
    assert raised.value.code == "invalid_manifest"
    assert sorted(error["pointer"] for error in raised.value.errors) == [
        "/colour",
        "/display_information/name",
        "/features/bot_user",
        "/features/slash_commands/0/command",
    ]
    created = client.apps_manifest_create(issued.token, manifest=manifest)
    other = fake_slack.issue_configuration_token("T0GLOBEX01")
    with pytest.raises(SlackAPIError, match="invalid_app_id"):  # another workspace's app
        client.apps_manifest_export(other.token, app_id=created["app_id"])
    fake_slack.expire_configuration_token(issued.token)
    with pytest.raises(SlackAPIError, match="token_expired"):
        client.apps_manifest_export(issued.token, app_id=created["app_id"])


def test_the_fakes_refresh_tokens_are_single_use(fake_slack):
    issued = fake_slack.issue_configuration_token()
    rotated = client.tooling_tokens_rotate(issued.refresh_token)
    assert rotated["token"].startswith("xoxe.xoxp-1-")
    assert rotated["refresh_token"].startswith("xoxe-1-")
    assert rotated["exp"] - rotated["iat"] == 43200
    assert rotated["team_id"] == "T0ACME0001"
    with pytest.raises(SlackAPIError, match="invalid_refresh_token"):
        client.tooling_tokens_rotate(issued.refresh_token)
    assert client.apps_manifest_validate(
        rotated["token"], manifest={"display_information": {"name": "X"}}
    ) == {"ok": True}


# --- Apps without credentials -----------------------------------------------------------


def test_an_app_without_credentials_cannot_be_installed(new_app, client, caplog):
    assert not new_app.has_credentials
    assert client.get("/slack/standup/install/").status_code == 404
    rendered = Template(
        '{% load slack_installs %}[{% slack_install_button "standup" %}]'
        '[{% slack_install_url "standup" %}]'
    ).render(Context())
    assert rendered == "[][]"
    assert "has no client id and secret yet" in caplog.text


def test_client_ids_stay_unique_when_set_and_never_blank(new_app):
    SlackApp.objects.create(name="Second", slug="second")  # two NULLs do not collide
    SlackApp.objects.create(name="Third", slug="third", client_id="1.2")
    with pytest.raises(IntegrityError), transaction.atomic():
        SlackApp.objects.create(name="Fourth", slug="fourth", client_id="1.2")
    with pytest.raises(IntegrityError), transaction.atomic():
        SlackApp.objects.create(name="Blank", slug="blank", client_id="")


@pytest.fixture
def staff(db):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    return user


@pytest.fixture
def admin(client, staff):
    client.force_login(staff)
    return client


ADD = "/admin/slack_installs/slackapp/add/"


def app_form(**fields):
    data = {
        "name": "Standup Bot",
        "slug": "standup",
        "is_active": "on",
        "app_id": "",
        "client_id": "",
        "client_secret": "",
        "signing_secret": "",
        "bot_scopes": "chat:write",
        "user_scopes": "",
        "redirect_uri": "",
        "success_url": "",
        "error_url": "",
        "manifest_extra": "{}",
        "configuration_token": "",
    }
    data.update(fields)
    return data


def test_the_admin_saves_an_app_to_create_on_slack(admin):
    response = admin.post(ADD, app_form(org_deploy_enabled="on"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    app = SlackApp.objects.get()
    assert raw_columns(SlackApp, app.pk, "client_id", "client_secret") == (None, None)
    assert (app.org_deploy_enabled, app.token_rotation_enabled, app.manifest_extra) == (
        True,
        False,
        {},
    )
    page = admin.get(f"/admin/slack_installs/slackapp/{app.pk}/change/").content.decode()
    assert "This app has no client id and secret yet" in page
    assert f'href="/admin/slack_installs/slackapp/{app.pk}/manifest/"' in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"manifest_extra": '{"commands": []}'}, "manifest_extra", "no top-level key “commands”"),
        ({"manifest_extra": "[1, 2]"}, "manifest_extra", "Enter a JSON object"),
        (
            {
                "manifest_extra": '{"settings": {"interactivity": {"request_url": "http://x.example/"}}}'
            },
            "manifest_extra",
            "https://",
        ),
        ({"redirect_uri": "http://example.com/cb/"}, "redirect_uri", "https://"),
        ({"name": "An app name far longer than Slack takes"}, "name", "35 characters"),
    ],
)
def test_what_slack_would_refuse_is_a_form_error(admin, fields, field, message):
    response = admin.post(ADD, app_form(**fields))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not SlackApp.objects.exists()


def test_the_sites_own_http_address_is_no_form_error(admin):
    # http://testserver is the deployment's to fix: the Manifest page says so, the form saves.
    assert admin.post(ADD, app_form()).status_code == 302


# --- The Manifest and Compare pages -------------------------------------------------------


def manifest_url(app):
    return f"/admin/slack_installs/slackapp/{app.pk}/manifest/"


def test_the_manifest_page_shows_the_json_a_download_and_slacks_create_link(
    admin, new_app, base_url
):
    response = admin.get(manifest_url(new_app))
    assert response.status_code == 200
    html = response.content.decode()
    manifest = manifests.build_manifest(new_app)
    assert response.context["manifest_json"] == manifests.manifest_json(manifest)
    assert "&quot;redirect_urls&quot;" in html
    assert 'id="slack-manifest-copy"' in html and "hidden" in html
    assert "slack_installs/admin/manifest.js" in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert response.context["create_app_link"] == manifests.create_app_link(manifest)
    assert 'name="operation" value="create"' in html
    assert "No app configuration token is stored" in html
    download = admin.get(manifest_url(new_app) + "?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="standup-manifest.json"'
    assert json.loads(download.content) == manifest


def test_the_manifest_page_says_what_slack_would_refuse(admin, new_app):
    html = admin.get(manifest_url(new_app)).content.decode()  # http://testserver
    assert "Slack would refuse this manifest" in html
    assert "/settings/event_subscriptions/request_url" in html


def test_create_on_slack_from_the_manifest_page(admin, on_fake, fake_slack):
    response = admin.post(manifest_url(on_fake), {"operation": "create"}, follow=True)
    assert response.status_code == 200
    app = SlackApp.objects.get(pk=on_fake.pk)
    assert app.has_credentials and app.app_id.startswith("A0")
    known = fake_slack.app(app.client_id)
    html = response.content.decode()
    assert f"was created on Slack (app id {app.app_id})" in html
    assert known.client_secret not in html and known.signing_secret not in html
    assert 'name="operation" value="push"' in html
    assert "Created on Slack from its manifest" in str(
        admin.get(f"/admin/slack_installs/slackapp/{app.pk}/history/").content
    )


def test_slacks_invalid_manifest_pointers_are_shown_by_their_field(admin, on_fake, fake_slack):
    # Our checks pass it; the fake Slack, like Slack, wants a slash command to start with /.
    SlackApp.objects.filter(pk=on_fake.pk).update(
        manifest_extra={"features": {"slash_commands": [{"command": "standup"}]}}
    )
    response = admin.post(manifest_url(on_fake), {"operation": "create"})
    assert response.status_code == 200
    [error] = response.context["slack_errors"]
    assert error["pointer"] == "/features/slash_commands/0/command"
    assert error["field"] == "manifest_extra"
    html = response.content.decode()
    assert "A slash command starts with / and has at most 32 characters" in html
    assert f'href="/admin/slack_installs/slackapp/{on_fake.pk}/change/#id_manifest_extra"' in html
    assert "more of the manifest" in html
    assert SlackApp.objects.get(pk=on_fake.pk).client_id is None


def test_every_failure_is_a_message(admin, new_app, base_url, fake_slack):
    response = admin.post(manifest_url(new_app), {"operation": "create"}, follow=True)
    assert "No app configuration token is stored" in response.content.decode()
    issued = fake_slack.issue_configuration_token()
    ConfigurationToken.objects.create(
        team_id="T0ACME0001", access_token=issued.token, expires_at=timezone.now()
    )
    response = admin.post(manifest_url(new_app), {"operation": "create"}, follow=True)
    assert "has no refresh token" in response.content.decode()
    ConfigurationToken.objects.update(
        access_token=issued.token, expires_at=timezone.now() + datetime.timedelta(hours=5)
    )
    fake_slack.fail_next("apps.manifest.create", status=500)
    response = admin.post(manifest_url(new_app), {"operation": "create"}, follow=True)
    assert "Slack refused (http_error)" in response.content.decode()
    response = admin.post(manifest_url(new_app), {"operation": "push"}, follow=True)
    assert "is not on Slack yet" in response.content.decode()
    response = admin.get(f"/admin/slack_installs/slackapp/{new_app.pk}/compare/", follow=True)
    assert "is not on Slack yet" in response.content.decode()
    assert SlackApp.objects.get(pk=new_app.pk).client_id is None


def test_the_actions_create_push_and_compare(admin, on_fake, fake_slack):
    changelist = "/admin/slack_installs/slackapp/"
    response = admin.post(
        changelist, {"action": "create_on_slack", "_selected_action": [on_fake.pk]}, follow=True
    )
    assert "was created on Slack" in response.content.decode()
    app = SlackApp.objects.get(pk=on_fake.pk)
    SlackApp.objects.filter(pk=app.pk).update(bot_scopes="chat:write,users:read")
    compare = admin.post(changelist, {"action": "compare_with_slack", "_selected_action": [app.pk]})
    assert compare["Location"] == f"/admin/slack_installs/slackapp/{app.pk}/compare/"
    page = admin.get(compare["Location"])
    assert [row["pointer"] for row in page.context["differences"]] == ["/oauth_config/scopes/bot"]
    assert page.context["differences"][0]["field_label"] == "bot scopes"
    pushed = admin.post(
        changelist, {"action": "push_to_slack", "_selected_action": [app.pk]}, follow=True
    )
    html = pushed.content.decode()
    assert "Slack took the manifest" in html and "The scopes of" in html
    assert "No drift" in admin.get(compare["Location"]).content.decode()
    other = SlackApp.objects.create(name="Other", slug="other")
    both = admin.post(
        changelist,
        {"action": "compare_with_slack", "_selected_action": [app.pk, other.pk]},
        follow=True,
    ).content.decode()
    assert "matches Slack&#x27;s copy" in both and "is not on Slack yet" in both


def test_staff_who_may_only_view_see_the_manifest_and_cannot_create(client, new_app, base_url):
    client.force_login(staff_user("viewer", "view_slackapp"))
    response = client.get(manifest_url(new_app))
    assert response.status_code == 200
    assert 'name="operation"' not in response.content.decode()
    assert client.post(manifest_url(new_app), {"operation": "create"}).status_code == 403
    client.force_login(staff_user("nobody"))
    assert client.get(manifest_url(new_app)).status_code == 403


# --- The configuration token admin -------------------------------------------------------


def test_configuration_tokens_are_write_only_in_the_admin(admin):
    add = "/admin/slack_installs/configurationtoken/add/"
    refused = admin.post(
        add, {"team_id": "T0ACME0001", "access_token": "xoxb-not-one", "refresh_token": ""}
    )
    assert "This is not a configuration token" in refused.content.decode()
    assert refused.wsgi_request.sensitive_post_parameters == ("access_token", "refresh_token")
    assert "xoxb-not-one" not in refused.content.decode()
    response = admin.post(
        add,
        {"team_id": "T0ACME0001", "access_token": CONFIG_TOKEN, "refresh_token": CONFIG_REFRESH},
    )
    assert response.status_code == 302
    token = ConfigurationToken.objects.get()
    access_raw, refresh_raw = raw_columns(
        ConfigurationToken, token.pk, "access_token", "refresh_token"
    )
    assert access_raw.startswith("f1:k1:") and refresh_raw.startswith("f1:k1:")
    change = f"/admin/slack_installs/configurationtoken/{token.pk}/change/"
    html = admin.get(change).content.decode()
    assert CONFIG_TOKEN not in html and CONFIG_REFRESH not in html and "f1:k1:" not in html
    assert (
        admin.post(
            change, {"team_id": "T0ACME0001", "access_token": "", "refresh_token": ""}
        ).status_code
        == 302
    )
    assert ConfigurationToken.objects.get().access_token == CONFIG_TOKEN  # blank kept it
    listing = admin.get("/admin/slack_installs/configurationtoken/").content.decode()
    assert "set, ends in …9901" in listing and CONFIG_TOKEN not in listing


def test_rotate_now_in_the_admin(admin, fake_slack):
    issued = fake_slack.issue_configuration_token()
    token = ConfigurationToken.objects.create(
        team_id="T0ACME0001", access_token=issued.token, refresh_token=issued.refresh_token
    )
    response = admin.post(
        "/admin/slack_installs/configurationtoken/",
        {"action": "rotate_now", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "was rotated" in response.content.decode()
    assert ConfigurationToken.objects.get().access_token != issued.token
    again = admin.post(
        "/admin/slack_installs/configurationtoken/",
        {"action": "rotate_now", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "was rotated" in again.content.decode()
    assert len(fake_slack.calls_to("tooling.tokens.rotate")) == 2


# --- manage.py slack_installs_manifest ----------------------------------------------------


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("slack_installs_manifest", *args, stdout=out, stderr=err)
    except SystemExit as exc:  # pragma: no cover - call_command raises CommandError instead
        return exc.code, out.getvalue()
    except Exception as exc:  # noqa: BLE001
        return getattr(exc, "returncode", None), out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_the_command_prints_checks_and_pushes(on_fake, fake_slack):
    code, out = run("standup")
    assert code == 0 and json.loads(out) == manifests.build_manifest(on_fake)
    code, out = run("standup", "--base-url", "https://other.example.com")
    assert code == 0 and "https://other.example.com/slack/standup/events/" in out
    code, out = run("standup", "--check")
    assert code == 2 and "is not on Slack yet" in out
    created = manifests.create_on_slack(on_fake)
    assert run("standup", "--check") == (0, "standup: Slack's copy matches the manifest.\n")
    SlackApp.objects.filter(pk=created.pk).update(bot_scopes="chat:write")
    code, out = run("standup", "--check")
    assert code == 1
    assert (
        '/oauth_config/scopes/bot: ours ["chat:write"], Slack\'s ["chat:write", "commands"]' in out
    )
    assert "differs in 1 places" in out
    code, out = run("standup", "--push")
    assert code == 0 and "Slack took the manifest of standup" in out and "scopes changed" in out
    assert run("standup", "--check")[0] == 0
    SlackApp.objects.filter(pk=created.pk).update(
        manifest_extra={"features": {"slash_commands": [{"command": "bad"}]}}
    )
    code, out = run("standup", "--push")
    assert code == 2 and "/features/slash_commands/0/command: A slash command" in out
    assert run("nope")[0] == 2


def test_the_command_needs_a_base_url(new_app, settings):
    code, out = run("standup")
    assert code == 2 and "REDIRECT_BASE_URL" in out


# --- The demo ---------------------------------------------------------------------------


def test_the_demo_prints_a_configuration_token_of_its_fake_slack(fake_slack):
    from tests.test_demo import demo

    lines = demo.configuration_token_lines(fake_slack)
    text = "\n".join(lines)
    [token] = fake_slack.configuration_tokens(kind="access")
    [refresh] = fake_slack.configuration_tokens(kind="refresh")
    assert token.value in text and refresh.value in text and "T0ACME0001" in text
    assert client.apps_manifest_validate(
        token.value, manifest={"display_information": {"name": "X"}}
    ) == {"ok": True}


def test_the_fakeslack_command_prints_a_configuration_token(fake_slack):
    from slack_installs.management.commands.slack_installs_fakeslack import Command

    out = io.StringIO()
    Command(stdout=out)._announce(fake_slack, 0, True)
    [token] = re.findall(r"  token: +(xoxe\.xoxp-\S+)", out.getvalue())
    assert client.apps_manifest_validate(
        token, manifest={"display_information": {"name": "X"}}
    ) == {"ok": True}
