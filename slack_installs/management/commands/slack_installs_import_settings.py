"""Turn django-slack-oauth's settings (and, optionally, its tokens) into the app ``default``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router, transaction
from django.urls import NoReverseMatch, reverse

from slack_installs.compat.settings_import import (
    DEFAULT_SLUG,
    LEGACY_SETTINGS,
    ImportProblem,
    build_default_app,
    legacy_settings_present,
)
from slack_installs.compat.token_import import import_legacy_tokens
from slack_installs.models import SlackApp


class Command(BaseCommand):
    help = (
        "Create or update the Slack app 'default' from django-slack-oauth's SLACK_* settings; "
        "with --from-django-slack-oauth also copy its stored tokens (encrypted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bot-scopes",
            help="Comma-separated v2 bot scopes to use instead of what SLACK_SCOPE maps to "
            "('' for none).",
        )
        parser.add_argument(
            "--user-scopes",
            help="Comma-separated v2 user scopes to use instead of what SLACK_SCOPE maps to "
            "('' for none).",
        )
        parser.add_argument("--name", help="Display name of the app (default: 'Default').")
        parser.add_argument(
            "--from-django-slack-oauth",
            action="store_true",
            help="Also copy the tokens of django-slack-oauth's tables into user tokens.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and show what would be saved, and save nothing.",
        )

    def handle(
        self,
        *args: Any,
        bot_scopes: str | None,
        user_scopes: str | None,
        name: str | None,
        from_django_slack_oauth: bool,
        dry_run: bool,
        **options: Any,
    ) -> None:
        with_tokens = from_django_slack_oauth
        # Where the routers send the app's models: a dry run must roll back the writes there.
        using = router.db_for_write(SlackApp)
        with transaction.atomic(using=using):
            if legacy_settings_present():
                app = self._import_settings(
                    bot_scopes=bot_scopes, user_scopes=user_scopes, name=name, dry_run=dry_run
                )
            elif with_tokens and SlackApp.objects.filter(slug=DEFAULT_SLUG).exists():
                app = SlackApp.objects.get(slug=DEFAULT_SLUG)
                self.stdout.write(
                    "No django-slack-oauth settings: using the existing app 'default'."
                )
            else:
                raise CommandError(
                    f"None of {', '.join(LEGACY_SETTINGS)} is set: nothing to import."
                )
            if with_tokens:
                self._import_tokens(app, dry_run=dry_run)
            if dry_run:
                transaction.set_rollback(True, using=using)
                self.stdout.write(self.style.WARNING("Dry run: nothing was saved."))

    def _import_settings(
        self, *, bot_scopes: str | None, user_scopes: str | None, name: str | None, dry_run: bool
    ) -> SlackApp:
        try:
            result = build_default_app(bot_scopes=bot_scopes, user_scopes=user_scopes, name=name)
        except ImportProblem as exc:
            raise CommandError(f"Nothing was saved:\n{exc}") from None
        app = result.app
        app.save()
        verb = "create" if result.created else "update"
        verb = f"Would {verb}" if dry_run else f"{verb.capitalize()}d"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} the Slack app 'default' (client id {app.client_id}).")
        )
        self.stdout.write(f"  bot scopes:  {app.bot_scopes or '(none)'}")
        self.stdout.write(f"  user scopes: {app.user_scopes or '(none)'}")
        self.stdout.write(f"  pipelines:   {', '.join(app.pipelines) or '(none)'}")
        self.stdout.write(f"  success URL: {app.success_url or '(default)'}")
        self.stdout.write(f"  error URL:   {app.error_url or '(default)'}")
        for note in result.scopes.notes + result.pipelines.notes:
            self.stdout.write(self.style.WARNING(f"  note: {note}"))
        try:
            callback = reverse("slack_installs:callback", kwargs={"slug": DEFAULT_SLUG})
        except NoReverseMatch:
            callback = f"<slack_installs prefix>/{DEFAULT_SLUG}/oauth/callback/"
        self.stdout.write(
            f"Next: add this site's {callback} to the Slack app's Redirect URLs (or keep the "
            "old slack_auth URL as the app's redirect URI override), and set its signing "
            "secret in the admin."
        )
        return app

    def _import_tokens(self, app: SlackApp, *, dry_run: bool) -> None:
        report = import_legacy_tokens(app)
        if not report.tables:
            self.stdout.write(self.style.WARNING("No django-slack-oauth token table was found."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Would import' if dry_run else 'Imported'} {report.imported} user token(s) "
                f"from {', '.join(report.tables)}; "
                f"{report.installations_created} installation(s) created."
            )
        )
        for title, lines in (
            ("Could not map", report.unmapped),
            ("Kept the existing token instead of", report.kept),
        ):
            if lines:
                self.stdout.write(self.style.WARNING(f"{title} {len(lines)} row(s):"))
                for line in lines:
                    self.stdout.write(f"  - {line}")
        self.stdout.write(
            "The old tables still hold these tokens in plaintext: drop them once the import "
            "is checked (python manage.py migrate django_slack_oauth zero)."
        )
