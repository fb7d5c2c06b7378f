"""``manage.py slack_installs_manifest <slug> [--push | --check]``: an app's manifest, for deploys.

Exit codes: 0 done (and, with ``--check``, no drift), 1 Slack's copy differs
(``--check``), 2 the manifest or Slack refused (nothing changed on Slack).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs import manifests
from slack_installs.exceptions import (
    ConfigurationTokenError,
    DecryptionError,
    ManifestError,
    SlackAPIError,
)
from slack_installs.models import SlackApp

DRIFT = 1
FAILED = 2


class Command(BaseCommand):
    help = "Print a Slack app's manifest; --push updates Slack, --check exits 1 on drift."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The slug of the Slack app.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--push",
            action="store_true",
            help="Validate the manifest with Slack, then replace the app's configuration there.",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="Compare with Slack's copy: list the differences and exit 1 when there are any.",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="This site's address as Slack reaches it (default: REDIRECT_BASE_URL).",
        )

    def handle(
        self,
        *args: Any,
        slug: str,
        push: bool,
        check: bool,
        base_url: str | None,
        **options: Any,
    ) -> None:
        app = SlackApp.objects.filter(slug=slug).first()
        if app is None:
            raise CommandError(f"No Slack app with slug {slug!r}.", returncode=FAILED)
        try:
            if check:
                self._check(app, base_url)
            elif push:
                self._push(app, base_url)
            else:
                self.stdout.write(
                    manifests.manifest_json(manifests.build_manifest(app, base_url=base_url))
                )
        except SlackAPIError as exc:
            details = "".join(
                f"\n  {error['pointer'] or '/'}: {error['message']}" for error in exc.errors
            )
            raise CommandError(f"Slack refused ({exc.code}).{details}", returncode=FAILED) from None
        except (ManifestError, ConfigurationTokenError, DecryptionError) as exc:
            raise CommandError(str(exc), returncode=FAILED) from None

    def _push(self, app: SlackApp, base_url: str | None) -> None:
        pushed = manifests.push_to_slack(app, base_url=base_url)
        self.stdout.write(
            self.style.SUCCESS(f"Slack took the manifest of {app.slug} ({app.app_id}).")
        )
        if pushed.permissions_updated:
            self.stdout.write(
                self.style.WARNING(
                    "Its scopes changed: each workspace grants them when it installs the app again."
                )
            )

    def _check(self, app: SlackApp, base_url: str | None) -> None:
        differences = manifests.compare_with_slack(app, base_url=base_url)
        if not differences:
            self.stdout.write(self.style.SUCCESS(f"{app.slug}: Slack's copy matches the manifest."))
            return
        for difference in differences:
            self.stdout.write(str(difference))
        raise CommandError(
            f"{app.slug}: Slack's copy differs in {len(differences)} places; "
            "run with --push to update it.",
            returncode=DRIFT,
        )
