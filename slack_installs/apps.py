"""The app's configuration: its system checks and built-in pipeline steps are registered here."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import Tags, register
from django.utils.translation import gettext_lazy as _


class SlackInstallsConfig(AppConfig):
    name = "slack_installs"
    verbose_name = _("Slack installs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready, not when INSTALLED_APPS loads this module.
        from . import checks, pipelines  # noqa: F401  (pipelines registers the built-in steps)

        register(checks.check_encryption_keys, "slack_installs")
        register(checks.check_pipeline_paths, "slack_installs")
        register(checks.check_database, "slack_installs")
        register(checks.check_sign_in, "slack_installs")
        register(checks.check_keys_in_use, "slack_installs", Tags.database)
        register(checks.check_saved_pipelines, "slack_installs", Tags.database)
