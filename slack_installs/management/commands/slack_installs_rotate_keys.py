"""``manage.py slack_installs_rotate_keys``: re-encrypt every stored value under the active key."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import keyrotation
from slack_installs.conf import app_settings
from slack_installs.management.enqueue import background_task, enqueued
from slack_installs.management.progress import Progress


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value under ACTIVE_KEY_ID, in resumable batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=keyrotation.DEFAULT_BATCH_SIZE,
            help=f"Rows locked and committed together (default {keyrotation.DEFAULT_BATCH_SIZE}).",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted; write and lock nothing.",
        )
        mode.add_argument(
            "--verify",
            action="store_true",
            help="Print how many values use each key id; exit 1 while any uses another key "
            "than ACTIVE_KEY_ID.",
        )
        mode.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the rotation to the TASKS backend (slack_installs.tasks.rotate_keys): "
            "each batch its own task, the next enqueued when one is done.",
        )
        parser.add_argument(
            "--database",
            help="Database alias to work on (default: the one the routers pick for each model).",
        )

    def handle(
        self,
        *args: Any,
        batch_size: int,
        dry_run: bool,
        verify: bool,
        enqueue: bool,
        database: str,
        **options: Any,
    ) -> None:
        if verify:
            self.verify(database)
            return
        if not 1 <= batch_size <= keyrotation.MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {keyrotation.MAX_BATCH_SIZE}.")
        if enqueue:
            if database:
                raise CommandError("--enqueue works on the routers' databases: drop --database.")
            self.stdout.write(enqueued(background_task("rotate_keys"), batch_size=batch_size))
            return
        self.rotate(batch_size, dry_run=dry_run, using=database)

    def rotate(self, batch_size: int, *, dry_run: bool, using: str | None) -> None:
        active = app_settings.ACTIVE_KEY_ID
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}rotating to key {active!r}")
        undecryptable = 0
        for entry in keyrotation.encrypted_models():
            self.progress: Progress | None = None  # made at the first batch, which knows the total
            report = keyrotation.rotate_model(
                entry,
                batch_size=batch_size,
                dry_run=dry_run,
                using=using,
                on_batch=self.show_progress,
            )
            self.end_progress()
            for problem in report.undecryptable:
                self.stderr.write(f"Cannot decrypt {problem}; left untouched.")
            undecryptable += len(report.undecryptable)
            self.stdout.write(
                self.style.SUCCESS(
                    f"{report.label}: {report.done}/{report.total} rows, "
                    f"{verb} {report.values_reencrypted} values"
                )
            )
        if undecryptable:
            raise CommandError(
                f"{undecryptable} values could not be decrypted and were left untouched; "
                "if their key id is missing from ENCRYPTION_KEYS, add it back and run again.",
                returncode=1,
            )

    def end_progress(self) -> None:
        if self.progress is not None:
            self.progress.finish()

    def show_progress(self, report: keyrotation.ModelRotation) -> None:
        if self.progress is None:
            self.progress = Progress(self.stdout, report.total, "rows", every=1, label=report.label)
        self.progress.advance(report.done - self.progress.done)

    def verify(self, using: str | None) -> None:
        active = app_settings.ACTIVE_KEY_ID
        totals: Counter[str] = Counter()
        for label, fields in keyrotation.key_usage(using=using).items():
            for name, counter in fields.items():
                counts = ", ".join(f"{key_id}: {n}" for key_id, n in sorted(counter.items()))
                self.stdout.write(f"{label}.{name}: {counts or 'no values'}")
                totals.update(counter)
        others = {key_id: n for key_id, n in totals.items() if key_id != active}
        self.stdout.write(
            f"Total: {totals[active]} values under the active key {active!r}"
            + "".join(f", {n} under {key_id!r}" for key_id, n in sorted(others.items()))
        )
        if others:
            raise CommandError(
                f"{sum(others.values())} values are not under the active key {active!r}; "
                "run `manage.py slack_installs_rotate_keys`.",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"Every value is under the active key {active!r}."))
