"""``manage.py slack_installs_generate_key``: a new encryption key to paste into settings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from slack_installs import crypto
from slack_installs.conf import app_settings


def new_key_id(existing: set[str]) -> str:
    """A date-based key id (``2026-11``), suffixed when that month already has a key."""
    base = timezone.now().strftime("%Y-%m")
    key_id, suffix = base, 2
    while key_id in existing:
        key_id, suffix = f"{base}-{suffix}", suffix + 1
    return key_id


class Command(BaseCommand):
    help = "Print a new key id and Fernet key for SLACK_INSTALLS['ENCRYPTION_KEYS']."

    # Needed exactly when the keys are missing or broken, which the checks report as errors.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--key-id",
            help="Id to give the key (letters, digits, '.', '_', '-'); default: the month, "
            "e.g. 2026-11.",
        )

    def handle(self, *args: Any, key_id: str | None, **options: Any) -> None:
        existing = set(app_settings.ENCRYPTION_KEYS)
        key_id = key_id or new_key_id(existing)
        if not crypto.is_valid_key_id(key_id):
            raise CommandError(f"--key-id {key_id!r}: use only letters, digits, '.', '_' and '-'.")
        if key_id in existing:
            raise CommandError(f"ENCRYPTION_KEYS already has a key with id {key_id!r}.")
        key = crypto.generate_key()
        self.stdout.write(f"Key id: {key_id}\nKey:    {key}\n")
        self.stdout.write(
            "Add it to SLACK_INSTALLS, keeping every old key until the rotation is done:\n"
            f'    "ENCRYPTION_KEYS": {{..., "{key_id}": "{key}"}},\n'
            f'    "ACTIVE_KEY_ID": "{key_id}",\n'
            "Deploy, then run `manage.py slack_installs_rotate_keys`."
        )
