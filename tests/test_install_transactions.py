"""What the callback commits, and when: the claim of the state before Slack is called, then
the installation, its user token and the attempt's outcome in one transaction.

These tests use real transactions (``transactional_db``), as a web worker does.
"""

from __future__ import annotations

import json

import pytest
import responses
from django.db import OperationalError, connection, connections, transaction

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests import slack_payloads
from tests.installs import failing_user_token_save, start_install
from tests.slack_mocks import ACCESS_URL, AUTH_TEST_URL, answer_install

CALLBACK = "/slack/acme/oauth/callback/"


@pytest.fixture
def app(transactional_db, slack_app):
    slack_app.user_scopes = "search:read"
    slack_app.save()
    return slack_app


def test_a_failure_after_the_installation_rolls_the_whole_save_back(client, app, mocked_slack):
    state = start_install(client)
    answer_install(mocked_slack, user_token=slack_payloads.USER_TOKEN, user_scopes="search:read")

    # The user token is saved after the installation, in the same transaction.
    with failing_user_token_save():
        response = client.get(CALLBACK, {"code": "c", "state": state})

    assert response.status_code == 400
    assert "Something went wrong on this site" in response.content.decode()
    assert Installation.objects.count() == 0  # saved before the failure, rolled back with it
    assert UserToken.objects.count() == 0
    assert OAuthAttempt.objects.values_list("status", "error").get() == (
        "failed",
        "internal_error",
    )


def _claim_seen_by_another_connection() -> bool:
    """Whether the attempt's claim is visible outside the callback's own connection."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    ) as other:
        row = other.execute(
            "SELECT consumed_at IS NOT NULL FROM slack_installs_oauthattempt"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("atomic_requests", [False, True])
def test_the_claim_is_committed_before_slack_is_called(client, app, mocked_slack, atomic_requests):
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = atomic_requests
    try:
        state = start_install(client)
        during_the_exchange = {}

        def exchange(request):
            during_the_exchange["in_a_transaction"] = connection.in_atomic_block
            if connection.vendor == "postgresql":
                during_the_exchange["claim_committed"] = _claim_seen_by_another_connection()
            return (200, {}, json.dumps(slack_payloads.oauth_v2_access()))

        mocked_slack.add_callback(responses.POST, ACCESS_URL, callback=exchange)
        mocked_slack.add(responses.POST, AUTH_TEST_URL, json=slack_payloads.auth_test())
        response = client.get(CALLBACK, {"code": "c", "state": state})
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False

    assert response.status_code == 302
    assert during_the_exchange["in_a_transaction"] is False
    if connection.vendor == "postgresql":
        assert during_the_exchange["claim_committed"] is True
    assert Installation.objects.count() == 1
    assert OAuthAttempt.objects.get().status == "succeeded"


def test_a_workspace_created_by_a_concurrent_callback_is_updated_not_duplicated(app, monkeypatch):
    """The lost race of two first installs: the row appears between our locked SELECT and our
    INSERT, so the INSERT fails on the unique key and the install updates the winner's row."""
    from django.db.models.query import QuerySet

    from slack_installs import oauth

    winner = Installation.objects.create(app=app, team_id="T0001", team_name="Old name")
    real_get = QuerySet.get
    calls = []

    def get_misses_once(self, *args, **kwargs):
        if self.model is Installation and not calls:
            calls.append(1)
            raise Installation.DoesNotExist  # as if the winner had not committed when we looked
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get", get_misses_once)
    with transaction.atomic():
        saved = oauth.save_installation(app, slack_payloads.oauth_v2_access(team_name="New name"))
    assert calls == [1]
    assert saved.pk == winner.pk
    assert Installation.objects.values_list("pk", "team_name").get() == (winner.pk, "New name")


class _MySQLDeadlock(Exception):
    args = (1213, "Deadlock found when trying to get lock; try restarting transaction")


def _deadlock() -> OperationalError:
    error = OperationalError("deadlock")
    error.__cause__ = _MySQLDeadlock()
    return error


def test_work_that_loses_a_deadlock_runs_again_and_gives_up_after_three_tries():
    from slack_installs.oauth import DEADLOCK_RETRIES, retrying_deadlocks

    tries = []

    def lose_once():
        tries.append(1)
        if len(tries) == 1:
            raise _deadlock()
        return "saved"

    assert retrying_deadlocks(lose_once, "test") == "saved" and len(tries) == 2

    def always_lose():
        tries.append(1)
        raise _deadlock()

    tries.clear()
    with pytest.raises(OperationalError):
        retrying_deadlocks(always_lose, "test")
    assert len(tries) == DEADLOCK_RETRIES

    def other_error():
        tries.append(1)
        raise OperationalError("the server went away")

    tries.clear()
    with pytest.raises(OperationalError):
        retrying_deadlocks(other_error, "test")
    assert len(tries) == 1  # only a deadlock is retried
