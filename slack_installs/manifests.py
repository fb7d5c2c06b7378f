"""The Slack app itself, configured from its admin row: app manifests.

``build_manifest`` is the manifest that matches a ``SlackApp``; ``validate_manifest``
refuses what Slack's rules would refuse before anything reaches Slack; ``compare``
lists the differences from Slack's copy by JSON pointer. ``create_on_slack``,
``push_to_slack`` and ``compare_with_slack`` call Slack (through ``client``) with the
app's configuration token, which is rotated under a row lock when it is due: its
refresh token is single-use, so of many workers only the first rotates it.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from django.db import DatabaseError, router, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import client, signin
from .conf import app_settings
from .exceptions import ConfigurationTokenError, ManifestError, SlackAPIError
from .fields import has_stored_value
from .models import LOOPBACK_HOSTS, ConfigurationToken, SlackApp, slack_id_shape, split_scopes
from .tokens import is_due, locked_row

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# The top-level keys of Slack's manifest schema (slackapi/manifest-schema).
TOP_LEVEL_KEYS = frozenset(
    {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
        "outgoing_domains",
        "functions",
        "workflows",
        "datastores",
        "types",
        "external_auth_providers",
        "app_directory",
        "compliance",
    }
)
NAME_LIMIT = 35  # characters Slack allows in display_information.name
DISPLAY_NAME_LIMIT = 80  # and in features.bot_user.display_name
# Without them a dead install looks alive (docs/events.md); org-ready apps also follow
# which workspaces of the org they reach.
REQUIRED_EVENTS = ("app_uninstalled", "tokens_revoked")
ORG_EVENTS = ("team_access_granted", "team_access_revoked")
# Slack's "create an app" page, prefilled with ?new_app=1&manifest_json=<the JSON>.
CREATE_APP_URL = "https://api.slack.com/apps"
CONFIGURATION_TOKEN_LIFETIME = datetime.timedelta(hours=12)
# Answers that a fresh token may cure: rotate, then try once more.
EXPIRED_TOKEN_ERRORS = frozenset({"token_expired", "invalid_auth"})
# Answers of tooling.tokens.rotate that no retry cures: a new token must be pasted.
DEAD_REFRESH_ERRORS = frozenset({"invalid_refresh_token", "invalid_auth", "token_revoked"})
_APP_ID = slack_id_shape("A")

# Values Slack's export fills in by itself (JSON pointers, ``*`` for any list index): a
# key missing on one side and at this value on the other is no difference.
SLACK_DEFAULTS: dict[str, Any] = {
    "/features/bot_user/always_online": False,
    "/features/app_home/home_tab_enabled": False,
    "/features/app_home/messages_tab_enabled": False,
    "/features/app_home/messages_tab_read_only_enabled": False,
    "/features/slash_commands/*/should_escape": False,
    "/oauth_config/token_management_enabled": False,
    "/settings/interactivity/is_enabled": False,
    "/settings/is_hosted": False,
    "/settings/org_deploy_enabled": False,
    "/settings/socket_mode_enabled": False,
    "/settings/token_rotation_enabled": False,
    "/settings/function_runtime": "remote",
}
IGNORED = frozenset({"/_metadata"})

# Which admin field a manifest pointer comes from (the longest prefix wins).
FIELD_OF_POINTER = {
    "/display_information/name": "name",
    "/features/bot_user/display_name": "name",
    "/oauth_config/redirect_urls": "redirect_uri",
    "/oauth_config/scopes/bot": "bot_scopes",
    "/oauth_config/scopes/user": "user_scopes",
    "/settings/org_deploy_enabled": "org_deploy_enabled",
    "/settings/token_rotation_enabled": "token_rotation_enabled",
}


# --- Building ----------------------------------------------------------------------------


def base_url_of(base_url: str | None = None) -> str:
    """Where Slack reaches this site: ``base_url``, else ``REDIRECT_BASE_URL``."""
    base = (base_url or app_settings.REDIRECT_BASE_URL or "").rstrip("/")
    if not base:
        raise ManifestError(
            "The manifest needs this site's address: set SLACK_INSTALLS['REDIRECT_BASE_URL'] "
            "(or pass --base-url)."
        )
    return base


def build_manifest(app: SlackApp, *, base_url: str | None = None) -> dict[str, Any]:
    """The Slack app manifest that matches the admin row of ``app``.

    URLs are absolute: ``base_url``, else ``REDIRECT_BASE_URL``. ``app.manifest_extra``
    is deep-merged last (see ``deep_merge``).
    """
    base = base_url_of(base_url)
    bot_scopes = split_scopes(app.bot_scopes)
    user_scopes = split_scopes(app.user_scopes)
    callback = reverse("slack_installs:callback", kwargs={"slug": app.slug})
    events = reverse("slack_installs:events", kwargs={"slug": app.slug})
    bot_events = [*REQUIRED_EVENTS, *(ORG_EVENTS if app.org_deploy_enabled else ())]
    redirect_urls = [app.redirect_uri or f"{base}{callback}"]
    if app.sign_in_enabled:
        # Sign in with Slack comes back to its own callback, with OpenID Connect's user scopes.
        sign_in_callback = reverse("slack_installs:sign_in_callback", kwargs={"slug": app.slug})
        redirect_urls.append(f"{base}{sign_in_callback}")
        user_scopes += [scope for scope in signin.SCOPES if scope not in user_scopes]
    scopes: dict[str, list[str]] = {}
    if bot_scopes:
        scopes["bot"] = bot_scopes
    if user_scopes:
        scopes["user"] = user_scopes
    manifest: dict[str, Any] = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": app.name},
    }
    if bot_scopes:
        # Bot scopes need a bot user.
        manifest["features"] = {
            "bot_user": {"display_name": app.name[:DISPLAY_NAME_LIMIT], "always_online": False}
        }
    manifest["oauth_config"] = {
        "redirect_urls": redirect_urls,
        "scopes": scopes,
    }
    manifest["settings"] = {
        "event_subscriptions": {"request_url": f"{base}{events}", "bot_events": bot_events},
        "org_deploy_enabled": app.org_deploy_enabled,
        "socket_mode_enabled": False,
        "token_rotation_enabled": app.token_rotation_enabled,
    }
    extra = app.manifest_extra if isinstance(app.manifest_extra, dict) else {}
    return deep_merge(manifest, extra)


def deep_merge(ours: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``ours`` with ``extra`` merged in: objects key by key, lists of names (events,
    scopes, URLs) gain the new names, anything else is replaced."""
    merged = copy.deepcopy(ours)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        elif isinstance(current, list) and isinstance(value, list) and _scalars(current + value):
            merged[key] = current + [item for item in value if item not in current]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False)


