"""django-slack-oauth's settings, scopes and pipelines become the Slack app ``default``.

``slack_installs_import_settings`` is a thin command over these functions; its tokens
are copied by ``compat.token_import``. django-slack-oauth used Slack's v1 OAuth
(``/oauth/authorize``, ``oauth.access``), so its ``SLACK_SCOPE`` is mapped onto v2 bot
and user scopes (``V1_SCOPES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from slack_installs.models import SlackApp
from slack_installs.pipelines import registered_steps

DEFAULT_SLUG = "default"

LEGACY_SETTINGS = (
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPE",
    "SLACK_PIPELINES",
    "SLACK_SUCCESS_REDIRECT_URL",
    "SLACK_ERROR_REDIRECT_URL",
)

# v1 scope -> (v2 bot scopes, v2 user scopes). Granular v1 scopes ("channels:read")
# were granted to the user token django-slack-oauth stored, so they stay user scopes;
# "x:y:bot" / "x:y:user" name their token themselves.
V1_SCOPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bot": (("app_mentions:read", "chat:write", "im:history"), ()),
    "commands": (("commands",), ()),
    "incoming-webhook": (("incoming-webhook",), ()),
    "post": ((), ("chat:write",)),
    "read": ((), ("channels:read", "channels:history", "users:read")),
    # v2 always names the installing user (authed_user.id), so identify needs no scope.
    "identify": ((), ()),
}
# Scopes only approximated: the command prints a note so staff review them.
APPROXIMATED = frozenset({"bot", "post", "read"})
# Whole-account scopes with no v2 counterpart worth guessing.
UNMAPPABLE = frozenset({"client", "admin"})

# django-slack-oauth's own pipeline steps and what replaces them here.
LEGACY_STEPS: dict[str, str | None] = {
    # Every install is already recorded as an OAuthAttempt ("Slack OAuth requests").
    "django_slack_oauth.pipelines.log_request": None,
    "django_slack_oauth.pipelines.debug": "slack_installs.pipelines.log_api_data",
    "django_slack_oauth.pipelines.slack_user": "slack_installs.pipelines.link_django_user",
}


class ImportProblem(Exception):
    """The old settings cannot be imported as they are; the message says what to do."""


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


@dataclass
class ScopeMapping:
    bot: list[str]
    user: list[str]
    notes: list[str] = field(default_factory=list)
    unmappable: list[str] = field(default_factory=list)


def map_v1_scopes(scope: str) -> ScopeMapping:
    """Map django-slack-oauth's comma-separated v1 ``SLACK_SCOPE`` onto v2 scopes."""
    names = _dedupe(part.strip() for part in str(scope or "").replace(" ", ",").split(","))
    bot: list[str] = []
    user: list[str] = []
    mapping = ScopeMapping(bot, user)
    for name in names:
        if name in V1_SCOPES:
            bot_part, user_part = V1_SCOPES[name]
            bot.extend(bot_part)
            user.extend(user_part)
            if name in APPROXIMATED:
                mapping.notes.append(
                    f"v1 scope {name!r} became "
                    + ", ".join(filter(None, [_side("bot", bot_part), _side("user", user_part)]))
                    + ": review it in Slack's app config"
                )
        elif name.endswith(":bot") and name.count(":") == 2:
            bot.append(name.removesuffix(":bot"))
        elif name.endswith(":user") and name.count(":") == 2:
            user.append(name.removesuffix(":user"))
        elif ":" in name or name.startswith("identity."):
            user.append(name)
        else:
            mapping.unmappable.append(name)
    if names == ["identify"]:
        # A sign-in-only app: v2's equivalent is the identity.basic user scope.
        user.append("identity.basic")
        mapping.notes.append("v1 scope 'identify' alone became user scope identity.basic")
    mapping.bot[:] = _dedupe(bot)
    mapping.user[:] = _dedupe(user)
    return mapping


def _side(kind: str, scopes: tuple[str, ...]) -> str:
    return f"{kind} scopes {','.join(scopes)}" if scopes else ""


@dataclass
class PipelineMapping:
    paths: list[str]
    notes: list[str] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)


