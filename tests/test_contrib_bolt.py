"""slack_installs.contrib.bolt: slack_sdk's store contract over our models, and Bolt on top.

The store tests follow the shape of slack_sdk's own store tests: save an
installation and a bot, find them by enterprise / team / user, org-wide
installs, the latest bot kept on user lookups, deletes, token rotation.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store import Installation as SdkInstallation
from slack_sdk.oauth.token_rotation import TokenRotator

from slack_installs import signals
from slack_installs.contrib.bolt import DjangoInstallationStore, DjangoOAuthStateStore
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from slack_installs.oauth import digest
from slack_installs.testing import signature
from tests.databases import HAS_ROW_LOCKS, ROW_LOCKS_REASON
from tests.installs import install_through_fake

pytestmark = pytest.mark.django_db

BOT_A = "xoxb-canary-bolt-bot-a-7777"
BOT_B = "xoxb-canary-bolt-bot-b-8888"
USER_1 = "xoxp-canary-bolt-user-1-9999"
USER_2 = "xoxp-canary-bolt-user-2-0000"
WEBHOOK = "https://hooks.slack.com/services/T111/B111/canarybolthook"
SIGNING_SECRET = "canary-signing-secret-6666"  # the slack_app fixture's
BOLT_URL = "/slack/bolt/acme/events/"  # the demo's Bolt endpoint of the slack_app fixture


@pytest.fixture
def store(slack_app):
    return DjangoInstallationStore(app="acme")


def sdk_installation(**overrides) -> SdkInstallation:
    values = {
        "app_id": "A111",
        "enterprise_id": "E111",
        "team_id": "T111",
        "team_name": "Acme",
        "bot_token": BOT_A,
        "bot_id": "B111",
        "bot_user_id": "UB111",
        "bot_scopes": ["chat:write", "commands"],
        "user_id": "U111",
        "user_token": USER_1,
        "user_scopes": ["search:read"],
        "incoming_webhook_url": WEBHOOK,
        "incoming_webhook_channel": "#general",
        "installed_at": time.time() - 100,
    }
    values.update(overrides)
    return SdkInstallation(**values)


def raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def assert_no_plaintext(*secrets: str) -> None:
    dump = repr(raw_rows("slack_installs_installation") + raw_rows("slack_installs_usertoken"))
    dump += repr(raw_rows("slack_installs_oauthattempt"))
    for secret in secrets:
        assert secret not in dump


# --- saving and finding ----------------------------------------------------------------


def test_save_and_find_installation_and_bot(store):
    store.save(sdk_installation())

    row = Installation.objects.get()
    assert (row.enterprise_id, row.team_id, row.installer_user_id) == ("E111", "T111", "U111")
    raw_bot, raw_hook = Installation.objects.values_list("bot_token", "incoming_webhook_url").get()
    assert raw_bot.startswith("f1:") and raw_hook.startswith("f1:")
    assert UserToken.objects.values_list("access_token", flat=True).get().startswith("f1:")
    assert_no_plaintext(BOT_A, USER_1, WEBHOOK)

    bot = store.find_bot(enterprise_id="E111", team_id="T111")
    assert isinstance(bot, Bot)
    assert (bot.bot_token, bot.bot_id, bot.bot_user_id) == (BOT_A, "B111", "UB111")
    assert bot.bot_scopes == ["chat:write", "commands"]
    assert store.find_bot(enterprise_id="E111", team_id="T222") is None
    # Team ids are unique across Slack: the workspace alone names it, as for get_bot_token.
    assert store.find_bot(enterprise_id=None, team_id="T111").bot_token == BOT_A

    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert (found.user_id, found.user_token, found.bot_token) == ("U111", USER_1, BOT_A)
    assert found.user_scopes == ["search:read"]
    assert found.incoming_webhook_url == WEBHOOK
    assert found.team_name == "Acme" and found.is_enterprise_install is False
    assert isinstance(found.installed_at, float)

    by_user = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert by_user.user_token == USER_1
    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U222") is None
    assert store.find_installation(enterprise_id="E111", team_id="T222") is None


def test_workspace_without_enterprise(store):
    store.save(sdk_installation(enterprise_id=None))
    assert Installation.objects.get().enterprise_id == ""
    found = store.find_installation(enterprise_id=None, team_id="T111")
    assert found.enterprise_id is None and found.bot_token == BOT_A
    assert store.find_installation(enterprise_id="E111", team_id="T111") is None


def test_expiry_is_epoch_seconds(store):
    expires = int(time.time()) + 3600
    store.save(
        sdk_installation(
            bot_refresh_token="xoxe-1-bot-refresh",
            bot_token_expires_at=expires,
            user_refresh_token="xoxe-1-user-refresh",
            user_token_expires_at=expires + 10,
        )
    )
    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert found.bot_token_expires_at == expires
    assert found.user_token_expires_at == expires + 10
    assert isinstance(found.bot_token_expires_at, int)
    assert found.bot_refresh_token == "xoxe-1-bot-refresh"
    assert store.find_bot(enterprise_id="E111", team_id="T111").bot_token_expires_at == expires
    row = Installation.objects.get()
    assert int(row.bot_token_expires_at.timestamp()) == expires


def test_org_wide_installation(store):
    store.save(
        sdk_installation(
            team_id=None, team_name=None, is_enterprise_install=True, bot_user_id="W111"
        )
    )
    row = Installation.objects.get()
    assert (row.enterprise_id, row.team_id, row.is_enterprise_install) == ("E111", "", True)

    bot = store.find_bot(enterprise_id="E111", team_id=None, is_enterprise_install=True)
    assert bot.bot_token == BOT_A and bot.is_enterprise_install is True
    # Events from a workspace of the org carry its team id; Bolt says it is org-wide.
    found = store.find_installation(
        enterprise_id="E111", team_id="T999", is_enterprise_install=True
    )
    assert found.bot_token == BOT_A and found.team_id is None
    assert found.user_token == USER_1
    # Without the org-wide flag (Slack leaves it false on some events, bolt-js#1778) the
    # org-wide install still serves the workspaces of its org, as get_bot_token's does.
    assert store.find_installation(enterprise_id="E111", team_id="T999").bot_token == BOT_A
    assert store.find_installation(enterprise_id="E222", team_id="T999") is None
    # Without the org's id it serves only the workspaces it was granted.
    assert store.find_bot(enterprise_id=None, team_id="T999") is None


def test_org_wide_install_saved_with_a_team_id_is_still_found(store):
    # python-slack-sdk#1639: an org-wide install must not be keyed by a team.
    store.save(sdk_installation(team_id="T111", is_enterprise_install=True))
    assert Installation.objects.get().team_id == ""
    assert store.find_bot(enterprise_id="E111", team_id=None).bot_token == BOT_A


def test_user_lookup_keeps_the_latest_bot(store):
    first = time.time() - 300
    store.save(sdk_installation(installed_at=first))
    # Another user authorizes user scopes only, later.
    store.save(
        sdk_installation(
            bot_token=None,
            bot_id=None,
            bot_user_id=None,
            bot_scopes="",
            user_id="U222",
            user_token=USER_2,
            incoming_webhook_url=None,
            installed_at=first + 100,
        )
    )
    latest = store.find_installation(enterprise_id="E111", team_id="T111")
    assert (latest.user_id, latest.user_token, latest.bot_token) == ("U222", USER_2, BOT_A)
    earlier = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert (earlier.user_token, earlier.bot_token) == (USER_1, BOT_A)

    # A re-install with a new bot token: every user lookup gets the new bot.
    store.save(
        sdk_installation(bot_token=BOT_B, user_id="U333", user_token=None, installed_at=first + 200)
    )
    for user in ("U111", "U222"):
        found = store.find_installation(enterprise_id="E111", team_id="T111", user_id=user)
        assert found.bot_token == BOT_B
    assert store.find_installation(enterprise_id="E111", team_id="T111").user_id == "U333"
    assert Installation.objects.count() == 1 and UserToken.objects.count() == 2


def test_rotated_copy_keeps_the_installer_and_an_older_copy_keeps_the_bot(store):
    first = time.time() - 300
    store.save(sdk_installation(installed_at=first))
    store.save(sdk_installation(user_id="U222", user_token=USER_2, installed_at=first + 100))
    copy = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    copy.user_token = "xoxp-canary-rotated-user-1"
    store.save(copy)  # what Bolt does after rotating U111's token
    assert Installation.objects.get().installer_user_id == "U222"
    assert UserToken.objects.get(slack_user_id="U111").access_token == "xoxp-canary-rotated-user-1"

    stale = sdk_installation(bot_token="xoxb-canary-stale", installed_at=first)
    store.save(stale)
    assert Installation.objects.get().bot_token == BOT_A
    store.save_bot(stale.to_bot())
    assert Installation.objects.get().bot_token == BOT_A


def test_save_bot_creates_and_updates(store):
    now = time.time()
    bot = Bot(
        enterprise_id=None,
        team_id="T555",
        team_name="Bots",
        bot_token=BOT_A,
        bot_id="B5",
        bot_user_id="U5",
        bot_scopes="chat:write",
        installed_at=now,
    )
    store.save_bot(bot)
    assert store.find_bot(enterprise_id=None, team_id="T555").bot_token == BOT_A
    bot.bot_token = BOT_B
    store.save_bot(bot)
    row = Installation.objects.get()
    assert row.bot_token == BOT_B and row.team_name == "Bots"
    assert Installation.objects.values_list("bot_token", flat=True).get().startswith("f1:")


def test_save_needs_a_team_or_an_enterprise(store):
    with pytest.raises(ValueError, match="team_id or an enterprise_id"):
        store.save(sdk_installation(enterprise_id=None, team_id=None))
    with pytest.raises(ValueError, match="not a Slack team or enterprise id"):
        store.save(sdk_installation(team_id="T" * 40))
    assert not Installation.objects.exists()


def test_unknown_app(db):
    store = DjangoInstallationStore(app="nope")
    assert store.find_installation(enterprise_id=None, team_id="T111") is None
    assert store.find_bot(enterprise_id=None, team_id="T111") is None
    with pytest.raises(SlackApp.DoesNotExist, match="nope"):
        store.save(sdk_installation())


def test_stores_of_two_apps_do_not_see_each_other(store):
    SlackApp.objects.create(name="Other", slug="other", client_id="999.1", client_secret="x")
    other = DjangoInstallationStore(app="other")
    store.save(sdk_installation())
    assert other.find_installation(enterprise_id="E111", team_id="T111") is None
    other.save(sdk_installation(bot_token=BOT_B))
    assert store.find_bot(enterprise_id="E111", team_id="T111").bot_token == BOT_A
    assert other.find_bot(enterprise_id="E111", team_id="T111").bot_token == BOT_B


def test_revoked_installation_is_not_found_and_a_new_install_revives_it(store):
    store.save(sdk_installation())
    Installation.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert store.find_installation(enterprise_id="E111", team_id="T111") is None
    assert store.find_bot(enterprise_id="E111", team_id="T111") is None
    store.save(sdk_installation(bot_token=BOT_B, installed_at=time.time()))
    assert Installation.objects.get().revoked_at is None
    assert store.find_bot(enterprise_id="E111", team_id="T111").bot_token == BOT_B


# --- deleting -------------------------------------------------------------------------


def test_delete_installation_by_user(store):
    first = time.time() - 300
    store.save(sdk_installation(installed_at=first))
    store.save(sdk_installation(user_id="U222", user_token=USER_2, installed_at=first + 10))

    store.delete_installation(enterprise_id="E111", team_id="T111", user_id="U111")

    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111") is None
    kept = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U222")
    assert (kept.user_token, kept.bot_token) == (USER_2, BOT_A)
    gone = UserToken.objects.get(slack_user_id="U111")
    assert gone.revoked_at is not None and gone.access_token is None
    assert UserToken.objects.get(slack_user_id="U222").revoked_at is None


def test_deleted_installer_keeps_the_bot_for_others(store):
    store.save(sdk_installation())
    store.delete_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert found.user_token is None and found.bot_token == BOT_A


def test_delete_installation_by_team(store):
    store.save(sdk_installation())
    store.save(sdk_installation(team_id="T222"))
    store.delete_installation(enterprise_id="E111", team_id="T111")

    assert UserToken.objects.get(installation__team_id="T111").revoked_at is not None
    assert UserToken.objects.get(installation__team_id="T222").revoked_at is None
    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert found.user_token is None and found.incoming_webhook_url is None
    assert found.bot_token == BOT_A  # the bot is delete_bot's business


def test_delete_bot(store):
    store.save(sdk_installation())
    store.delete_bot(enterprise_id="E111", team_id="T111")
    assert store.find_bot(enterprise_id="E111", team_id="T111") is None
    assert Installation.objects.values_list("bot_token", flat=True).get() is None
    assert store.find_installation(enterprise_id="E111", team_id="T111").user_token == USER_1


def test_delete_all(store):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.installation_revoked.connect(receiver)
    try:
        store.save(sdk_installation())
        store.save(sdk_installation(team_id="T222"))
        store.delete_all(enterprise_id="E111", team_id="T111")
        store.delete_all(enterprise_id="E111", team_id="T111")  # idempotent
    finally:
        signals.installation_revoked.disconnect(receiver)

    assert store.find_installation(enterprise_id="E111", team_id="T111") is None
    assert store.find_bot(enterprise_id="E111", team_id="T111") is None
    revoked = Installation.objects.get(team_id="T111")
    assert revoked.revoked_at is not None
    assert Installation.objects.filter(team_id="T111").values_list(
        "bot_token", "incoming_webhook_url"
    ).get() == (None, None)
    assert UserToken.objects.filter(installation=revoked, access_token__isnull=True).count() == 1
    assert store.find_bot(enterprise_id="E111", team_id="T222").bot_token == BOT_A
    assert [(kw["installation"].pk, kw["reason"]) for kw in received] == [
        (revoked.pk, "app_uninstalled")
    ]


def test_delete_all_of_an_org_wide_install(store):
    store.save(sdk_installation(team_id=None, is_enterprise_install=True))
    store.delete_all(enterprise_id="E111", team_id=None)
    assert Installation.objects.get().revoked_at is not None
    assert store.find_bot(enterprise_id="E111", team_id=None, is_enterprise_install=True) is None


# --- token rotation ---------------------------------------------------------------------


def test_token_rotator_results_are_saved_encrypted(store, slack_app, fake_slack):
    # slack_sdk's WebClient speaks urllib, which responses cannot intercept: the fake
    # Slack on loopback issues real rotating tokens and refreshes them.
    fake_slack.register_slack_app(slack_app, token_rotation=True)
    issued = fake_slack.install(
        slack_app.client_id, bot_scopes=("chat:write", "commands"), user_scopes=("search:read",)
    )
    old_refresh = [issued["refresh_token"], issued["authed_user"]["refresh_token"]]
    soon = int(time.time()) + 60
    store.save(
        sdk_installation(
            bot_token=issued["access_token"],
            bot_refresh_token=old_refresh[0],
            bot_token_expires_at=soon,
            user_token=issued["authed_user"]["access_token"],
            user_refresh_token=old_refresh[1],
            user_token_expires_at=soon,
        )
    )
    rotator = TokenRotator(
        client_id=slack_app.client_id,
        client_secret=slack_app.client_secret,
        client=WebClient(base_url=f"{fake_slack.api_url}/"),
    )
    current = store.find_installation(enterprise_id="E111", team_id="T111")
    refreshed = rotator.perform_token_rotation(installation=current)
    assert refreshed is not None
    store.save(refreshed)

    sent = [call.params["refresh_token"] for call in fake_slack.calls_to("oauth.v2.access")]
    assert sent == old_refresh
    new_bot = fake_slack.tokens(kind="bot")[-1]
    new_user = fake_slack.tokens(kind="user")[-1]
    new_refresh = {t.refreshes: t.value for t in fake_slack.tokens(kind="refresh", active=True)}
    assert new_bot.value != issued["access_token"]
    assert new_user.value != issued["authed_user"]["access_token"]
    raw = Installation.objects.values_list("bot_token", "bot_refresh_token").get()
    raw_user = UserToken.objects.values_list("access_token", "refresh_token").get()
    assert all(value.startswith("f1:") for value in raw + raw_user)
    assert_no_plaintext(new_bot.value, new_user.value, new_refresh["bot"], new_refresh["user"])
    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert found.bot_token == new_bot.value
    assert found.user_token == new_user.value
    assert found.bot_refresh_token == new_refresh["bot"]
    assert found.user_refresh_token == new_refresh["user"]
    assert found.bot_token_expires_at >= int(time.time()) + 43000
    assert Installation.objects.count() == 1 and UserToken.objects.count() == 1
    assert Installation.objects.get().installer_user_id == "U111"


# --- the state store ---------------------------------------------------------------------


def test_state_store_issue_and_consume_once(slack_app, settings):
    states = DjangoOAuthStateStore(app="acme")
    state = states.issue()
    attempt = OAuthAttempt.objects.get()
    assert attempt.state_digest == digest(state)
    assert attempt.browser_digest == "" and attempt.status == "pending"
    assert state not in repr(raw_rows("slack_installs_oauthattempt"))
    ttl = (attempt.expires_at - attempt.created_at).total_seconds()
    assert ttl == 600

    assert states.consume(state) is True
    assert OAuthAttempt.objects.get().consumed_at is not None
    assert states.consume(state) is False
    assert OAuthAttempt.objects.get().error == "invalid_state"


def test_state_store_expiry(slack_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "STATE_TTL": 30}
    state = DjangoOAuthStateStore(app="acme").issue()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.expires_at - attempt.created_at).total_seconds() == 30

    short = DjangoOAuthStateStore(app="acme", expiration_seconds=5)
    other_state = short.issue()
    second = OAuthAttempt.objects.get(state_digest=digest(other_state))
    assert (second.expires_at - second.created_at).total_seconds() == 5

    OAuthAttempt.objects.update(expires_at=attempt.created_at)  # both now expired
    assert short.consume(state) is False
    assert short.consume(other_state) is False
    assert set(OAuthAttempt.objects.values_list("status", flat=True)) == {"failed"}


def test_state_store_refuses_unknown_and_other_apps_states(slack_app):
    SlackApp.objects.create(name="Other", slug="other", client_id="999.1", client_secret="x")
    state = DjangoOAuthStateStore(app="other").issue()
    acme = DjangoOAuthStateStore(app="acme")
    assert acme.consume(state) is False
    assert acme.consume("forged-state") is False
    assert acme.consume("") is False
    assert acme.consume("x" * 5000) is False
    # One rule with the native callback: a state shown where it does not belong has leaked,
    # so its attempt is burned and cannot be raced.
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error) == ("failed", "invalid_state")
    assert DjangoOAuthStateStore(app="other").consume(state) is False


def test_state_store_refuses_the_native_views_states(client, slack_app):
    """A state of our install view is bound to a browser: Bolt's store must not claim it."""
    response = client.get("/slack/acme/install/")
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    assert DjangoOAuthStateStore(app="acme").consume(state) is False
    attempt = OAuthAttempt.objects.get()
    assert (attempt.status, attempt.error, attempt.consumed_at) == ("failed", "invalid_state", None)


