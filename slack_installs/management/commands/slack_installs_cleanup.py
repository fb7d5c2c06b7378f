"""``manage.py slack_installs_cleanup``: prune the OAuth attempt log (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs.cleanup import cleanup_attempts


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

    def handle(self, *args: Any, dry_run: bool, days: int | None, **options: Any) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
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
