"""``slack_installs_cleanup``: expired pending attempts and old attempts go, the rest stays."""

from __future__ import annotations

import datetime
import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from slack_installs.cleanup import cleanup_attempts
from slack_installs.models import HandledEvent, OAuthAttempt
from tests.installs import make_installation

_digests = itertools.count()


def attempt(app, *, age_days: float = 0, status: str = "succeeded", expired: bool = False, **kw):
    created = timezone.now() - datetime.timedelta(days=age_days)
    expires = timezone.now() + datetime.timedelta(minutes=-1 if expired else 10)
    return OAuthAttempt.objects.create(
        app=app,
        status=status,
        state_digest=f"{next(_digests):064d}",
        created_at=created,
        expires_at=expires,
        **kw,
    )


@pytest.fixture
def log(slack_app):
    installation = make_installation(slack_app)
    return {
        "fresh_pending": attempt(slack_app, status="pending"),
        "expired_pending": attempt(slack_app, status="pending", expired=True),
        "recent_failed": attempt(slack_app, age_days=10, status="failed", error="invalid_state"),
        "recent_success": attempt(slack_app, age_days=89, installation=installation),
        "old_success": attempt(slack_app, age_days=91, installation=installation),
        "old_denied": attempt(slack_app, age_days=400, status="denied", expired=True),
    }


def remaining() -> set[int]:
    return set(OAuthAttempt.objects.values_list("pk", flat=True))


def test_cleanup_deletes_expired_pending_and_old_attempts(log):
    result = cleanup_attempts()
    assert (result.expired_pending, result.older_than_retention) == (1, 2)
    keep = {"fresh_pending", "recent_failed", "recent_success"}
    assert remaining() == {log[name].pk for name in keep}
    assert log["old_success"].installation.__class__.objects.exists()  # installs are untouched


def test_dry_run_deletes_nothing(log):
    out = io.StringIO()
    call_command("slack_installs_cleanup", "--dry-run", stdout=out)
    assert remaining() == {a.pk for a in log.values()}
    assert "Would delete 3 OAuth attempt(s): 1 expired pending, 2 older" in out.getvalue()


def test_command_deletes_and_reports(log):
    out = io.StringIO()
    call_command("slack_installs_cleanup", stdout=out)
    assert "Deleted 3 OAuth attempt(s)" in out.getvalue()
    assert len(remaining()) == 3


def test_retention_comes_from_the_setting(log, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "ATTEMPT_RETENTION_DAYS": 5}
    cleanup_attempts()
    assert remaining() == {log["fresh_pending"].pk}


def test_days_option_overrides_the_setting(log):
    call_command("slack_installs_cleanup", "--days", "365", stdout=io.StringIO())
    assert log["old_denied"].pk not in remaining()
    assert log["old_success"].pk in remaining()


def test_negative_days_is_an_error(db):
    with pytest.raises(CommandError, match="--days"):
        call_command("slack_installs_cleanup", "--days", "-1")


def test_nothing_to_do(db):
    out = io.StringIO()
    call_command("slack_installs_cleanup", stdout=out)
    assert "Deleted 0 OAuth attempt(s)" in out.getvalue()


def test_the_cleanup_forgets_events_slack_can_no_longer_retry(slack_app):
    now = timezone.now()
    for event_id, minutes_ago in (("Ev0RECENT", 59), ("Ev0HOURAGO", 61), ("Ev0LASTWEEK", 10080)):
        HandledEvent.objects.create(
            app=slack_app,
            event_id=event_id,
            handled_at=now - datetime.timedelta(minutes=minutes_ago),
        )
    handled = {"Ev0RECENT", "Ev0HOURAGO", "Ev0LASTWEEK"}

    assert cleanup_attempts(dry_run=True).handled_events == 2
    assert set(HandledEvent.objects.values_list("event_id", flat=True)) == handled

    call_command("slack_installs_cleanup", stdout=io.StringIO())  # the command cron runs
    assert set(HandledEvent.objects.values_list("event_id", flat=True)) == {"Ev0RECENT"}


def test_a_flood_of_expired_attempts_goes_in_batches(slack_app):
    """300 unauthenticated GETs of an install URL make 300 rows: the cleanup deletes them
    batch by batch, never in one statement over the whole table."""
    now = timezone.now()
    OAuthAttempt.objects.bulk_create(
        OAuthAttempt(
            app=slack_app,
            state_digest=f"f{index:063d}",
            created_at=now - datetime.timedelta(minutes=20),
            expires_at=now - datetime.timedelta(minutes=10),
        )
        for index in range(250)
    )
    fresh = attempt(slack_app, status="pending")
    with CaptureQueriesContext(connection) as queries:
        result = cleanup_attempts(batch_size=100)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert result.expired_pending == 250
    assert len(deletes) == 3  # 100, 100, then 50
    assert list(OAuthAttempt.objects.values_list("pk", flat=True)) == [fresh.pk]
