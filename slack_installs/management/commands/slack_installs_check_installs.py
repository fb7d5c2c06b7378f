"""``manage.py slack_installs_check_installs``: ask Slack which installations still work."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import health
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

    def handle(self, *args: Any, app: str | None, dry_run: bool, **options: Any) -> None:
        if app is not None and not SlackApp.objects.filter(slug=app).exists():
            raise CommandError(f"No Slack app with slug {app!r}.")
        self.dry_run = dry_run
        self.total = health.installations_to_check(app=app).count()
        self.done = 0
        # Progress only on a terminal; a log (cron) gets the outcomes and the summary.
        self.show_progress = self.stdout.isatty()
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}checking {self.total} active installations"
            + (f" of {app!r}" if app else "")
            + " with auth.test"
        )
        summary = health.check_installations(app=app, dry_run=dry_run, on_outcome=self.show)
        if self.show_progress:
            self.stdout.write("")  # end the progress line
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
        self.done += 1
        if outcome.result == health.REVOKED:
            verb = "Would revoke" if self.dry_run else "Revoked"
            self.clear_progress()
            self.stdout.write(self.style.WARNING(f"{verb}: {outcome.label} ({outcome.error})"))
        elif outcome.result == health.SKIPPED:
            self.clear_progress()
            self.stderr.write(f"Skipped: {outcome.label} ({outcome.error})")
        if self.show_progress:
            self.stdout.write(f"\r  {self.done}/{self.total} checked", ending="")
            self.stdout.flush()

    def clear_progress(self) -> None:
        if self.show_progress:
            self.stdout.write("\r\033[K", ending="")
