"""The fake Slack's app manifest methods and app configuration tokens.

``ManifestAPI`` is a third half of ``FakeSlack``, beside ``webapi.WebAPI`` and
``consent.ConsentPages``: ``apps.manifest.create/update/export/validate/delete`` and
``tooling.tokens.rotate``, with Slack's shapes and errors. An app made with
``apps.manifest.create`` is registered, so the fake then accepts installs of it.
``issue_configuration_token()`` makes the token a person would copy from Slack's
"Your apps" page.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from . import wire
from .records import FakeApp, FakeSlackError, IssuedToken, Workspace
from .webapi import digits, random_id

CONFIGURATION_TOKEN_LIFETIME = 43200  # seconds: Slack's configuration tokens last 12 hours
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# Slack's schema, kept apart from slack_installs.manifests on purpose: the fake plays Slack,
# so a key our own check gets wrong shows up in the tests instead of agreeing with itself.
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


@dataclass(frozen=True)
class ConfigurationTokens:
    """An app configuration token and its refresh token, as Slack's "Your apps" page shows."""

    token: str
    refresh_token: str
    team_id: str
    user_id: str
    expires_at: float


@dataclass(frozen=True)
class ConfigurationToken:
    """One configuration token (``kind`` ``access``) or refresh token (``refresh``) issued."""

    value: str
    kind: str
    workspace: Workspace
    user_id: str
    expires_at: float | None = None
    spent: bool = False


@dataclass
class _StoredManifest:
    client_id: str
    team_id: str
    manifest: dict[str, Any]