def test_the_native_callback_refuses_the_stores_states(client, slack_app, mocked_slack):
    """A state of Bolt's store is bound to no browser: our callback must not claim it, even
    in a browser that has our cookie."""
    client.get("/slack/acme/install/")  # this browser now holds a binding cookie
    state = DjangoOAuthStateStore(app="acme").issue()
    response = client.get("/slack/acme/oauth/callback/", {"code": "c", "state": state})
    assert response.status_code == 400
    assert len(mocked_slack.calls) == 0
    issued = OAuthAttempt.objects.get(state_digest=digest(state))
    assert (issued.status, issued.error, issued.consumed_at) == ("failed", "invalid_state", None)


def test_state_store_refuses_a_sign_in_state(slack_app):
    store = DjangoOAuthStateStore(app="acme")
    state = store.issue()
    OAuthAttempt.objects.update(kind=OAuthAttempt.Kind.SIGN_IN)
    assert store.consume(state) is False
    assert OAuthAttempt.objects.get().status == "failed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_consumes_of_one_state_succeed_once(slack_app):
    if not HAS_ROW_LOCKS:
        pytest.skip(ROW_LOCKS_REASON)
    state = DjangoOAuthStateStore(app="acme").issue()
    barrier = threading.Barrier(6)
    results = []

    def consume():
        try:
            barrier.wait()
            results.append(DjangoOAuthStateStore(app="acme").consume(state))
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


