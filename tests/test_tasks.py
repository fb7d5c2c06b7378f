"""slack_installs.tasks on the Tasks framework (immediate and database backends), the
commands' --enqueue, the concurrent refresh of due tokens and the commands' progress."""

from __future__ import annotations

import datetime
import json
import threading
import time
from io import StringIO
from unittest import mock
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from slack_installs import tasks, tokens
from slack_installs.conf import app_settings
from slack_installs.management.progress import Progress
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from tests import slack_payloads
from tests.databases import HAS_ROW_LOCKS, needs_row_locks
from tests.slack_mocks import ACCESS_URL

OLD_BOT = "xoxe.xoxb-1-canary-old-bot-{n}"
NEW_BOT = "xoxe.xoxb-1-canary-new-bot-{n}"
DATABASE_BACKEND = {"BACKEND": "django_tasks_db.DatabaseBackend"}


def due_installations(app, count: int, *, minutes: int = 10) -> list[Installation]:
    """``count`` installations whose rotating bot token is due (refresh token r-<n>)."""
    expires = timezone.now() + datetime.timedelta(minutes=minutes)
    return [
        Installation.objects.create(
            app=app,
            team_id=f"T{n:04d}",
            team_name=f"Team {n}",
            bot_token=OLD_BOT.format(n=n),
            bot_refresh_token=f"r-{n}",
            bot_token_expires_at=expires,
        )
        for n in range(count)
    ]


class RefreshingSlack:
    """``oauth.v2.access`` with grant_type=refresh_token, like Slack: each refresh token
    works once. Counts calls per token and the most calls in flight at once."""

    def __init__(self, latency: float = 0.0, rate_limited: int = 0, retry_after: int = 1):
        self.latency = latency
        self.rate_limited = rate_limited  # answer this many calls with a 429 first
        self.retry_after = retry_after
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request):
        token = parse_qs(request.body)["refresh_token"][0]
        with self.lock:
            if self.rate_limited:
                self.rate_limited -= 1
                return 429, {"Retry-After": str(self.retry_after)}, "{}"
            self.calls[token] = self.calls.get(token, 0) + 1
            reused = self.calls[token] > 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.latency)
            if reused:
                return 200, {}, json.dumps(slack_payloads.error("invalid_refresh_token"))
            n = token.removeprefix("r-")
            return (
                200,
                {},
                json.dumps(
                    {
                        "ok": True,
                        "token_type": "bot",
                        "access_token": NEW_BOT.format(n=n),
                        "refresh_token": f"r2-{n}",
                        "expires_in": 43200,
                    }
                ),
            )
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def slack(mocked_slack):
    def install(**options) -> RefreshingSlack:
        answer = RefreshingSlack(**options)
        mocked_slack.add_callback(responses.POST, ACCESS_URL, callback=answer)
        return answer

    return install


def assert_all_refreshed(installations: list[Installation]) -> None:
    for n, installation in enumerate(installations):
        row = Installation.objects.get(pk=installation.pk)
        assert row.bot_token == NEW_BOT.format(n=n)
        assert row.bot_refresh_token == f"r2-{n}"
        assert row.bot_token_expires_at > timezone.now() + datetime.timedelta(hours=11)


# --- The concurrent refresh ---------------------------------------------------------------


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_refreshes_each_token_once_several_at_a_time(slack_app, slack):
    installations = due_installations(slack_app, 24)
    answer = slack(latency=0.05)

    outcomes = tokens.refresh_due_tokens(concurrency=8)

    assert [outcome.error for outcome in outcomes] == [""] * 24
    assert answer.calls == {f"r-{n}": 1 for n in range(24)}
    assert 2 <= answer.peak <= 8
    assert_all_refreshed(installations)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_still_refresh_each_token_once(slack_app, slack):
    """Two cron runs (or a run and a task) overlapping: the row lock decides."""
    installations = due_installations(slack_app, 12)
    answer = slack(latency=0.05)
    results: list[list[tokens.RefreshOutcome]] = []

    def run() -> None:
        try:
            results.append(tokens.refresh_due_tokens(concurrency=4))
        finally:
            connection.close()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)

    assert answer.calls == {f"r-{n}": 1 for n in range(12)}
    assert all(outcome.error == "" for outcomes in results for outcome in outcomes)
    assert_all_refreshed(installations)