def create_app_link(manifest: dict[str, Any]) -> str:
    """Slack's "create an app" page prefilled with ``manifest``: a start without a token."""
    text = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False)
    return f"{CREATE_APP_URL}?new_app=1&manifest_json={quote(text, safe='')}"


def _scalars(items: list[Any]) -> bool:
    return all(isinstance(item, str | int | float | bool) or item is None for item in items)


# --- Checking against Slack's rules -----------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """What Slack would refuse, where: a JSON pointer, as in Slack's ``errors[]``."""

    pointer: str
    message: str


def pointer_of(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to ``parts``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _parts_of(pointer: str) -> list[str]:
    return [
        part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:] if pointer
    ]


def validate_manifest(manifest: Any) -> list[Problem]:
    """What Slack's rules refuse in ``manifest``: no name, a URL that is not https://
    (http:// only for loopback), an unknown top-level key."""
    if not isinstance(manifest, dict):
        return [Problem("", "A manifest is a JSON object.")]
    problems = [
        Problem(pointer_of(key), f"Slack knows no top-level key “{key}”.")
        for key in manifest
        if key not in TOP_LEVEL_KEYS
    ]
    info = manifest.get("display_information")
    name = info.get("name") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("/display_information/name", "Slack needs a name for the app."))
    elif len(name) > NAME_LIMIT:
        problems.append(
            Problem(
                "/display_information/name",
                f"Slack takes at most {NAME_LIMIT} characters for an app's name.",
            )
        )
    features = manifest.get("features")
    bot_user = features.get("bot_user") if isinstance(features, dict) else None
    if isinstance(bot_user, dict):
        display_name = bot_user.get("display_name")
        if not isinstance(display_name, str) or not display_name.strip():
            problems.append(
                Problem("/features/bot_user/display_name", "Slack needs a name for the bot user.")
            )
    for pointer, value in _urls(manifest, ()):
        message = _url_problem(value)
        if message:
            problems.append(Problem(pointer, message))
    return problems


