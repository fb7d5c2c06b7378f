"""Slack token rotation: refresh on demand, by the command, on rejection, under concurrency."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from io import StringIO
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from slack_installs import tokens
from slack_installs.exceptions import (
    InstallationNotFound,
    InstallationRevoked,
    SlackAPIError,
    TokenRefreshError,
)
from slack_installs.models import Installation, UserToken
from tests import slack_payloads
from tests.databases import HAS_ROW_LOCKS, ROW_LOCKS_REASON
from tests.slack_mocks import ACCESS_URL, answer_install

OLD_BOT = "xoxe.xoxb-1-canary-old-bot"
NEW_BOT = "xoxe.xoxb-1-canary-new-bot"
OLD_REFRESH = "xoxe-1-canary-old-refresh"
NEW_REFRESH = "xoxe-1-canary-new-refresh"


def refreshed(token_type: str = "bot", *, access_token: str = NEW_BOT, **extra) -> dict:
    """Slack's answer to ``grant_type=refresh_token``: one flat token."""
    return {
        "ok": True,
        "app_id": "A0001",
        "token_type": token_type,
        "access_token": access_token,
        "refresh_token": NEW_REFRESH,
        "expires_in": 43200,
        "team": {"id": "T0001", "name": "Acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        **extra,
    }


def in_minutes(minutes: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)


@pytest.fixture
def rotating(slack_app):
    """An installation whose rotating bot token expires in ten minutes (inside the margin)."""
    return Installation.objects.create(
        app=slack_app,
        team_id="T0001",
        bot_user_id="U0BOT",
        bot_token=OLD_BOT,
        bot_refresh_token=OLD_REFRESH,
        bot_token_expires_at=in_minutes(10),
    )


def raw(installation: Installation) -> dict:
    return Installation.objects.filter(pk=installation.pk).values(
        "bot_token", "bot_refresh_token", "bot_token_expires_at", "needs_reinstall_at"
    )[0]


def sent_form(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body)


# --- On demand -------------------------------------------------------------------------


def test_a_token_not_due_costs_one_query_and_no_call(
    rotating, mocked_slack, django_assert_num_queries
):
    Installation.objects.filter(pk=rotating.pk).update(bot_token_expires_at=in_minutes(600))
    with django_assert_num_queries(1):
        assert tokens.get_bot_token("acme", team_id="T0001") == OLD_BOT
    assert len(mocked_slack.calls) == 0


def test_a_due_token_is_refreshed_with_the_refresh_token(rotating, mocked_slack):
    mocked_slack.add(responses.POST, ACCESS_URL, json=refreshed())
    before = timezone.now()

    assert tokens.get_bot_token(rotating.app, team_id="T0001") == NEW_BOT

    (call,) = mocked_slack.calls
    assert sent_form(call) == {"grant_type": ["refresh_token"], "refresh_token": [OLD_REFRESH]}
    basic = base64.b64encode(b"111.222:canary-client-secret-5555").decode()
    assert call.request.headers["Authorization"] == f"Basic {basic}"
    row = Installation.objects.get(pk=rotating.pk)
    assert (row.bot_token, row.bot_refresh_token) == (NEW_BOT, NEW_REFRESH)
    assert before + datetime.timedelta(seconds=43200) <= row.bot_token_expires_at
    assert row.bot_token_expires_at <= timezone.now() + datetime.timedelta(seconds=43200)
    stored = raw(rotating)
    assert "canary" not in stored["bot_token"] + stored["bot_refresh_token"]
    # The new token is not due: the next call does not refresh again.
    assert tokens.get_bot_token("acme", team_id="T0001") == NEW_BOT
    assert len(mocked_slack.calls) == 1


def test_the_margin_decides_what_is_due(rotating, mocked_slack, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "TOKEN_REFRESH_MARGIN": 60}
    assert tokens.get_bot_token("acme", team_id="T0001") == OLD_BOT
    assert len(mocked_slack.calls) == 0


def test_a_rejected_refresh_marks_the_install_for_reinstall(rotating, mocked_slack):
    mocked_slack.add(responses.POST, ACCESS_URL, json=slack_payloads.error("invalid_refresh_token"))
    before = raw(rotating)

    with pytest.raises(TokenRefreshError) as excinfo:
        tokens.get_bot_token("acme", team_id="T0001")

    message = str(excinfo.value)
    assert "invalid_refresh_token" in message and "Install the app again" in message
    assert "canary" not in message
    after = raw(rotating)
    assert after["needs_reinstall_at"] is not None
    assert {k: after[k] for k in ("bot_token", "bot_refresh_token")} == {
        k: before[k] for k in ("bot_token", "bot_refresh_token")
    }


FAILED_REFRESHES = [
    {"json": slack_payloads.error("internal_error")},
    {"status": 503, "body": "unavailable"},
    {"json": {"ok": True, "token_type": "bot"}},  # no access token
    {"json": refreshed("user")},  # the wrong kind of token
]


@pytest.mark.parametrize("answer", FAILED_REFRESHES)
def test_other_failures_raise_once_the_token_expired_and_change_nothing(
    rotating, mocked_slack, answer
):
    Installation.objects.filter(pk=rotating.pk).update(bot_token_expires_at=in_minutes(-1))
    mocked_slack.add(responses.POST, ACCESS_URL, **answer)
    before = raw(rotating)
    with pytest.raises(SlackAPIError) as excinfo:
        tokens.get_bot_token("acme", team_id="T0001")
    assert not isinstance(excinfo.value, TokenRefreshError)
    assert raw(rotating) == before  # no new token, no re-install mark


@pytest.mark.parametrize("answer", FAILED_REFRESHES)
def test_other_failures_answer_with_the_token_while_it_still_works(
    rotating, mocked_slack, answer, caplog
):
    mocked_slack.add(responses.POST, ACCESS_URL, **answer)
    before = raw(rotating)
    assert tokens.get_bot_token("acme", team_id="T0001") == OLD_BOT  # ten minutes left
    assert len(mocked_slack.calls) == 1
    assert raw(rotating) == before
    assert "the current token still works" in caplog.text


def test_after_a_refused_refresh_slack_is_not_asked_again(rotating, mocked_slack):
    mocked_slack.add(responses.POST, ACCESS_URL, json=slack_payloads.error("invalid_refresh_token"))
    for _ in range(3):
        with pytest.raises(TokenRefreshError, match="(?i)install the app again"):
            tokens.get_bot_token("acme", team_id="T0001")
    assert len(mocked_slack.calls) == 1


def test_revoked_and_missing_installations(rotating, mocked_slack):
    with pytest.raises(InstallationNotFound):
        tokens.get_bot_token("acme", team_id="T9999")
    Installation.objects.filter(pk=rotating.pk).update(revoked_at=timezone.now())
    with pytest.raises(InstallationRevoked):
        tokens.get_bot_token("acme", team_id="T0001")
    assert len(mocked_slack.calls) == 0


def test_a_token_that_does_not_rotate_is_never_refreshed(slack_app, mocked_slack):
    Installation.objects.create(app=slack_app, team_id="T0001", bot_token="xoxb-canary-static")
    assert tokens.get_bot_token("acme", team_id="T0001") == "xoxb-canary-static"
    assert len(mocked_slack.calls) == 0


def test_install_response_tokens_are_stored_for_rotation(client, slack_app, mocked_slack):
    from urllib.parse import urlsplit

    slack_app.user_scopes = "search:read"
    slack_app.save()
    location = client.get("/slack/acme/install/")["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    answer_install(
        mocked_slack, rotating=True, user_token="xoxe.xoxp-1-canary", user_scopes="search:read"
    )
    response = client.get("/slack/acme/oauth/callback/", {"code": "c", "state": state})
    assert response.status_code == 302
    installation = Installation.objects.get()
    assert installation.bot_refresh_token == slack_payloads.BOT_REFRESH_TOKEN
    assert installation.bot_token_expires_at is not None
    user_token = UserToken.objects.get()
    assert user_token.refresh_token == slack_payloads.USER_REFRESH_TOKEN
    assert user_token.expires_at is not None


# --- User tokens -----------------------------------------------------------------------


@pytest.fixture
def user_token(rotating):
    return UserToken.objects.create(
        installation=rotating,
        slack_user_id="U0001",
        access_token="xoxe.xoxp-1-canary-old-user",
        refresh_token="xoxe-1-canary-old-user-refresh",
        expires_at=in_minutes(5),
    )


def test_get_user_token_refreshes_a_due_user_token(user_token, mocked_slack):
    new_user = "xoxe.xoxp-1-canary-new-user"
    mocked_slack.add(
        responses.POST, ACCESS_URL, json=refreshed("user", access_token=new_user, user_id="U0001")
    )
    assert tokens.get_user_token("acme", "U0001", team_id="T0001") == new_user
    (call,) = mocked_slack.calls
    assert sent_form(call)["refresh_token"] == ["xoxe-1-canary-old-user-refresh"]
    row = UserToken.objects.get(pk=user_token.pk)
    assert (row.access_token, row.refresh_token) == (new_user, NEW_REFRESH)
    # The bot token, due as well, was not touched by a user token refresh.
    assert Installation.objects.get().bot_token == OLD_BOT


def test_get_user_token_not_due_is_one_query(user_token, mocked_slack, django_assert_num_queries):
    UserToken.objects.filter(pk=user_token.pk).update(expires_at=None)
    with django_assert_num_queries(1):
        token = tokens.get_user_token("acme", "U0001", team_id="T0001")
    assert token == "xoxe.xoxp-1-canary-old-user"
    assert len(mocked_slack.calls) == 0


def test_get_user_token_errors(user_token, mocked_slack):
    with pytest.raises(InstallationNotFound):
        tokens.get_user_token("acme", "U0404", team_id="T0001")
    with pytest.raises(ValueError):
        tokens.get_user_token("acme", "U0001")
    UserToken.objects.filter(pk=user_token.pk).update(revoked_at=timezone.now())
    with pytest.raises(InstallationRevoked):
        tokens.get_user_token("acme", "U0001", team_id="T0001")
    assert len(mocked_slack.calls) == 0


def test_a_rejected_user_token_refresh_marks_the_install(user_token, mocked_slack):
    mocked_slack.add(responses.POST, ACCESS_URL, json=slack_payloads.error("invalid_refresh_token"))
    with pytest.raises(TokenRefreshError, match="user token of U0001"):
        tokens.get_user_token("acme", "U0001", team_id="T0001")
    assert Installation.objects.get().needs_reinstall_at is not None


def test_user_token_of_an_org_wide_install(slack_app, mocked_slack):
    org = Installation.objects.create(
        app=slack_app, enterprise_id="E0001", team_id="", is_enterprise_install=True
    )
    UserToken.objects.create(installation=org, slack_user_id="W0001", access_token="xoxp-org")
    token = tokens.get_user_token(slack_app, "W0001", team_id="T0042", enterprise_id="E0001")
    assert token == "xoxp-org"


# --- The command -----------------------------------------------------------------------


def refresh_by_token(mapping: dict[str, dict]):
    """A Slack that answers each refresh token with its own canned answer."""

    def callback(request):
        token = parse_qs(request.body)["refresh_token"][0]
        return 200, {}, json.dumps(mapping[token])

    return callback


def test_command_refreshes_every_due_token(slack_app, mocked_slack):
    due = Installation.objects.create(
        app=slack_app,
        team_id="T0001",
        bot_token="xoxb-a",
        bot_refresh_token="r-a",
        bot_token_expires_at=in_minutes(30),
    )
    later = Installation.objects.create(
        app=slack_app,
        team_id="T0002",
        bot_token="xoxb-b",
        bot_refresh_token="r-b",
        bot_token_expires_at=in_minutes(600),
    )
    UserToken.objects.create(
        installation=later,
        slack_user_id="U0002",
        access_token="xoxp-b",
        refresh_token="r-user",
        expires_at=in_minutes(1),
    )
    mocked_slack.add_callback(
        responses.POST,
        ACCESS_URL,
        callback=refresh_by_token(
            {
                "r-a": refreshed(access_token="xoxb-a2"),
                "r-user": refreshed("user", access_token="xoxp-b2"),
            }
        ),
    )
    out = StringIO()
    call_command("slack_installs_refresh_tokens", verbosity=2, stdout=out)

    assert len(mocked_slack.calls) == 2
    assert Installation.objects.get(pk=due.pk).bot_token == "xoxb-a2"
    assert Installation.objects.get(pk=later.pk).bot_token == "xoxb-b"
    assert UserToken.objects.get().access_token == "xoxp-b2"
    output = out.getvalue()
    assert "Refreshed: bot token of T0001" in output
    assert "Refreshed: user token of U0002 on T0002" in output
    assert "2 tokens refreshed" in output
    assert "xoxb" not in output and "xoxp" not in output


def test_command_dry_run_calls_nobody(rotating, mocked_slack):
    out = StringIO()
    call_command("slack_installs_refresh_tokens", "--dry-run", stdout=out)
    assert len(mocked_slack.calls) == 0
    assert "Due: bot token of T0001" in out.getvalue()
    assert Installation.objects.get().bot_token == OLD_BOT


def test_command_goes_on_after_a_failure_and_exits_non_zero(slack_app, mocked_slack):
    for team, refresh in (("T0001", "r-bad"), ("T0002", "r-good")):
        Installation.objects.create(
            app=slack_app,
            team_id=team,
            bot_token=f"xoxb-{team}",
            bot_refresh_token=refresh,
            bot_token_expires_at=in_minutes(5),
        )
    mocked_slack.add_callback(
        responses.POST,
        ACCESS_URL,
        callback=refresh_by_token(
            {
                "r-bad": slack_payloads.error("invalid_refresh_token"),
                "r-good": refreshed(access_token="xoxb-fresh"),
            }
        ),
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("slack_installs_refresh_tokens", stdout=out, stderr=err)
    assert excinfo.value.returncode == 1
    assert "Failed: bot token of T0001" in err.getvalue()
    assert "invalid_refresh_token" in err.getvalue()
    assert Installation.objects.get(team_id="T0002").bot_token == "xoxb-fresh"
    assert Installation.objects.get(team_id="T0001").needs_reinstall_at is not None
    # A marked install is not retried by the next run: its refresh token is dead.
    call_command("slack_installs_refresh_tokens", "--dry-run", stdout=out)
    assert len(mocked_slack.calls) == 2


@pytest.mark.postgres
def test_the_lock_names_no_table_where_the_database_cannot(user_token, mocked_slack, monkeypatch):
    # MariaDB has SELECT ... FOR UPDATE but not FOR UPDATE OF, and Django raises for of=.
    if not connection.features.has_select_for_update:
        pytest.skip("needs a database with row locks; run with DATABASE_URL=postgres://...")
    monkeypatch.setattr(connection.features, "has_select_for_update_of", False)
    mocked_slack.add(responses.POST, ACCESS_URL, json=refreshed())
    mocked_slack.add(
        responses.POST, ACCESS_URL, json=refreshed("user", access_token="xoxe.xoxp-1-new")
    )

    with CaptureQueriesContext(connection) as queries:
        assert tokens.get_bot_token("acme", team_id="T0001") == NEW_BOT
        assert tokens.get_user_token("acme", "U0001", team_id="T0001") == "xoxe.xoxp-1-new"

    locks = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
    assert len(locks) == 2
    assert not any("FOR UPDATE OF" in sql for sql in locks), locks
    assert UserToken.objects.get().refresh_token == NEW_REFRESH


# --- Concurrency (PostgreSQL) ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_refresh_exactly_once(slack_app, mocked_slack):
    if not HAS_ROW_LOCKS:
        pytest.skip(ROW_LOCKS_REASON)
    Installation.objects.create(
        app=slack_app,
        team_id="T0001",
        bot_token=OLD_BOT,
        bot_refresh_token=OLD_REFRESH,
        bot_token_expires_at=in_minutes(10),
    )
    guard = threading.Lock()
    refreshes: list[str] = []
    spent: set[str] = set()

    def slack_refresh(request):
        # Like Slack: a refresh token works once; a second use is invalid_refresh_token.
        token = parse_qs(request.body)["refresh_token"][0]
        with guard:
            refreshes.append(token)
            reused = token in spent
            spent.add(token)
        if reused:
            return 200, {}, json.dumps(slack_payloads.error("invalid_refresh_token"))
        time.sleep(0.3)  # a slow Slack keeps the other callers waiting on the lock
        return 200, {}, json.dumps(refreshed())

    mocked_slack.add_callback(responses.POST, ACCESS_URL, callback=slack_refresh)
    callers = 8
    start = threading.Barrier(callers)
    results: list[str] = []
    errors: list[BaseException] = []

    def caller():
        try:
            start.wait()
            token = tokens.get_bot_token("acme", team_id="T0001")
            with guard:
                results.append(token)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert refreshes == [OLD_REFRESH]
    assert results == [NEW_BOT] * callers
    row = Installation.objects.get()
    assert (row.bot_token, row.bot_refresh_token, row.needs_reinstall_at) == (
        NEW_BOT,
        NEW_REFRESH,
        None,
    )