def test_sqlite_refreshes_one_at_a_time_whatever_the_concurrency(slack_app, slack):
    if HAS_ROW_LOCKS:
        pytest.skip("SQLite only: elsewhere refreshes run side by side")
    installations = due_installations(slack_app, 5)
    answer = slack(latency=0.01)
    outcomes = tokens.refresh_due_tokens(concurrency=8)
    assert [outcome.error for outcome in outcomes] == [""] * 5
    assert answer.peak == 1
    assert_all_refreshed(installations)


def test_a_429_pauses_the_run_for_its_retry_after_then_retries(slack_app, slack):
    installations = due_installations(slack_app, 3)
    answer = slack(rate_limited=1, retry_after=1)
    started = time.monotonic()
    outcomes = tokens.refresh_due_tokens(concurrency=1)
    assert time.monotonic() - started >= 0.95  # not earlier than Slack said
    assert [outcome.error for outcome in outcomes] == ["", "", ""]
    assert answer.calls == {f"r-{n}": 1 for n in range(3)}
    assert_all_refreshed(installations)


def test_a_retry_after_beyond_max_wait_fails_that_token_and_goes_on(slack_app, slack):
    installations = due_installations(slack_app, 2)
    slack(rate_limited=1, retry_after=600)
    waits: list[float] = []
    outcomes = tokens.refresh_due_tokens(sleep=waits.append, max_wait=60)
    assert [outcome.error for outcome in outcomes] == ["ratelimited", ""]
    assert waits == []
    assert Installation.objects.get(pk=installations[0].pk).bot_token == OLD_BOT.format(n=0)
    assert Installation.objects.get(pk=installations[0].pk).needs_reinstall_at is None


@pytest.mark.parametrize("concurrency", [0, tokens.MAX_CONCURRENCY + 1])
def test_concurrency_out_of_range_is_refused(db, concurrency):
    with pytest.raises(ValueError, match="concurrency"):
        tokens.refresh_due_tokens(concurrency=concurrency)
    with pytest.raises(CommandError, match="--concurrency must be between 1 and 64"):
        call_command("slack_installs_refresh_tokens", "--concurrency", str(concurrency))


# --- Tasks on the immediate backend ------------------------------------------------------


def test_refresh_tasks_run_on_the_immediate_backend(slack_app, slack):
    installations = due_installations(slack_app, 3)
    answer = slack()
    result = tasks.refresh_token.enqueue(kind="bot", pk=installations[0].pk)
    assert result.return_value == {"kind": "bot", "pk": installations[0].pk, "error": ""}
    result = tasks.refresh_due_tokens.enqueue(concurrency=2)
    assert result.return_value == {"due": 2, "refreshed": 2, "errors": {}}
    assert answer.calls == {"r-0": 1, "r-1": 1, "r-2": 1}
    assert_all_refreshed(installations)
    # Enqueued again, the task finds the token no longer due: Slack is not called.
    assert tasks.refresh_token.enqueue(kind="bot", pk=installations[0].pk).return_value == {
        "kind": "bot",
        "pk": installations[0].pk,
        "error": "",
    }
    assert answer.calls == {"r-0": 1, "r-1": 1, "r-2": 1}


def test_refresh_token_refuses_an_unknown_kind(db):
    with pytest.raises(ValueError, match="kind must be"):
        tokens.refresh_by_pk("webhook", 1)


def use_new_active_key(settings) -> None:
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "ENCRYPTION_KEYS": {
            **settings.SLACK_INSTALLS["ENCRYPTION_KEYS"],
            "k2": "bmV3LXRlc3Qta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA=",
        },
        "ACTIVE_KEY_ID": "k2",
    }


def all_under(key_id: str, *, apps_too: bool = True) -> bool:
    """Whether every stored token (and app secret) is under ``key_id``: raw column values."""
    values = [*Installation.objects.values_list("bot_token", "bot_refresh_token")]
    if apps_too:
        values += SlackApp.objects.values_list("client_secret", "signing_secret")
    return all(value.startswith(f"f1:{key_id}:") for row in values for value in row if value)


def test_rotate_keys_chains_one_task_per_batch_on_its_own_backend(slack_app, settings):
    due_installations(slack_app, 5)
    use_new_active_key(settings)
    assert not all_under("k2")

    tasks.rotate_keys.using(backend="database").enqueue(batch_size=2)
    run_worker()

    runs = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert {run.status for run in runs} == {"SUCCESSFUL"}
    assert {run.backend_name for run in runs} == {"database"}
    batches = [
        run.return_value
        for run in runs
        if run.return_value["model"] == "slack_installs.Installation"
    ]
    assert [batch["rows"] for batch in batches] == [2, 2, 1, 0]  # then on to the next model
    assert batches[-1]["next"]["after_pk"] is None
    assert runs[-1].return_value["next"] is None  # the last model's empty batch ends it
    assert all_under("k2")


