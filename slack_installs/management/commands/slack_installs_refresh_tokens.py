"""``manage.py slack_installs_refresh_tokens``: refresh rotating tokens before they expire."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import tokens
from slack_installs.conf import app_settings
from slack_installs.management.enqueue import background_task
from slack_installs.management.progress import Progress


class Command(BaseCommand):
    help = "Refresh every rotating bot and user token expiring within TOKEN_REFRESH_MARGIN."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run",
            action="store_true",
            help="List the tokens that are due; call Slack for none of them.",
        )
        mode.add_argument(
            "--enqueue",
            action="store_true",
            help="Enqueue one task per due token (slack_installs.tasks.refresh_token) on the "
            "TASKS backend, for its workers to share, instead of refreshing here.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=tokens.DEFAULT_CONCURRENCY,
            help=f"Slack calls at once (default {tokens.DEFAULT_CONCURRENCY}; 1 to "
            f"{tokens.MAX_CONCURRENCY}). SQLite refreshes one at a time whatever this says.",
        )

    def handle(
        self, *args: Any, dry_run: bool, enqueue: bool, concurrency: int, **options: Any
    ) -> None:
        if not 1 <= concurrency <= tokens.MAX_CONCURRENCY:
            raise CommandError(f"--concurrency must be between 1 and {tokens.MAX_CONCURRENCY}.")
        if enqueue:
            self.enqueue_each()
            return
        self.dry_run = dry_run
        self.verbose = int(options["verbosity"]) >= 2
        due = tokens.due_tokens()
        self.progress = Progress(self.stdout, len(due), "tokens")
        margin = app_settings.TOKEN_REFRESH_MARGIN
        outcomes = tokens.refresh_due_tokens(
            dry_run=dry_run, on_outcome=self.show, concurrency=concurrency, due=due
        )
        self.progress.finish()
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
            self.progress.note(f"Failed: {outcome.label}: {outcome.error}", stream=self.stderr)
        elif self.dry_run:
            self.progress.note(f"Due: {outcome.label}")
        elif self.verbose:
            self.progress.note(self.style.SUCCESS(f"Refreshed: {outcome.label}"))
        self.progress.advance()

    def enqueue_each(self) -> None:
        refresh_token = background_task("refresh_token")
        due = tokens.due_tokens()
        for token in due:
            refresh_token.enqueue(kind=token.kind, pk=token.pk)
        self.stdout.write(
            self.style.SUCCESS(
                f"Enqueued {len(due)} tasks of {refresh_token.name}, one per due token, on "
                f"the {refresh_token.backend!r} tasks backend."
            )
        )
