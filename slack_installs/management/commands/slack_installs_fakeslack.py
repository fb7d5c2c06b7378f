"""Serve the fake Slack in the foreground, for trying installs without a Slack account."""

from __future__ import annotations

import argparse
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slack_installs.testing import FakeSlack
from slack_installs.testing.database import database_resolver


def seconds(value: str) -> float:
    """``--latency``'s value: a finite number of seconds, zero or more."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"expected seconds (such as 0.05), not {value!r}")
    return number


class Command(BaseCommand):
    help = "Run a fake Slack (OAuth consent page and Web API) on loopback until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default: 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=int, default=8765, help="Port to listen on (default: 8765; 0 = any)."
        )
        parser.add_argument(
            "--app",
            action="append",
            default=[],
            metavar="CLIENT_ID:CLIENT_SECRET[:SIGNING_SECRET]",
            help="Register an app by its credentials; repeat for several apps.",
        )
        parser.add_argument(
            "--no-database",
            action="store_true",
            help="Do not know the Slack apps stored in the database, only those given by --app.",
        )
        parser.add_argument(
            "--token-rotation",
            action="store_true",
            help="Hand out rotating tokens (expires_in and refresh_token) for every app.",
        )
        parser.add_argument(
            "--latency",
            type=seconds,
            default=0.0,
            metavar="SECONDS",
            help="Add this many seconds to every Web API answer, such as 0.05 (default: 0).",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        app: list[str],
        no_database: bool,
        token_rotation: bool,
        latency: float,
        **options: Any,
    ) -> None:
        resolver = None if no_database else database_resolver(token_rotation=token_rotation)
        fake = FakeSlack(host, port, resolve_app=resolver, latency=latency)
        for value in app:
            client_id, _, rest = value.partition(":")
            client_secret, _, signing_secret = rest.partition(":")
            if not client_id or not client_secret:
                # The value is not echoed: it holds a secret.
                raise CommandError("--app takes CLIENT_ID:CLIENT_SECRET[:SIGNING_SECRET]")
            fake.register_app(
                client_id,
                client_secret,
                signing_secret=signing_secret,
                token_rotation=token_rotation,
            )
        database = resolver is not None
        try:
            fake.serve_forever(ready=lambda: self._announce(fake, len(app), database))
        except KeyboardInterrupt:
            self.stdout.write("Fake Slack stopped.")
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def _announce(self, fake: FakeSlack, registered: int, database: bool) -> None:
        known = [f"{registered} app(s) from --app"] if registered else []
        if database:
            known.append("every Slack app in the database")
        self.stdout.write(self.style.SUCCESS(f"Fake Slack running at {fake.url}"))
        self.stdout.write(f"Knows: {', '.join(known) or 'no app yet (use --app)'}.")
        if fake.latency:
            self.stdout.write(f"Adds {fake.latency * 1000:g} ms to every Web API answer.")
        issued = fake.issue_configuration_token()
        self.stdout.write(
            f"App configuration token of {issued.team_id} (for “Create on Slack” in the admin):\n"
            f"    token:          {issued.token}\n"
            f"    refresh token:  {issued.refresh_token}"
        )
        self.stdout.write(
            "Point your site at it:\n"
            f'    SLACK_INSTALLS["SLACK_URL"] = "{fake.url}"\n'
            f'    SLACK_INSTALLS["API_URL"] = "{fake.api_url}"\n'
            "Press Ctrl-C to stop."
        )
        self.stdout.flush()  # the URL matters to whoever reads this through a pipe
