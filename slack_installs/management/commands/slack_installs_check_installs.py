"""``manage.py slack_installs_check_installs``: ask Slack which installations still work."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import health
from slack_installs.management.enqueue import background_task, enqueued
from slack_installs.management.progress import Progress
from slack_installs.models import SlackApp


class Command(BaseCommand):
    help = (
        "Call auth.test with the bot token of every active installation; revoke those Slack "
        "says are dead (invalid_auth, token_revoked, account_inactive)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app", metavar="SLUG", help="Check only the installations of this app (its slug)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Call auth.test and say what would be revoked; change nothing.",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the check to the TASKS backend (slack_installs.tasks.check_installations).",
        )

    def handle(
        self, *args: Any, app: str | None, dry_run: bool, enqueue: bool, **options: Any
    ) -> None:
        if app is not None and not SlackApp.objects.filter(slug=app).exists():
            raise CommandError(f"No Slack app with slug {app!r}.")
        if enqueue:
            task = background_task("check_installations")
            self.stdout.write(enqueued(task, app=app, dry_run=dry_run))
            return
        self.dry_run = dry_run
        total = health.installations_to_check(app=app).count()
        self.progress = Progress(self.stdout, total, "checked", every=health.BATCH_SIZE)
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}checking {total} active installations"
            + (f" of {app!r}" if app else "")
            + " with auth.test"
        )
        summary = health.check_installations(app=app, dry_run=dry_run, on_outcome=self.show)
        self.progress.finish()
        revoked = "would be revoked" if dry_run else "revoked"
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {summary.checked}: {summary.alive} alive, {summary.revoked} {revoked}, "
                f"{summary.skipped} skipped."
            )
        )
        if summary.errors:
            reasons = ", ".join(f"{code}: {n}" for code, n in sorted(summary.errors.items()))
            self.stdout.write(f"Skipped (Slack decided nothing; run again later): {reasons}")

    def show(self, outcome: health.CheckOutcome) -> None:
        if outcome.result == health.REVOKED:
            verb = "Would revoke" if self.dry_run else "Revoked"
            self.progress.note(self.style.WARNING(f"{verb}: {outcome.label} ({outcome.error})"))
        elif outcome.result == health.SKIPPED:
            self.progress.note(f"Skipped: {outcome.label} ({outcome.error})", stream=self.stderr)
        self.progress.advance()
