"""``manage.py slack_installs_refresh_tokens``: refresh rotating tokens before they expire."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import tokens
from slack_installs.conf import app_settings


class Command(BaseCommand):
    dry_run = False
    help = "Refresh every rotating bot and user token expiring within TOKEN_REFRESH_MARGIN."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the tokens that are due; call Slack for none of them.",
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        self.dry_run = dry_run
        margin = app_settings.TOKEN_REFRESH_MARGIN
        outcomes = tokens.refresh_due_tokens(dry_run=dry_run, on_outcome=self.show)
        failed = [outcome for outcome in outcomes if outcome.error]
        verb = "due" if dry_run else "refreshed"
        self.stdout.write(
            f"{len(outcomes) - len(failed)} tokens {verb} (expiring within {margin} s), "
            f"{len(failed)} failed."
        )
        if failed:
            raise CommandError(
                f"{len(failed)} tokens could not be refreshed; see above.", returncode=1
            )

    def show(self, outcome: tokens.RefreshOutcome) -> None:
        if outcome.error:
            self.stderr.write(f"Failed: {outcome.label}: {outcome.error}")
        elif self.dry_run:
            self.stdout.write(f"Due: {outcome.label}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Refreshed: {outcome.label}"))