class ManifestAPI:
    """The app-manifest half of ``FakeSlack``, which owns the state and the lock."""

    # Provided by FakeSlack: its URL, the workspaces, the app registry and the lock.
    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

    workspace: Callable[[str | Workspace | None], Workspace]
    _lock: threading.RLock
    _apps: dict[str, FakeApp]
    _tokens: dict[str, IssuedToken]
    _config_tokens: dict[str, ConfigurationToken]
    _manifests: dict[str, _StoredManifest]

    # --- For tests and the demo ------------------------------------------------------------

    def issue_configuration_token(
        self,
        workspace: str | Workspace | None = None,
        *,
        lifetime: float = CONFIGURATION_TOKEN_LIFETIME,
    ) -> ConfigurationTokens:
        """Make an app configuration token of ``workspace`` (default the first), as a person
        does on Slack's "Your apps" page: paste it into the admin to create apps."""
        ws = self.workspace(workspace)
        with self._lock:
            access, refresh = self._issue_configuration_pair(ws, ws.installer_id, lifetime)
        return ConfigurationTokens(
            token=access.value,
            refresh_token=refresh.value,
            team_id=ws.team_id or ws.enterprise_id,
            user_id=ws.installer_id,
            expires_at=access.expires_at or 0.0,
        )

    def expire_configuration_token(self, value: str) -> None:
        """Make a configuration token expired now (``token_expired`` from then on)."""
        with self._lock:
            token = self._config_tokens.get(value)
            if token is None:
                raise FakeSlackError("that configuration token was not issued by this fake Slack")
            self._config_tokens[value] = dataclasses.replace(token, expires_at=time.time() - 1)

    def configuration_tokens(self, *, kind: str | None = None) -> list[ConfigurationToken]:
        """Configuration and refresh tokens handed out so far, oldest first."""
        with self._lock:
            return [t for t in self._config_tokens.values() if kind is None or t.kind == kind]

    def manifest_of(self, app_id: str) -> dict[str, Any] | None:
        """Slack's copy of the manifest of ``app_id`` (what ``apps.manifest.export`` answers)."""
        with self._lock:
            stored = self._manifests.get(app_id)
            return json.loads(json.dumps(stored.manifest)) if stored else None

    # --- Dispatch (webapi.WebAPI._api asks for these) ----------------------------------------

    def _extra_methods(self) -> dict[str, Callable[[wire.ApiRequest], dict[str, Any]]]:
        methods: dict[str, Callable[[wire.ApiRequest], dict[str, Any]]] = {
            **super()._extra_methods(),  # type: ignore[misc]
            "apps.manifest.create": self._manifest_create,
            "apps.manifest.update": self._manifest_update,
            "apps.manifest.export": self._manifest_export,
            "apps.manifest.validate": self._manifest_validate,
            "apps.manifest.delete": self._manifest_delete,
            "tooling.tokens.rotate": self._tooling_tokens_rotate,
        }
        return methods

    # --- Tokens ----------------------------------------------------------------------------

    def _issue_configuration_pair(
        self, workspace: Workspace, user_id: str, lifetime: float
    ) -> tuple[ConfigurationToken, ConfigurationToken]:
        access = ConfigurationToken(
            value=f"xoxe.xoxp-1-{secrets.token_urlsafe(48)}",
            kind="access",
            workspace=workspace,
            user_id=user_id,
            expires_at=time.time() + lifetime,
        )
        refresh = ConfigurationToken(
            value=f"xoxe-1-{secrets.token_urlsafe(48)}",
            kind="refresh",
            workspace=workspace,
            user_id=user_id,
        )
        self._config_tokens[access.value] = access
        self._config_tokens[refresh.value] = refresh
        return access, refresh

    def _configuration_token(self, request: wire.ApiRequest) -> ConfigurationToken:
        value = request.token
        if not value:
            raise wire.Refused("not_authed")
        if value in self._tokens:
            raise wire.Refused("not_allowed_token_type")
        token = self._config_tokens.get(value)
        if token is None or token.kind != "access" or token.spent:
            raise wire.Refused("invalid_auth")
        if token.expires_at is not None and token.expires_at <= time.time():
            raise wire.Refused("token_expired")
        return token

    def _tooling_tokens_rotate(self, request: wire.ApiRequest) -> dict[str, Any]:
        old = self._config_tokens.get(str(request.params.get("refresh_token") or ""))
        if old is None or old.kind != "refresh" or old.spent:
            raise wire.Refused("invalid_refresh_token")
        # Single-use: this refresh token is spent, a new pair replaces it.
        self._config_tokens[old.value] = dataclasses.replace(old, spent=True)
        access, refresh = self._issue_configuration_pair(
            old.workspace, old.user_id, CONFIGURATION_TOKEN_LIFETIME
        )
        now = int(time.time())
        return {
            "ok": True,
            "token": access.value,
            "refresh_token": refresh.value,
            "team_id": old.workspace.team_id or old.workspace.enterprise_id,
            "user_id": old.user_id,
            "iat": now,
            "exp": int(access.expires_at or now),
        }

    # --- The manifest methods ----------------------------------------------------------------

    def _manifest_create(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._configuration_token(request)
        manifest = self._valid_manifest(request)
        app = FakeApp(
            client_id=f"{digits(12)}.{digits(13)}",
            client_secret=secrets.token_hex(16),
            signing_secret=secrets.token_hex(16),
            name=manifest["display_information"]["name"],
            app_id=random_id("A0", 9),
            token_rotation=_settings(manifest).get("token_rotation_enabled") is True,
        )
        workspace = token.workspace
        self._apps[app.client_id] = app
        self._manifests[app.app_id] = _StoredManifest(
            app.client_id, workspace.key, _as_stored(manifest)
        )
        scopes = manifest.get("oauth_config", {}).get("scopes", {})
        query = {"client_id": app.client_id, "scope": ",".join(scopes.get("bot", []))}
        if scopes.get("user"):
            query["user_scope"] = ",".join(scopes["user"])
        return {
            "ok": True,
            "app_id": app.app_id,
            "credentials": {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "verification_token": secrets.token_hex(12),
                "signing_secret": app.signing_secret,
            },
            "oauth_authorize_url": f"{self.url}/oauth/v2/authorize?{urlencode(query)}",
            "team_id": workspace.team_id or workspace.enterprise_id,
            "team_domain": workspace.domain,
        }

    def _manifest_update(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._configuration_token(request)
        stored = self._stored(request, token)
        manifest = self._valid_manifest(request)
        before = stored.manifest.get("oauth_config", {}).get("scopes", {})
        stored.manifest = _as_stored(manifest)
        after = stored.manifest.get("oauth_config", {}).get("scopes", {})
        app = self._apps.get(stored.client_id)
        if app is not None:
            self._apps[stored.client_id] = dataclasses.replace(
                app,
                name=manifest["display_information"]["name"],
                token_rotation=_settings(manifest).get("token_rotation_enabled") is True,
            )
        return {
            "ok": True,
            "app_id": request.params["app_id"],
            "permissions_updated": before != after,
        }

    def _manifest_export(self, request: wire.ApiRequest) -> dict[str, Any]:
        stored = self._stored(request, self._configuration_token(request))
        return {"ok": True, "manifest": json.loads(json.dumps(stored.manifest))}

    def _manifest_validate(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._configuration_token(request)
        if request.params.get("app_id"):
            self._stored(request, token)
        self._valid_manifest(request)
        return {"ok": True}

    def _manifest_delete(self, request: wire.ApiRequest) -> dict[str, Any]:
        stored = self._stored(request, self._configuration_token(request))
        del self._manifests[str(request.params["app_id"])]
        self._apps.pop(stored.client_id, None)
        return {"ok": True}

    def _stored(self, request: wire.ApiRequest, token: ConfigurationToken) -> _StoredManifest:
        stored = self._manifests.get(str(request.params.get("app_id") or ""))
        # A token reaches only the apps of its own workspace.
        if stored is None or stored.team_id != token.workspace.key:
            raise wire.Refused("invalid_app_id")
        return stored

    def _valid_manifest(self, request: wire.ApiRequest) -> dict[str, Any]:
        raw = request.params.get("manifest")
        try:
            manifest = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            raise wire.Refused(
                "invalid_manifest",
                errors=[
                    {
                        "code": "invalid_json",
                        "message": "The manifest must be a JSON object",
                        "pointer": "/",
                    }
                ],
            )
        errors = manifest_errors(manifest)
        if errors:
            raise wire.Refused("invalid_manifest", errors=errors)
        return manifest


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _settings(manifest: dict[str, Any]) -> dict[str, Any]:
    return _object(manifest.get("settings"))


def _error(pointer: str, message: str, code: str = "failed_constraint") -> dict[str, str]:
    return {"code": code, "message": message, "pointer": pointer}


def manifest_errors(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """What Slack's manifest validation says about ``manifest``, in its ``errors[]`` shape."""
    errors = [
        _error(f"/{key}", f"Unknown property {key}", "additional_properties_not_allowed")
        for key in manifest
        if key not in TOP_LEVEL_KEYS
    ]
    info = manifest.get("display_information")
    name = info.get("name") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > 35:
        errors.append(_error("/display_information/name", "Must be 1 to 35 characters long"))
    features = _object(manifest.get("features"))
    oauth = _object(manifest.get("oauth_config"))
    scopes = _object(oauth.get("scopes"))
    if scopes.get("bot") and not isinstance(features.get("bot_user"), dict):
        errors.append(_error("/features/bot_user", "A bot user is required for bot scopes"))
    for index, url in enumerate(oauth.get("redirect_urls") or []):
        if not _acceptable_url(url):
            errors.append(
                _error(f"/oauth_config/redirect_urls/{index}", "Redirect URLs must use https")
            )
    events = _settings(manifest).get("event_subscriptions")
    if isinstance(events, dict) and not _acceptable_url(events.get("request_url")):
        errors.append(
            _error(
                "/settings/event_subscriptions/request_url",
                "Event Subscription requires a valid request URL",
            )
        )
    for index, command in enumerate(features.get("slash_commands") or []):
        text = command.get("command") if isinstance(command, dict) else None
        if not isinstance(text, str) or not text.startswith("/") or len(text) > 32:
            errors.append(
                _error(
                    f"/features/slash_commands/{index}/command",
                    "A slash command starts with / and has at most 32 characters",
                )
            )
    return errors


def _acceptable_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    )


def _as_stored(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as Slack keeps and exports it: its own ``_metadata``, defaults filled
    in, empty scope lists dropped and scopes sorted."""
    stored: dict[str, Any] = json.loads(json.dumps(manifest))
    stored["_metadata"] = {"major_version": 1, "minor_version": 1}
    settings = stored.setdefault("settings", {})
    for key in ("org_deploy_enabled", "socket_mode_enabled", "token_rotation_enabled"):
        settings.setdefault(key, False)
    settings.setdefault("is_hosted", False)
    bot_user = stored.get("features", {}).get("bot_user")
    if isinstance(bot_user, dict):
        bot_user.setdefault("always_online", False)
    scopes = stored.get("oauth_config", {}).get("scopes")
    if isinstance(scopes, dict):
        for kind in list(scopes):
            if scopes[kind]:
                scopes[kind] = sorted(scopes[kind])
            else:
                del scopes[kind]
    return stored
