"""Pruning the OAuth attempt log (expired pending attempts, old attempts) and the record of
handled events past Slack's retries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .conf import app_settings
from .models import HandledEvent, OAuthAttempt


@dataclass(frozen=True)
class CleanupResult:
    expired_pending: int
    older_than_retention: int
    handled_events: int = 0  # not attempts: not in ``total``

    @property
    def total(self) -> int:
        """The attempts deleted."""
        return self.expired_pending + self.older_than_retention


# Rows deleted per statement: an unauthenticated GET of an install URL makes a pending row,
# so a flood can leave many; one huge DELETE would hold locks (and SQLite's one write lock)
# for as long as it runs.
DELETE_BATCH_SIZE = 1000


def cleanup_attempts(
    *,
    now: datetime.datetime | None = None,
    retention_days: int | None = None,
    dry_run: bool = False,
    batch_size: int = DELETE_BATCH_SIZE,
) -> CleanupResult:
    """Delete pending attempts whose state expired, and every attempt older than the retention;
    also the handled events Slack can no longer retry (``HandledEvent.RETRIES_WITHIN``).

    ``retention_days`` defaults to ``SLACK_INSTALLS["ATTEMPT_RETENTION_DAYS"]``. With
    ``dry_run`` nothing is deleted; the counts say what would be. Rows go ``batch_size`` at
    a time, each batch its own statement, each condition through its own index.
    """
    now = now or timezone.now()
    days = app_settings.ATTEMPT_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = now - datetime.timedelta(days=days)
    old = OAuthAttempt.objects.filter(created_at__lt=cutoff)  # the created_at index
    # An expired state can never be used again, so its pending row is dead weight.
    expired = OAuthAttempt.objects.filter(  # the (status, expires_at) index
        status=OAuthAttempt.Status.PENDING, expires_at__lte=now, created_at__gte=cutoff
    )
    past_retries = HandledEvent.objects.filter(handled_at__lte=now - HandledEvent.RETRIES_WITHIN)
    if dry_run:
        return CleanupResult(
            expired_pending=expired.count(),
            older_than_retention=old.count(),
            handled_events=past_retries.count(),
        )
    return CleanupResult(
        expired_pending=_delete_in_batches(expired, batch_size),
        older_than_retention=_delete_in_batches(old, batch_size),
        handled_events=_delete_in_batches(past_retries, batch_size),
    )


def _delete_in_batches(rows: QuerySet[Any], batch_size: int) -> int:
    """Delete ``rows`` ``batch_size`` at a time; return how many went."""
    deleted = 0
    while True:
        batch = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        count, _by_model = rows.model._default_manager.filter(pk__in=batch).delete()
        deleted += count
