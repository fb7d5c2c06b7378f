"""Pruning the OAuth attempt log (expired pending attempts, old attempts) and the record of
handled events past Slack's retries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
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


def cleanup_attempts(
    *,
    now: datetime.datetime | None = None,
    retention_days: int | None = None,
    dry_run: bool = False,
) -> CleanupResult:
    """Delete pending attempts whose state expired, and every attempt older than the retention;
    also the handled events Slack can no longer retry (``HandledEvent.RETRIES_WITHIN``).

    ``retention_days`` defaults to ``SLACK_INSTALLS["ATTEMPT_RETENTION_DAYS"]``. With
    ``dry_run`` nothing is deleted; the counts say what would be.
    """
    now = now or timezone.now()
    days = app_settings.ATTEMPT_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = now - datetime.timedelta(days=days)
    old = Q(created_at__lt=cutoff)
    # An expired state can never be used again, so its pending row is dead weight.
    expired = Q(status=OAuthAttempt.Status.PENDING, expires_at__lte=now) & ~old
    past_retries = HandledEvent.objects.filter(handled_at__lte=now - HandledEvent.RETRIES_WITHIN)
    result = CleanupResult(
        expired_pending=OAuthAttempt.objects.filter(expired).count(),
        older_than_retention=OAuthAttempt.objects.filter(old).count(),
        handled_events=past_retries.count(),
    )
    if not dry_run and result.total:
        OAuthAttempt.objects.filter(expired | old).delete()
    if not dry_run and result.handled_events:
        past_retries.delete()
    return result
