"""``manage.py slack_installs_cleanup``: prune the OAuth attempt log (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs.cleanup import cleanup_attempts
from slack_installs.management.enqueue import background_task, enqueued


class Command(BaseCommand):
    help = "Delete expired pending OAuth attempts and attempts older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted, delete nothing.",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep attempts this many days "
            "(default: SLACK_INSTALLS['ATTEMPT_RETENTION_DAYS'], 90 unless set).",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the cleanup to the TASKS backend (slack_installs.tasks.cleanup_attempts).",
        )

    def handle(
        self, *args: Any, dry_run: bool, days: int | None, enqueue: bool, **options: Any
    ) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        if enqueue:
            task = background_task("cleanup_attempts")
            self.stdout.write(enqueued(task, retention_days=days, dry_run=dry_run))
            return
        result = cleanup_attempts(retention_days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        style = self.style.NOTICE if dry_run else self.style.SUCCESS
        self.stdout.write(
            style(
                f"{verb} {result.total} OAuth attempt(s): {result.expired_pending} expired "
                f"pending, {result.older_than_retention} older than the retention period; "
                f"{result.handled_events} record(s) of handled events past Slack's retries."
            )
        )
