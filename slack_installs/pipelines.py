"""Pipeline steps: what runs after an install, picked per app in the admin.

A step is ``step(request, api_data) -> (request, api_data)``, the contract of
django-slack-oauth. While steps run, ``request.slack_app`` and
``request.slack_installation`` are set. ``api_data`` is Slack's ``oauth.v2.access``
answer as received, tokens included: a step must never log or store it as is
(``redact()`` gives a copy without secrets).

Staff may pick only registered steps: the built-ins below, the dotted paths of
``SLACK_INSTALLS["PIPELINES"]`` and functions decorated with ``@register``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from django.core.mail import mail_admins
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from . import client
from .client import redact
from .conf import app_settings
from .exceptions import SlackAPIError

logger = logging.getLogger(__name__)

StepFunction = Callable[[HttpRequest, dict[str, Any]], tuple[HttpRequest, dict[str, Any]]]
_StepT = TypeVar("_StepT", bound=StepFunction)


@dataclass(frozen=True)
class Step:
    path: str
    function: StepFunction
    label: str

    @property
    def description(self) -> str:
        """The first line of the step's docstring."""
        doc = (self.function.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_registered: dict[str, Step] = {}


def path_of(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _label_of(function: Callable[..., Any]) -> str:
    return function.__name__.replace("_", " ").capitalize()


@overload
def register(function: _StepT, *, label: str | None = None) -> _StepT: ...
@overload
def register(function: None = None, *, label: str | None = None) -> Callable[[_StepT], _StepT]: ...
def register(
    function: _StepT | None = None, *, label: str | None = None
) -> _StepT | Callable[[_StepT], _StepT]:
    """Make a function a step staff can pick: ``@register`` or ``@register(label="...")``."""

    def decorate(func: _StepT) -> _StepT:
        path = path_of(func)
        _registered[path] = Step(path, func, label or _label_of(func))
        return func

    return decorate(function) if function is not None else decorate


def registered_steps() -> dict[str, Step]:
    """Every step staff may pick, by dotted path: registered ones, then the setting's."""
    steps = dict(_registered)
    for path in app_settings.PIPELINES:
        if path in steps:
            continue
        try:
            function = import_string(path)
        except ImportError:
            continue  # reported by the system check slack_installs.E004
        if callable(function):
            steps[path] = Step(path, function, _label_of(function))
    return steps


def unregistered_steps(paths: list[str] | None) -> list[str]:
    """The paths of ``paths`` that are not registered steps (saved, then removed from code)."""
    steps = registered_steps()
    return [path for path in paths or [] if path not in steps]


def run_pipelines(
    request: HttpRequest, app: Any, installation: Any, api_data: dict[str, Any]
) -> tuple[HttpRequest, dict[str, Any]]:
    """Run the app's chosen steps in order; a step no longer registered is skipped."""
    request.slack_app = app  # type: ignore[attr-defined]
    request.slack_installation = installation  # type: ignore[attr-defined]
    steps = registered_steps()
    for path in app.pipelines or []:
        step = steps.get(path)
        if step is None:
            logger.warning(
                "Skipping pipeline step %r of Slack app %r: it is not registered", path, app.slug
            )
            continue
        request, api_data = step.function(request, api_data)
    return request, api_data


# --- Built-in steps -------------------------------------------------------------------


@register(label="Link the Django user")
def link_django_user(
    request: HttpRequest, api_data: dict[str, Any]
) -> tuple[HttpRequest, dict[str, Any]]:
    """Link the logged-in Django user to the installation and the installer's user token."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return request, api_data
    installation = request.slack_installation  # type: ignore[attr-defined]
    if installation.installed_by_id is None:
        installation.installed_by = user
        installation.save(update_fields=["installed_by", "updated_at"])
    installation.user_tokens.filter(
        slack_user_id=installation.installer_user_id, user__isnull=True
    ).update(user=user)
    return request, api_data


@register(label="Send a welcome message")
@sensitive_variables()  # tokens and secrets stay out of error reports
def send_welcome_message(
    request: HttpRequest, api_data: dict[str, Any]
) -> tuple[HttpRequest, dict[str, Any]]:
    """Send the installer a direct message from the bot saying the app is ready."""
    installation = request.slack_installation  # type: ignore[attr-defined]
    app = request.slack_app  # type: ignore[attr-defined]
    token = installation.bot_token
    if not token or not installation.installer_user_id:
        return request, api_data
    try:
        client.chat_post_message(
            token,
            channel=installation.installer_user_id,
            text=f"Thanks for installing {app.name}! It is ready to use.",
        )
    except SlackAPIError as exc:
        logger.warning("Welcome message for %s not sent: %s", installation, exc.code)
    return request, api_data


@register(label="Email the site admins")
def notify_admins(
    request: HttpRequest, api_data: dict[str, Any]
) -> tuple[HttpRequest, dict[str, Any]]:
    """Email the site's ADMINS that a workspace installed the app."""
    installation = request.slack_installation  # type: ignore[attr-defined]
    app = request.slack_app  # type: ignore[attr-defined]
    where = installation.team_name or installation.team_id or installation.enterprise_name
    try:
        mail_admins(
            f"{app.name} was installed in {where}",
            f"Slack app: {app.name} ({app.slug})\n"
            f"Workspace: {installation.team_name} ({installation.team_id or 'org-wide'})\n"
            f"Enterprise: {installation.enterprise_name} ({installation.enterprise_id or '-'})\n"
            f"Installed by Slack user: {installation.installer_user_id}\n",
        )
    except Exception:
        # What fail_silently=True did (deprecated in Django 6.1): a mail server that is down
        # does not fail the install's pipeline.
        logger.exception("Could not email the admins about the install in %s", where)
    return request, api_data


@register(label="Log Slack's answer (redacted)")
def log_api_data(
    request: HttpRequest, api_data: dict[str, Any]
) -> tuple[HttpRequest, dict[str, Any]]:
    """Log Slack's oauth.v2.access answer with every token and webhook URL removed."""
    logger.info("Slack install of %s: %s", request.slack_app.slug, redact(api_data))  # type: ignore[attr-defined]
    return request, api_data