def _urls(value: Any, parts: tuple[str | int, ...]) -> Iterator[tuple[str, Any]]:
    """Every URL in the manifest: values of keys ``url`` / ``*_url``, items of ``*_urls``."""
    if isinstance(value, dict):
        for key, child in value.items():
            key_parts = (*parts, key)
            if key == "url" or key.endswith("_url"):
                yield pointer_of(*key_parts), child
            elif key.endswith("_urls") and isinstance(child, list):
                for index, item in enumerate(child):
                    yield pointer_of(*key_parts, index), item
            else:
                yield from _urls(child, key_parts)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _urls(item, (*parts, index))


def _url_problem(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "Slack needs a URL here."
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return ""
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return ""
    return (
        f"Slack takes only https:// URLs (http:// only for localhost, 127.0.0.1 or [::1]), "
        f"not {value[:200]!r}."
    )


def checked_manifest(app: SlackApp, *, base_url: str | None = None) -> dict[str, Any]:
    """``build_manifest(app)``, or ``ManifestError`` listing what Slack would refuse."""
    manifest = build_manifest(app, base_url=base_url)
    problems = validate_manifest(manifest)
    if problems:
        raise ManifestError(
            f"Slack would refuse the manifest of {app}: "
            + "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems),
            [(p.pointer, p.message) for p in problems],
        )
    return manifest


def field_of(app: SlackApp, pointer: str) -> str | None:
    """The admin field of ``app`` a manifest pointer comes from, if any.

    What ``manifest_extra`` sets is its own; a redirect URL is the override's only when
    one is set (the generated one comes from the site's address).
    """
    parts = _parts_of(pointer)
    if _contains(app.manifest_extra, parts):
        return "manifest_extra"
    for prefix, field in sorted(FIELD_OF_POINTER.items(), key=lambda item: -len(item[0])):
        if pointer == prefix or pointer.startswith(prefix + "/"):
            if field == "redirect_uri" and not app.redirect_uri:
                return None
            return field
    return None


def _contains(data: Any, parts: list[str]) -> bool:
    if not parts or not isinstance(data, dict | list):
        return False
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False
    return True


# --- Comparing with Slack's copy ---------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Difference:
    """One place where our manifest and Slack's copy differ; ``MISSING`` for no value."""

    pointer: str
    ours: Any
    theirs: Any

    @staticmethod
    def show(value: Any) -> str:
        return "(not set)" if value is MISSING else json.dumps(value, ensure_ascii=False)

    def __str__(self) -> str:
        return f"{self.pointer}: ours {self.show(self.ours)}, Slack's {self.show(self.theirs)}"


def compare(ours: Any, theirs: Any) -> list[Difference]:
    """The differences between two manifests, by JSON pointer.

    Not differences: ``_metadata``, a key one side lacks where the other holds Slack's
    default (``SLACK_DEFAULTS``) or an empty value, and the order of a list of names.
    """
    differences: list[Difference] = []
    _compare(ours, theirs, (), differences)
    return differences


def _compare(ours: Any, theirs: Any, parts: tuple[str | int, ...], out: list[Difference]) -> None:
    pointer = pointer_of(*parts)
    if pointer in IGNORED:
        return
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            child = (*parts, key)
            if key not in ours or key not in theirs:
                value = theirs[key] if key not in ours else ours[key]
                if pointer_of(*child) not in IGNORED and not _is_default(child, value):
                    out.append(
                        Difference(
                            pointer_of(*child), ours.get(key, MISSING), theirs.get(key, MISSING)
                        )
                    )
                continue
            _compare(ours[key], theirs[key], child, out)
        return
    if isinstance(ours, list) and isinstance(theirs, list):
        if _scalars(ours) and _scalars(theirs):
            if sorted(map(_canonical, ours)) != sorted(map(_canonical, theirs)):
                out.append(Difference(pointer, ours, theirs))
            return
        for index in range(max(len(ours), len(theirs))):
            if index >= len(ours) or index >= len(theirs):
                mine = ours[index] if index < len(ours) else MISSING
                slacks = theirs[index] if index < len(theirs) else MISSING
                out.append(Difference(pointer_of(*parts, index), mine, slacks))
            else:
                _compare(ours[index], theirs[index], (*parts, index), out)
        return
    if _canonical(ours) != _canonical(theirs):
        out.append(Difference(pointer, ours, theirs))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_default(parts: tuple[str | int, ...], value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    key = pointer_of(*("*" if isinstance(part, int) else part for part in parts))
    if key in SLACK_DEFAULTS and _canonical(SLACK_DEFAULTS[key]) == _canonical(value):
        return True
    if isinstance(value, dict):
        return all(_is_default((*parts, name), child) for name, child in value.items())
    if isinstance(value, list):
        return all(_is_default((*parts, index), item) for index, item in enumerate(value))
    return False


# --- Configuration tokens ----------------------------------------------------------------


def configuration_token_for(app: SlackApp) -> ConfigurationToken:
    """The token ``app`` names, else the only one stored; ``ConfigurationTokenError`` if none."""
    if app.configuration_token_id is not None:
        found = ConfigurationToken.objects.filter(pk=app.configuration_token_id).first()
        if found is not None:
            return found
    stored = list(ConfigurationToken.objects.all()[:2])
    if len(stored) == 1:
        return stored[0]
    if not stored:
        raise ConfigurationTokenError(
            "No app configuration token is stored: make one on Slack's “Your apps” page "
            "(api.slack.com/apps) and add it under “App configuration tokens” in the admin."
        )
    raise ConfigurationTokenError(
        f"Several app configuration tokens are stored: choose the one for {app} in its "
        "“configuration token” field."
    )


def _due(token: ConfigurationToken) -> bool:
    # An expiry nobody told us could be minutes away: rotate first, for a full 12 hours.
    return has_stored_value(token, "refresh_token") and (
        token.expires_at is None or is_due(token.expires_at)
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def access_token(token: ConfigurationToken) -> str:
    """The token's access token, rotated first when it expires within the refresh margin."""
    if _due(token):
        token = rotate_configuration_token(token)
    if not has_stored_value(token, "access_token"):
        raise ConfigurationTokenError(f"{token} holds no token: paste one in the admin.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise ConfigurationTokenError(
            f"{token} expired at {token.expires_at:%Y-%m-%d %H:%M} UTC and has no refresh "
            "token: paste a new one (with its refresh token) in the admin."
        )
    return str(token.access_token)


@sensitive_variables()  # tokens and secrets stay out of error reports
def rotate_configuration_token(
    token: ConfigurationToken, *, stale: str | None = None
) -> ConfigurationToken:
    """Rotate ``token`` with ``tooling.tokens.rotate`` under a row lock, once.

    Whoever held the lock before us may have rotated already: then their token is
    returned. Without ``stale`` the token is rotated only while it is due; with it (an
    access token Slack refused), only while the row still holds that one.
    """
    with transaction.atomic(using=router.db_for_write(ConfigurationToken)):
        locked = locked_row(ConfigurationToken.objects.all(), token.pk)
        if not has_stored_value(locked, "refresh_token"):
            raise ConfigurationTokenError(
                f"{locked} has no refresh token, so it cannot be renewed: paste a new "
                "configuration token and its refresh token in the admin."
            )
        if stale is None and not _due(locked):
            return locked
        if stale is not None and locked.access_token != stale:
            return locked
        try:
            answer = client.tooling_tokens_rotate(str(locked.refresh_token))
        except SlackAPIError as exc:
            if exc.code not in DEAD_REFRESH_ERRORS:
                raise
            raise ConfigurationTokenError(
                f"Slack refused to renew {locked} ({exc.code}): make a new one on Slack's "
                "“Your apps” page and paste it with its refresh token in the admin."
            ) from exc
        new_access, new_refresh = answer.get("token"), answer.get("refresh_token")
        if not (isinstance(new_access, str) and new_access.startswith("xoxe.")) or not (
            isinstance(new_refresh, str) and new_refresh.startswith("xoxe-")
        ):
            raise SlackAPIError("invalid_response", method="tooling.tokens.rotate")
        now = timezone.now()
        locked.access_token = new_access
        locked.refresh_token = new_refresh
        locked.expires_at = _expiry(answer.get("exp"), now)
        locked.rotated_at = now
        locked.save(update_fields=["access_token", "refresh_token", "expires_at", "rotated_at"])
    logger.info("Rotated %s; it expires at %s", locked, locked.expires_at)
    return locked


def _expiry(exp: Any, now: datetime.datetime) -> datetime.datetime:
    if isinstance(exp, int) and not isinstance(exp, bool) and exp > now.timestamp():
        return datetime.datetime.fromtimestamp(exp, tz=datetime.UTC)
    return now + CONFIGURATION_TOKEN_LIFETIME


@sensitive_variables()  # tokens and secrets stay out of error reports
def _with_token(app: SlackApp, operation: Callable[[str], _T]) -> _T:
    """``operation(access token)``; when Slack says the token expired, rotate and retry once.

    Called outside any transaction of ours: a rotation must commit even if the
    operation then fails, since Slack has spent the old refresh token.
    """
    token = configuration_token_for(app)
    used = access_token(token)
    try:
        return operation(used)
    except SlackAPIError as exc:
        if exc.code not in EXPIRED_TOKEN_ERRORS or not has_stored_value(token, "refresh_token"):
            raise
    fresh = rotate_configuration_token(token, stale=used)
    return operation(str(fresh.access_token))


# --- Create, push, export ---------------------------------------------------------------


@sensitive_variables()  # tokens and secrets stay out of error reports
def create_on_slack(app: SlackApp, *, base_url: str | None = None) -> SlackApp:
    """Create ``app`` on Slack (``apps.manifest.create``) and save what Slack answers.

    The app id, client id, client secret and signing secret are saved in one
    transaction, encrypted; the app row is locked meanwhile, so two clicks create one app.
    """
    manifest = checked_manifest(app, base_url=base_url)
    if app.app_id or app.has_credentials:
        raise ManifestError(f"{app} is on Slack already: push its manifest instead.")

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def create(token: str) -> SlackApp:
        answered = False
        try:
            with transaction.atomic(using=router.db_for_write(SlackApp)):
                locked = locked_row(SlackApp.objects.all(), app.pk)
                if locked.app_id or locked.has_credentials:
                    raise ManifestError(f"{locked} is on Slack already: push its manifest instead.")
                answer = client.apps_manifest_create(token, manifest=manifest)
                answered = True
                app_id, client_id, client_secret, signing_secret = _credentials(answer)
                locked.app_id = app_id
                locked.client_id = client_id
                locked.client_secret = client_secret
                locked.signing_secret = signing_secret
                locked.save(
                    update_fields=[
                        "app_id",
                        "client_id",
                        "client_secret",
                        "signing_secret",
                        "updated_at",
                    ]
                )
        except (DatabaseError, SlackAPIError) as exc:
            if not answered:
                raise  # Slack refused: nothing was made there, nothing changed here
            # Slack made the app, but we could not keep its credentials.
            made = answer.get("app_id")
            made = made if isinstance(made, str) and _APP_ID.match(made) else ""
            reason = getattr(exc, "code", type(exc).__name__)
            logger.exception("Slack created app %s for %s, not saved (%s)", made, app.slug, reason)
            which = f"the app {made}" if made else "an app"
            raise ManifestError(
                f"Slack created {which}, but its credentials could not be saved here "
                f"({reason}): delete it on Slack's “Your apps” page and create it again."
            ) from exc
        return locked

    created = _with_token(app, create)
    logger.info("Created Slack app %s for %s from its manifest", created.app_id, created.slug)
    return created


@sensitive_variables()  # tokens and secrets stay out of error reports
def _credentials(answer: dict[str, Any]) -> tuple[str, str, str, str]:
    credentials = answer.get("credentials")
    credentials = credentials if isinstance(credentials, dict) else {}
    app_id = answer.get("app_id")
    values = [credentials.get(key) for key in ("client_id", "client_secret", "signing_secret")]
    if not isinstance(app_id, str) or not _APP_ID.match(app_id):
        raise SlackAPIError("invalid_response", method="apps.manifest.create")
    for value in values:
        if (
            not isinstance(value, str)
            or not value
            or len(value) > 200
            or any(char.isspace() or not char.isprintable() for char in value)
        ):
            raise SlackAPIError("invalid_response", method="apps.manifest.create")
    client_id, client_secret, signing_secret = (str(value) for value in values)
    if len(client_id) > 64:
        raise SlackAPIError("invalid_response", method="apps.manifest.create")
    return app_id, client_id, client_secret, signing_secret


@dataclass(frozen=True)
class Pushed:
    """Slack took the manifest; ``permissions_updated``: scopes changed, so workspaces must
    install the app again to grant them."""

    permissions_updated: bool


def push_to_slack(app: SlackApp, *, base_url: str | None = None) -> Pushed:
    """``apps.manifest.validate``, then ``apps.manifest.update`` with the app's manifest."""
    manifest = checked_manifest(app, base_url=base_url)
    app_id = _app_id_of(app)

    def push(token: str) -> dict[str, Any]:
        client.apps_manifest_validate(token, manifest=manifest, app_id=app_id)
        return client.apps_manifest_update(token, app_id=app_id, manifest=manifest)

    answer = _with_token(app, push)
    logger.info("Pushed the manifest of %s to Slack app %s", app.slug, app_id)
    return Pushed(permissions_updated=answer.get("permissions_updated") is True)


def export_from_slack(app: SlackApp) -> dict[str, Any]:
    """Slack's copy of the app's manifest (``apps.manifest.export``)."""
    app_id = _app_id_of(app)
    answer = _with_token(app, lambda token: client.apps_manifest_export(token, app_id=app_id))
    manifest = answer.get("manifest")
    if isinstance(manifest, str):
        try:
            manifest = json.loads(manifest)
        except ValueError:
            manifest = None
    if not isinstance(manifest, dict):
        raise SlackAPIError("invalid_response", method="apps.manifest.export")
    return manifest


def compare_with_slack(app: SlackApp, *, base_url: str | None = None) -> list[Difference]:
    """How Slack's copy of the app's configuration differs from its manifest here."""
    ours = build_manifest(app, base_url=base_url)
    return compare(ours, export_from_slack(app))


def _app_id_of(app: SlackApp) -> str:
    if not _APP_ID.match(app.app_id or ""):
        raise ManifestError(
            f"{app} is not on Slack yet (it has no Slack app id): create it on Slack first."
        )
    return app.app_id