def test_rotate_keys_resumes_after_a_lost_chain(slack_app, settings):
    """A chain lost half-way (its next task gone): enqueued again, it finds only the rows
    still under the old key."""
    installations = due_installations(slack_app, 3)
    use_new_active_key(settings)
    tasks.rotate_keys.using(backend="database").enqueue(
        model="slack_installs.Installation", batch_size=2
    )
    run_worker("database", "--max-tasks", "1")
    DBTaskResult.objects.filter(status="READY").delete()  # the worker died: the chain is lost
    assert Installation.objects.get(pk=installations[2].pk).bot_token == OLD_BOT.format(n=2)
    assert not all_under("k2", apps_too=False)

    result = tasks.rotate_keys.enqueue(model="slack_installs.Installation", batch_size=2)

    assert result.return_value["rows"] == 1  # the one row the lost chain had not reached
    assert all_under("k2", apps_too=False)
    assert Installation.objects.get(pk=installations[2].pk).bot_token == OLD_BOT.format(n=2)


def test_rotate_keys_fails_for_a_model_without_encrypted_fields(db):
    result = tasks.rotate_keys.enqueue(model="auth.User")
    assert result.status == "FAILED"
    assert "'auth.User' has no encrypted field" in result.errors[0].traceback


def test_check_and_cleanup_tasks_return_their_counts(slack_app, mocked_slack):
    old = OAuthAttempt.objects.create(
        app=slack_app,
        state_digest="d" * 64,
        expires_at=timezone.now() - datetime.timedelta(days=100),
        created_at=timezone.now() - datetime.timedelta(days=100),
    )
    assert tasks.cleanup_attempts.enqueue().return_value == {
        "expired_pending": 0,
        "older_than_retention": 1,
        "handled_events": 0,
    }
    assert not OAuthAttempt.objects.filter(pk=old.pk).exists()
    assert tasks.check_installations.enqueue(app="acme").return_value == {
        "checked": 0,
        "alive": 0,
        "revoked": 0,
        "skipped": 0,
        "errors": {},
    }


# --- Tasks on the database backend, run by db_worker ---------------------------------------


def run_worker(backend: str = "database", *more: str) -> None:
    """django-tasks-db's worker, until no task is ready (``--batch``). Between tasks it closes
    connections whose autocommit is off, as the test's transaction is: not in this test,
    as Django's test client does not close them between requests either."""
    with mock.patch.object(db_worker, "close_old_connections"):
        call_command("db_worker", "--backend", backend, "--batch", "--no-startup-delay", *more)


def test_database_backend_stores_the_task_and_db_worker_runs_it(slack_app, slack):
    installations = due_installations(slack_app, 2)
    answer = slack()
    queued = tasks.refresh_token.using(backend="database").enqueue(
        kind="bot", pk=installations[1].pk
    )
    row = DBTaskResult.objects.get(id=queued.id)
    assert row.status == "READY"
    assert row.task_path == "slack_installs.tasks.refresh_token"

    run_worker()

    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert row.return_value == {"kind": "bot", "pk": installations[1].pk, "error": ""}
    assert answer.calls == {"r-1": 1}
    assert Installation.objects.get(pk=installations[1].pk).bot_token == NEW_BOT.format(n=1)
    # Nothing the backend stored carries a token.
    stored = json.dumps(list(DBTaskResult.objects.values("args_kwargs", "return_value")))
    assert "xox" not in stored and "r2-" not in stored


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_the_refresh_task_refreshes_several_at_once_in_a_db_worker(slack_app, slack):
    """A worker runs a task outside any transaction, so the task's threads run side by side."""
    installations = due_installations(slack_app, 12)
    answer = slack(latency=0.05)
    queued = tasks.refresh_due_tokens.using(backend="database").enqueue(concurrency=4)
    run_worker()
    row = DBTaskResult.objects.get(id=queued.id)
    assert (row.status, row.return_value) == (
        "SUCCESSFUL",
        {"due": 12, "refreshed": 12, "errors": {}},
    )
    assert answer.calls == {f"r-{n}": 1 for n in range(12)}
    assert 2 <= answer.peak <= 4
    assert_all_refreshed(installations)