def map_pipelines(value: Any) -> PipelineMapping:
    """Check ``SLACK_PIPELINES`` against the registry; old built-ins get their successors."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ImportProblem("SLACK_PIPELINES must be a list of dotted paths")
    mapping = PipelineMapping(paths=[])
    registry = registered_steps()
    for raw in value:
        path = str(raw).strip()
        if not path:
            continue
        if path in LEGACY_STEPS:
            successor = LEGACY_STEPS[path]
            if successor is None:
                mapping.notes.append(
                    f"{path} dropped: every install is recorded as a Slack OAuth request"
                )
                continue
            mapping.notes.append(f"{path} replaced by {successor}")
            path = successor
        if path not in registry:
            mapping.unregistered.append(path)
        elif path not in mapping.paths:
            mapping.paths.append(path)
    return mapping


def legacy_settings_present() -> list[str]:
    return [name for name in LEGACY_SETTINGS if hasattr(settings, name)]


@dataclass
class SettingsImport:
    app: SlackApp
    created: bool
    scopes: ScopeMapping
    pipelines: PipelineMapping


def build_default_app(
    *,
    bot_scopes: str | None = None,
    user_scopes: str | None = None,
    name: str | None = None,
) -> SettingsImport:
    """The app ``default`` as the old settings describe it, validated and not saved.

    ``bot_scopes`` / ``user_scopes`` (comma-separated, possibly empty) replace what
    ``SLACK_SCOPE`` maps to. Raises ``ImportProblem`` listing everything to fix.
    """
    problems: list[str] = []
    client_id = str(getattr(settings, "SLACK_CLIENT_ID", None) or "")
    client_secret = str(getattr(settings, "SLACK_CLIENT_SECRET", None) or "")
    if not client_id:
        problems.append("settings.SLACK_CLIENT_ID is not set")
    if not client_secret:
        problems.append("settings.SLACK_CLIENT_SECRET is not set")

    scopes = map_v1_scopes(getattr(settings, "SLACK_SCOPE", "") or "")
    if bot_scopes is not None:
        scopes.bot = _dedupe(s.strip() for s in bot_scopes.split(","))
    if user_scopes is not None:
        scopes.user = _dedupe(s.strip() for s in user_scopes.split(","))
    chosen_by_hand = bot_scopes is not None and user_scopes is not None
    if scopes.unmappable and not chosen_by_hand:
        problems.append(
            f"SLACK_SCOPE has v1 scopes with no v2 counterpart: {', '.join(scopes.unmappable)}."
            " Pass --bot-scopes and --user-scopes (either may be '') to choose v2 scopes"
        )
    if not scopes.bot and not scopes.user and not problems:
        problems.append(
            "No v2 scope results from SLACK_SCOPE: pass --bot-scopes and/or --user-scopes"
        )

    try:
        pipelines = map_pipelines(getattr(settings, "SLACK_PIPELINES", []) or [])
    except ImportProblem as exc:
        problems.append(str(exc))
        pipelines = PipelineMapping(paths=[])
    for path in pipelines.unregistered:
        problems.append(
            f"Pipeline step {path!r} is not registered. Add it to "
            f"SLACK_INSTALLS['PIPELINES'], or decorate it with "
            f"@slack_installs.pipelines.register in a module imported at startup "
            f"(e.g. your AppConfig.ready())"
        )

    app = SlackApp.objects.filter(slug=DEFAULT_SLUG).first()
    created = app is None
    if app is None:
        app = SlackApp(slug=DEFAULT_SLUG, name=name or "Default")
    elif name:
        app.name = name
    app.client_id = client_id
    app.client_secret = client_secret or None
    app.bot_scopes = ",".join(scopes.bot)
    app.user_scopes = ",".join(scopes.user)
    app.pipelines = pipelines.paths
    for setting, attribute in (
        ("SLACK_SUCCESS_REDIRECT_URL", "success_url"),
        ("SLACK_ERROR_REDIRECT_URL", "error_url"),
    ):
        if getattr(settings, setting, None):
            setattr(app, attribute, str(getattr(settings, setting)))  # may be reverse_lazy()

    clash = SlackApp.objects.filter(client_id=client_id).exclude(slug=DEFAULT_SLUG).first()
    if client_id and clash is not None:
        problems.append(f"Client id {client_id} already belongs to the Slack app {clash.slug!r}")
    elif not problems:
        try:
            app.full_clean()
        except ValidationError as exc:
            problems.extend(
                f"{field_name}: {' '.join(messages)}"
                for field_name, messages in exc.message_dict.items()
            )
    if problems:
        raise ImportProblem("\n".join(problems))
    return SettingsImport(app=app, created=created, scopes=scopes, pipelines=pipelines)