# --- Bolt on top ---------------------------------------------------------------------------


def install_through_our_views(
    client, fake_slack, slack_app, *, token_rotation: bool = False
) -> Installation:
    """Install ``slack_app`` in the fake Slack's first workspace (Acme) through our views."""
    fake_slack.register_slack_app(slack_app, token_rotation=token_rotation)
    assert install_through_fake(client, fake_slack, slack_app).status_code == 302
    return Installation.objects.get()


def signed_headers(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": str(timestamp),
        "HTTP_X_SLACK_SIGNATURE": signature(secret, timestamp, body.encode()),
    }


def post_signed(client, url, body, *, secret=SIGNING_SECRET, timestamp=None, form=True):
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    headers = signed_headers(body, secret, timestamp)
    return client.post(url, body, content_type=content_type, **headers)


def slash_command(
    team_id: str = "T0ACME0001", user_id: str = "U0001", response_url: str = "http://127.0.0.1:9/"
) -> str:
    """A ``/hello`` slash command; the default team is the fake Slack's Acme workspace."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "acme",
            "channel_id": "C0001",
            "user_id": user_id,
            "command": "/hello",
            "text": "",
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def auth_tests_since(fake_slack, seen: int) -> list[str | None]:
    """The tokens of the ``auth.test`` calls after the first ``seen`` (our callback's)."""
    return [call.token for call in fake_slack.calls_to("auth.test")[seen:]]


def test_demo_bolt_app_answers_a_slash_command_for_an_install_made_by_our_views(
    client, slack_app, fake_slack
):
    install_through_our_views(client, fake_slack, slack_app)
    seen = len(fake_slack.calls_to("auth.test"))
    [bot] = fake_slack.tokens(kind="bot")

    response = post_signed(client, BOLT_URL, slash_command())

    assert response.status_code == 200, response.content
    answer = f"Hello <@U0001>! <@{bot.user_id}> answers from Django."
    assert answer.encode() in response.content
    # Bolt authorized with the bot token it read (decrypted) from our installation.
    assert auth_tests_since(fake_slack, seen) == [bot.value]


def test_demo_bolt_app_refuses_a_bad_signature_and_unknown_workspaces(
    client, slack_app, fake_slack
):
    install_through_our_views(client, fake_slack, slack_app)
    seen = len(fake_slack.calls_to("auth.test"))
    body = slash_command()

    forged = post_signed(client, BOLT_URL, body, secret="not-the-signing-secret")
    assert forged.status_code == 401
    stale = post_signed(client, BOLT_URL, body, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401
    assert auth_tests_since(fake_slack, seen) == []

    elsewhere = slash_command(team_id="T0OTHER", response_url=f"{fake_slack.api_url}/respond")
    response = post_signed(client, BOLT_URL, elsewhere)
    # No installation for this workspace: Bolt answers "please install" through the
    # response_url and never runs the command.
    assert response.status_code == 200
    assert b"Hello" not in response.content
    assert auth_tests_since(fake_slack, seen) == []
    assert len(fake_slack.calls_to("respond")) == 1  # Bolt's "please install this app" note


def test_demo_bolt_endpoint_for_unknown_or_unsigned_apps_is_404(client, slack_app):
    assert (
        client.post("/slack/bolt/nope/events/", "x=1", content_type="text/plain").status_code == 404
    )
    SlackApp.objects.filter(pk=slack_app.pk).update(signing_secret=None)
    assert client.post(BOLT_URL, "x=1", content_type="text/plain").status_code == 404
    assert client.get(BOLT_URL).status_code == 405


def test_bolt_app_uninstall_event_revokes_our_installation(client, slack_app, fake_slack):
    slack_app.user_scopes = "search:read"
    slack_app.save()
    installation = install_through_our_views(client, fake_slack, slack_app)
    assert UserToken.objects.get().revoked_at is None
    event = fake_slack.event_callback(slack_app.client_id, None, {"type": "app_uninstalled"})

    response = post_signed(client, BOLT_URL, json.dumps(event), form=False)

    assert response.status_code == 200
    installation.refresh_from_db()
    assert installation.revoked_at is not None and installation.bot_token is None
    assert UserToken.objects.get().revoked_at is not None


def test_bolt_refreshes_a_rotating_token_and_saves_it_encrypted(client, slack_app, fake_slack):
    installed = install_through_our_views(client, fake_slack, slack_app, token_rotation=True)
    Installation.objects.update(bot_token_expires_at="2020-01-01T00:00:00Z")
    seen = len(fake_slack.calls_to("auth.test"))

    response = post_signed(client, BOLT_URL, slash_command())

    assert response.status_code == 200, response.content
    refreshes = [
        call.params.get("refresh_token")
        for call in fake_slack.calls_to("oauth.v2.access")
        if call.params.get("grant_type") == "refresh_token"
    ]
    assert refreshes == [installed.bot_refresh_token]
    new_bot = fake_slack.tokens(kind="bot")[-1]
    [new_refresh] = fake_slack.tokens(kind="refresh", active=True)
    assert new_bot.value != installed.bot_token
    assert auth_tests_since(fake_slack, seen) == [new_bot.value]
    raw_token, raw_refresh = Installation.objects.values_list(
        "bot_token", "bot_refresh_token"
    ).get()
    assert raw_token.startswith("f1:") and raw_refresh.startswith("f1:")
    assert_no_plaintext(new_bot.value, new_refresh.value)
    installation = Installation.objects.get()
    assert installation.bot_token == new_bot.value
    assert installation.bot_refresh_token == new_refresh.value


def bolt_oauth_flow(slack_app, fake_slack, **consent):
    """Bolt's own install and callback on our stores; return the callback and its state."""
    fake_slack.register_slack_app(slack_app)
    store = DjangoInstallationStore(app="acme")
    bolt = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(base_url=f"{fake_slack.api_url}/"),
        installation_store=store,
        oauth_settings=OAuthSettings(
            client_id=slack_app.client_id,
            client_secret=slack_app.client_secret,
            scopes=["chat:write", "commands", "incoming-webhook"],
            user_scopes=["search:read"],
            redirect_uri="https://bolt.example/slack/oauth_redirect",
            installation_store=store,
            state_store=DjangoOAuthStateStore(app="acme"),
            authorization_url=f"{fake_slack.url}/oauth/v2/authorize",
            install_page_rendering_enabled=False,  # a 302 to Slack, not a page with a link
        ),
    )

    started = bolt.oauth_flow.handle_installation(BoltRequest(body="", query="", headers={}))
    cookie = started.headers["set-cookie"][0].split(";")[0]
    state = cookie.split("=", 1)[1]
    assert OAuthAttempt.objects.get().state_digest == digest(state)
    back = parse_qs(urlsplit(fake_slack.consent(started.headers["location"][0], **consent)).query)
    assert back["state"] == [state]
    code = back["code"][0]

    def callback():
        query = urlencode({"code": code, "state": state})
        return bolt.oauth_flow.handle_callback(
            BoltRequest(body="", query=query, headers={"cookie": cookie})
        )

    return callback, code, state


def test_bolts_own_oauth_flow_on_our_stores(slack_app, fake_slack):
    callback, code, state = bolt_oauth_flow(slack_app, fake_slack)
    finished = callback()
    assert finished.status == 200, finished.body
    [bot] = fake_slack.tokens(kind="bot")
    [user] = fake_slack.tokens(kind="user")
    acme = fake_slack.workspace()
    installation = Installation.objects.get()
    assert (installation.team_id, installation.installer_user_id) == (
        acme.team_id,
        acme.installer_id,
    )
    assert installation.bot_id == bot.bot_id  # Bolt asked auth.test with the new token
    assert installation.bot_token == bot.value
    assert UserToken.objects.get().access_token == user.value
    webhook_url = installation.incoming_webhook_url
    assert webhook_url.startswith(f"{fake_slack.url}/services/{acme.team_id}/")
    assert_no_plaintext(bot.value, user.value, webhook_url, state)
    assert [call.params.get("code") for call in fake_slack.calls_to("oauth.v2.access")] == [code]

    replay = callback()
    assert replay.status == 401  # Bolt: invalid_state
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1


def test_bolts_own_org_wide_install_keeps_the_org_url(slack_app, fake_slack):
    callback, _, _ = bolt_oauth_flow(slack_app, fake_slack, workspace="E0GLOBEX01")
    assert callback().status == 200
    installation = Installation.objects.get()
    assert (installation.enterprise_id, installation.team_id) == ("E0GLOBEX01", "")
    # Bolt took it from auth.test's url, as our own callback does.
    assert installation.enterprise_url == "https://globex.enterprise.slack.com/"
    found = DjangoInstallationStore(app="acme").find_installation(
        enterprise_id="E0GLOBEX01", team_id=None, is_enterprise_install=True
    )
    assert found.enterprise_url == "https://globex.enterprise.slack.com/"


# --- enterprise_url and custom_values --------------------------------------------------

ORG_URL = "https://starship.enterprise.slack.com/"


def org_installation(**overrides) -> SdkInstallation:
    values = {
        "team_id": None,
        "team_name": None,
        "is_enterprise_install": True,
        "bot_user_id": "W111",
        "enterprise_url": ORG_URL,
        "custom_values": {"plan": "pro", "channels": ["C1", "C2"]},
    }
    return sdk_installation(**{**values, **overrides})


def test_enterprise_url_and_custom_values_are_stored_and_read_back(store):
    store.save(org_installation())
    row = Installation.objects.get()
    assert row.enterprise_url == ORG_URL
    assert row.custom_values == {"plan": "pro", "channels": ["C1", "C2"]}

    found = store.find_installation(enterprise_id="E111", team_id=None)
    assert found.enterprise_url == ORG_URL
    assert found.custom_values == {"plan": "pro", "channels": ["C1", "C2"]}
    assert found.get_custom_value("plan") == "pro"
    assert found.to_dict()["plan"] == "pro"
    bot = store.find_bot(enterprise_id="E111", team_id=None)
    assert bot.custom_values == {"plan": "pro", "channels": ["C1", "C2"]}

    # A workspace's installation has neither unless it was given them.
    store.save(sdk_installation())
    workspace = store.find_installation(enterprise_id="E111", team_id="T111")
    assert (workspace.enterprise_url, workspace.custom_values) == (None, {})


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/", "not a url", ""])
def test_an_enterprise_url_that_is_not_http_is_dropped(store, url):
    store.save(org_installation(enterprise_url=url))
    assert Installation.objects.get().enterprise_url == ""
    assert store.find_installation(enterprise_id="E111", team_id=None).enterprise_url is None


def test_custom_values_follow_the_rules_of_newer_and_older_saves(store):
    first = time.time() - 300
    store.save(org_installation(installed_at=first))

    # slack_sdk's TokenRotator saves a copy with the same installed_at: values kept.
    copy = store.find_installation(enterprise_id="E111", team_id=None)
    rotated = SdkInstallation(**{**copy.to_dict_for_copying(), "bot_token": BOT_B})
    store.save(rotated)
    row = Installation.objects.get()
    assert row.bot_token == BOT_B
    assert row.custom_values == {"plan": "pro", "channels": ["C1", "C2"]}

    # The app changes them and saves what it read: replaced, a removed key is gone.
    copy = store.find_installation(enterprise_id="E111", team_id=None)
    copy.custom_values = {"plan": "enterprise"}
    store.save(copy)
    assert Installation.objects.get().custom_values == {"plan": "enterprise"}

    # An older copy changes nothing; a new install brings its own values.
    store.save(org_installation(installed_at=first - 100, custom_values={"plan": "old"}))
    assert Installation.objects.get().custom_values == {"plan": "enterprise"}
    store.save(org_installation(installed_at=first + 100, custom_values={}, enterprise_url=None))
    row = Installation.objects.get()
    assert row.custom_values == {}
    assert row.enterprise_url == ORG_URL  # an install that does not know it keeps it


def test_save_bot_stores_custom_values(store):
    store.save(org_installation())
    bot = store.find_bot(enterprise_id="E111", team_id=None)
    bot.set_custom_value("plan", "team")
    store.save_bot(bot)
    assert Installation.objects.get().custom_values == {"plan": "team", "channels": ["C1", "C2"]}


def test_custom_values_that_json_cannot_hold_save_nothing(store):
    with pytest.raises(TypeError):
        store.save(org_installation(custom_values={"when": object()}))
    assert Installation.objects.count() == 0


# --- Installations that stay true ------------------------------------------------------


def test_find_by_workspace_alone_follows_the_org_wide_installs_access(store):
    import datetime

    from slack_installs.models import WorkspaceAccess

    store.save(sdk_installation(team_id=None, team_name=None, is_enterprise_install=True))
    org = Installation.objects.get()
    assert store.find_bot(enterprise_id=None, team_id="T0REACH") is None
    access = WorkspaceAccess.objects.create(
        installation=org, team_id="T0REACH", granted_at=datetime.datetime.now(datetime.UTC)
    )
    bot = store.find_bot(enterprise_id=None, team_id="T0REACH")
    assert bot.bot_token == BOT_A and bot.is_enterprise_install is True
    found = store.find_installation(enterprise_id=None, team_id="T0REACH", user_id="U111")
    assert found.user_token == USER_1 and found.enterprise_id == "E111"

    # A workspace install of its own still wins.
    store.save(sdk_installation(enterprise_id="E111", team_id="T0REACH", bot_token=BOT_B))
    assert store.find_bot(enterprise_id=None, team_id="T0REACH").bot_token == BOT_B
    Installation.objects.filter(team_id="T0REACH").delete()

    access.revoked_at = datetime.datetime.now(datetime.UTC)
    access.save()
    assert store.find_bot(enterprise_id=None, team_id="T0REACH") is None
    assert store.find_installation(enterprise_id=None, team_id="T0REACH") is None


def test_saves_keep_the_scopes_missing_flag(store, slack_app):
    slack_app.bot_scopes = "chat:write,commands,users:read"
    slack_app.user_scopes = "search:read"
    slack_app.save()
    store.save(sdk_installation())  # chat:write,commands and search:read
    assert Installation.objects.values_list("scopes_missing", flat=True).get() is True
    assert Installation.objects.get().missing_bot_scopes == ["users:read"]
    store.save_bot(
        Bot(
            enterprise_id="E111",
            team_id="T111",
            bot_token=BOT_B,
            bot_id="B111",
            bot_user_id="UB111",
            bot_scopes=["chat:write", "commands", "users:read"],
            installed_at=time.time(),
        )
    )
    assert Installation.objects.values_list("scopes_missing", flat=True).get() is False