# --- --enqueue ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "slack_installs_refresh_tokens",
        "slack_installs_rotate_keys",
        "slack_installs_check_installs",
        "slack_installs_cleanup",
    ],
)
def test_enqueue_refuses_the_immediate_backend(db, command):
    with pytest.raises(CommandError, match="ImmediateBackend, which runs a task where it is"):
        call_command(command, "--enqueue")
    assert DBTaskResult.objects.count() == 0


def test_enqueue_refuses_a_backend_missing_from_tasks(db, settings):
    settings.TASKS = {"other": DATABASE_BACKEND}
    with pytest.raises(CommandError, match="The tasks backend 'default' cannot be used"):
        call_command("slack_installs_cleanup", "--enqueue")


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": DATABASE_BACKEND, "database": DATABASE_BACKEND}


def test_refresh_enqueue_makes_one_task_per_due_token(
    slack_app, slack, database_tasks, mocked_slack
):
    installations = due_installations(slack_app, 3)
    installation = installations[0]
    UserToken.objects.create(
        installation=installation,
        slack_user_id="U1",
        access_token="xoxe.xoxp-1-user",
        refresh_token="r-user",
        expires_at=timezone.now() + datetime.timedelta(minutes=5),
    )
    answer = slack()
    out = StringIO()
    call_command("slack_installs_refresh_tokens", "--enqueue", stdout=out)
    assert "Enqueued 4 tasks of refresh_token, one per due token" in out.getvalue()
    queued = DBTaskResult.objects.order_by("enqueued_at")
    assert sorted(row.args_kwargs["kwargs"]["kind"] for row in queued) == [
        "bot",
        "bot",
        "bot",
        "user",
    ]
    assert answer.calls == {}  # nothing refreshed yet: the workers will

    run_worker("default")

    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert set(answer.calls) == {"r-0", "r-1", "r-2", "r-user"}


def test_the_other_commands_enqueue_their_task(slack_app, database_tasks):
    out = StringIO()
    call_command("slack_installs_rotate_keys", "--enqueue", "--batch-size", "50", stdout=out)
    call_command("slack_installs_check_installs", "--enqueue", "--app", "acme", stdout=out)
    call_command("slack_installs_cleanup", "--enqueue", "--days", "30", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(" (id ")[0] for line in lines] == [
        f"Enqueued {name} on the 'default' tasks backend"
        for name in ("rotate_keys", "check_installations", "cleanup_attempts")
    ]
    queued = {row.task_path: row.args_kwargs["kwargs"] for row in DBTaskResult.objects.all()}
    assert queued == {
        "slack_installs.tasks.rotate_keys": {"batch_size": 50},
        "slack_installs.tasks.check_installations": {"app": "acme", "dry_run": False},
        "slack_installs.tasks.cleanup_attempts": {"retention_days": 30, "dry_run": False},
    }
    with pytest.raises(CommandError, match="drop --database"):
        call_command("slack_installs_rotate_keys", "--enqueue", "--database", "default")


# --- Progress -----------------------------------------------------------------------------


def test_progress_is_a_line_per_batch_off_a_terminal():
    out = StringIO()
    progress = Progress(OutputWrapper(out), 250, "tokens", every=100, interactive=False)
    for _ in range(250):
        progress.advance()
    progress.note("Failed: one")
    progress.finish()
    assert out.getvalue().splitlines() == [
        "  100/250 tokens",
        "  200/250 tokens",
        "  250/250 tokens",
        "Failed: one",
    ]


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal():
    out = StringIO()
    progress = Progress(OutputWrapper(out), 4, "tokens", interactive=True)
    progress.advance()
    progress.note("Failed: one")
    progress.advance(3)
    progress.finish()
    text = out.getvalue()
    assert "\r\033[K[#######-----------------------] 1/4 tokens" in text
    assert "\r\033[KFailed: one\n" in text  # the note clears the bar, then it is redrawn
    assert text.endswith("[##############################] 4/4 tokens\n")


def test_refresh_command_prints_a_line_per_batch(slack_app, slack):
    due_installations(slack_app, 3)
    slack()
    out = StringIO()
    call_command("slack_installs_refresh_tokens", stdout=out)
    margin = app_settings.TOKEN_REFRESH_MARGIN
    assert out.getvalue().splitlines() == [
        "  3/3 tokens",
        f"3 tokens refreshed (expiring within {margin} s), 0 failed.",
    ]
