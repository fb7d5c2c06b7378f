from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlackInstallsConfig(AppConfig):
    name = "slack_installs"
    verbose_name = _("Slack installs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, pipelines  # noqa: F401  (registers checks and built-in steps)
