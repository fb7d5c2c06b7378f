"""The fake Slack's Web API: handing out tokens, and the methods it answers."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import events, wire
from .records import FakeApp, FakeSlackError, IssuedToken, Message, Workspace

if TYPE_CHECKING:
    from .oidc import SignInGrant

ROTATING_TOKEN_LIFETIME = 43200  # seconds, as Slack's rotating tokens
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def random_id(prefix: str, length: int = 9) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def digits(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


@dataclass
class Grant:
    code: str
    client_id: str
    redirect_uri: str
    workspace: Workspace
    bot_scopes: tuple[str, ...]
    user_scopes: tuple[str, ...]
    channel: tuple[str, str]
    expires_at: float
    used: bool = False
    code_challenge: str = ""  # PKCE's S256 challenge from the authorize URL, if any

    def verifies(self, code_verifier: str) -> bool:
        """Whether ``code_verifier`` is the one whose challenge came with the code (RFC 7636)."""
        if not self.code_challenge:
            return True
        digest = hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return bool(code_verifier) and hmac.compare_digest(challenge, self.code_challenge)


class Queued(Protocol):
    remaining: int | None  # None: forever


_QueuedT = TypeVar("_QueuedT", bound=Queued)


def take_queued(queue: list[_QueuedT] | None) -> _QueuedT | None:
    """The first failure of ``queue``, used once more (and dropped once used up)."""
    if not queue:
        return None
    failure = queue[0]
    if failure.remaining is not None:
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
    return failure


@dataclass
class TokenFailure:
    """How ``auth.test`` answers for one token (``FakeSlack.fail_auth_test``)."""

    error: str
    status: int
    retry_after: int | None
    remaining: int | None  # None: every call


GrantT = TypeVar("GrantT", bound="Grant | SignInGrant")


def spend_code(codes: dict[str, GrantT], app: FakeApp, request: wire.ApiRequest) -> GrantT:
    """The grant of the request's ``code``, for ``app`` and its ``redirect_uri``, used up."""
    grant = codes.get(str(request.params.get("code") or ""))
    if (
        grant is None
        or grant.used
        or grant.client_id != app.client_id
        or grant.expires_at <= time.monotonic()
    ):
        raise wire.Refused("invalid_code")
    if str(request.params.get("redirect_uri") or "") != grant.redirect_uri:
        raise wire.Refused("bad_redirect_uri")
    grant.used = True
    return grant


@dataclass
class Webhook:
    client_id: str
    workspace: Workspace
    channel: str
    channel_id: str
    revoked: bool = False


class WebAPI:
    """The Web API half of ``FakeSlack``, which owns the state and calls these under its lock."""

    # Provided by FakeSlack: its URL, the state, the app lookup and the failure injection.
    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

    app: Callable[[str], FakeApp | None]
    _serve: Callable[..., wire.Answer]
    _lock: threading.RLock
    _codes: dict[str, Grant]
    _tokens: dict[str, IssuedToken]
    _webhooks: dict[str, Webhook]
    _bots: dict[tuple[str, str], tuple[str, str]]
    _messages: list[Message]
    _auth_test_failures: dict[str, list[TokenFailure]]
    _ts: int
    workspace: Callable[[str | Workspace | None], Workspace]
    # Provided by oidc.OpenIDConnect, the sign-in part of FakeSlack.
    _openid_connect_token: Callable[[wire.ApiRequest], dict[str, Any]]
    _openid_connect_user_info: Callable[[wire.ApiRequest], dict[str, Any]]

    # --- Issuing tokens --------------------------------------------------------------------

    def _issue(self, app: FakeApp, workspace: Workspace, kind: str, **fields: Any) -> IssuedToken:
        rotating = app.token_rotation
        if kind == "bot":
            value = f"xoxb-{digits(13)}-{digits(13)}-{secrets.token_urlsafe(18)}"
        elif kind == "user":
            value = f"xoxp-{digits(13)}-{digits(13)}-{digits(13)}-{secrets.token_hex(16)}"
        else:
            value = f"xoxe-1-{secrets.token_urlsafe(40)}"
            rotating = False  # refresh tokens do not expire by themselves
        if rotating:
            value = f"xoxe.{value[:4]}-1-{secrets.token_urlsafe(40)}"
        token = IssuedToken(
            value=value,
            kind=kind,
            client_id=app.client_id,
            workspace=workspace,
            expires_at=time.time() + ROTATING_TOKEN_LIFETIME if rotating else None,
            **fields,
        )
        self._tokens[value] = token
        return token

    def _bot_user(self, app: FakeApp, workspace: Workspace) -> tuple[str, str]:
        key = (app.client_id, workspace.key)
        if key not in self._bots:
            prefix = "W" if workspace.enterprise_id else "U"
            self._bots[key] = (random_id(prefix + "0B"), random_id("B0"))
        return self._bots[key]

    def _issue_install(
        self,
        app: FakeApp,
        workspace: Workspace,
        bot_scopes: tuple[str, ...],
        user_scopes: tuple[str, ...],
        channel: tuple[str, str],
    ) -> dict[str, Any]:
        with self._lock:
            answer: dict[str, Any] = {"ok": True, "app_id": app.app_id}
            if bot_scopes:
                bot_user_id, bot_id = self._bot_user(app, workspace)
                bot = self._issue(
                    app, workspace, "bot", user_id=bot_user_id, bot_id=bot_id, scopes=bot_scopes
                )
                answer.update(
                    access_token=bot.value,
                    token_type="bot",
                    scope=",".join(bot_scopes),
                    bot_user_id=bot_user_id,
                )
                answer.update(self._rotation_fields(app, workspace, bot))
            answer.update(
                team=workspace.team_json(),
                enterprise=workspace.enterprise_json(),
                is_enterprise_install=workspace.org_wide,
            )
            authed_user: dict[str, Any] = {"id": workspace.installer_id}
            if user_scopes:
                user = self._issue(
                    app, workspace, "user", user_id=workspace.installer_id, scopes=user_scopes
                )
                authed_user.update(
                    scope=",".join(user_scopes), access_token=user.value, token_type="user"
                )
                authed_user.update(self._rotation_fields(app, workspace, user))
            answer["authed_user"] = authed_user
            if "incoming-webhook" in bot_scopes:
                answer["incoming_webhook"] = self._issue_webhook(app, workspace, channel)
            return answer

    def _rotation_fields(
        self, app: FakeApp, workspace: Workspace, access: IssuedToken
    ) -> dict[str, Any]:
        if not app.token_rotation:
            return {}
        refresh = self._issue(
            app,
            workspace,
            "refresh",
            user_id=access.user_id,
            bot_id=access.bot_id,
            scopes=access.scopes,
            refreshes=access.kind,
        )
        return {"expires_in": ROTATING_TOKEN_LIFETIME, "refresh_token": refresh.value}

    def _issue_webhook(
        self, app: FakeApp, workspace: Workspace, channel: tuple[str, str]
    ) -> dict[str, str]:
        hook_id = random_id("B0")
        path = f"/services/{workspace.team_id or workspace.enterprise_id}/{hook_id}/"
        path += secrets.token_urlsafe(18)
        self._webhooks[path] = Webhook(app.client_id, workspace, channel[0], channel[1])
        return {
            "channel": channel[0],
            "channel_id": channel[1],
            "configuration_url": f"{workspace.url}services/{hook_id}",
            "url": f"{self.url}{path}",
        }

    # --- Web API methods --------------------------------------------------------------------

    def _api(self, environ: dict[str, Any], method: str) -> wire.Answer:
        auth, basic, bearer = wire.parse_auth(environ)
        request = wire.ApiRequest(
            params=wire.parse_params(environ, wire.read_body(environ)),
            auth=auth,
            basic=basic,
            bearer=bearer,
        )
        handler = {
            "oauth.v2.access": self._oauth_v2_access,
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "apps.uninstall": self._apps_uninstall,
            "chat.postMessage": self._chat_post_message,
            "openid.connect.token": self._openid_connect_token,
            "openid.connect.userInfo": self._openid_connect_user_info,
            **self._extra_methods(),
        }.get(method)
        if handler is None:
            return self._serve(method, request, lambda: {"ok": False, "error": "unknown_method"})
        return self._serve(method, request, lambda: handler(request))

    def _extra_methods(self) -> dict[str, Callable[[wire.ApiRequest], dict[str, Any]]]:
        """More methods, from the other halves of ``FakeSlack`` (``manifests.ManifestAPI``)."""
        return {}

    def _client(self, request: wire.ApiRequest) -> FakeApp:
        client_id, client_secret = request.client_credentials()
        app = self.app(client_id)
        if app is None:
            raise wire.Refused("invalid_client_id")
        if not hmac.compare_digest(client_secret.encode(), app.client_secret.encode()):
            raise wire.Refused("bad_client_secret")
        return app

    def _access_token(self, request: wire.ApiRequest) -> IssuedToken:
        value = request.token
        if not value:
            raise wire.Refused("not_authed")
        token = self._tokens.get(value)
        if token is None or token.kind == "refresh":
            raise wire.Refused("invalid_auth")
        if token.revoked:
            raise wire.Refused("token_revoked")
        if token.expires_at is not None and token.expires_at <= time.time():
            raise wire.Refused("token_expired")
        return token

    def _oauth_v2_access(self, request: wire.ApiRequest) -> dict[str, Any]:
        app = self._client(request)
        grant_type = request.params.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return self._refresh(app, str(request.params.get("refresh_token") or ""))
        if grant_type != "authorization_code":
            raise wire.Refused("invalid_grant_type")
        grant = spend_code(self._codes, app, request)
        if not grant.verifies(str(request.params.get("code_verifier") or "")):
            raise wire.Refused("invalid_code_verifier")
        return self._issue_install(
            app,
            grant.workspace,
            grant.bot_scopes,
            grant.user_scopes,
            grant.channel,
        )

    def _refresh(self, app: FakeApp, value: str) -> dict[str, Any]:
        old = self._tokens.get(value)
        if old is None or old.kind != "refresh" or old.revoked or old.client_id != app.client_id:
            raise wire.Refused("invalid_refresh_token")
        # Refresh tokens are single-use: this one is revoked, a new one replaces it.
        self._tokens[value] = dataclasses.replace(old, revoked=True)
        workspace = old.workspace
        access = self._issue(
            app,
            workspace,
            old.refreshes,
            user_id=old.user_id,
            bot_id=old.bot_id,
            scopes=old.scopes,
        )
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": app.app_id,
            "scope": ",".join(old.scopes),
            "token_type": access.kind,
            "access_token": access.value,
            **self._rotation_fields(app, workspace, access),
            "team": workspace.team_json(),
            "enterprise": workspace.enterprise_json(),
            "is_enterprise_install": workspace.org_wide,
        }
        answer["bot_user_id" if access.kind == "bot" else "user_id"] = access.user_id
        return answer

    def _auth_test(self, request: wire.ApiRequest) -> dict[str, Any] | wire.Answer:
        failure = self._take_auth_test_failure(request.token or "")
        if failure is not None and failure.status == 200:
            raise wire.Refused(failure.error)
        if failure is not None:
            headers = [("Retry-After", str(failure.retry_after))] if failure.status == 429 else []
            return wire.json_answer({"ok": False, "error": failure.error}, failure.status, headers)
        token = self._access_token(request)
        workspace = token.workspace
        app = self.app(token.client_id)
        answer: dict[str, Any] = {
            "ok": True,
            "url": workspace.url,
            "team": workspace.team_name or workspace.enterprise_name,
            "user": (app.name if app and token.kind == "bot" else "installer")
            .lower()
            .replace(" ", "_"),
            "team_id": workspace.team_id or workspace.enterprise_id,
            "user_id": token.user_id,
        }
        if token.kind == "bot":
            answer["bot_id"] = token.bot_id
        if workspace.enterprise_id:
            answer["enterprise_id"] = workspace.enterprise_id
        answer["is_enterprise_install"] = workspace.org_wide
        if token.expires_at is not None:
            answer["expires_in"] = max(0, int(token.expires_at - time.time()))
        return answer

    def _take_auth_test_failure(self, token: str) -> TokenFailure | None:
        return take_queued(self._auth_test_failures.get(token))

    def fail_auth_test(
        self,
        token: str,
        error: str | None = None,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int | None = None,
    ) -> None:
        """Make ``auth.test`` with ``token`` fail, on every call or on the next ``times``.

        ``error`` answers ``{"ok": false, "error": error}``: ``invalid_auth``,
        ``token_revoked`` or ``account_inactive`` for a token Slack killed without telling
        (the other methods keep accepting it). ``status`` answers that HTTP status instead
        (``429`` with ``Retry-After: retry_after``, default 1 s; a 5xx). Queued failures of
        one token are used in order; once they are used up, ``auth.test`` answers again.
        """
        if error is None and status is None and retry_after is None:
            raise ValueError("say how auth.test should fail: error, status or retry_after")
        if status is None:
            status = 429 if retry_after is not None else 200
        if status != 200 and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: every call)")
        failure = TokenFailure(
            error=error or ("ratelimited" if status == 429 else "fatal_error"),
            status=status,
            retry_after=(retry_after or 1) if status == 429 else None,
            remaining=times,
        )
        with self._lock:
            self._auth_test_failures.setdefault(token, []).append(failure)

    def team_access_event(
        self,
        client_id: str,
        org: str | Workspace | None,
        team_ids: list[str],
        *,
        granted: bool = True,
        event_time: int | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """The ``team_access_granted`` (or, not ``granted``, ``team_access_revoked``)
        delivery Slack sends an org-wide install of ``client_id``'s app in ``org`` (an
        enterprise id, or the org-wide ``Workspace``) when an org admin adds the app to
        ``team_ids`` (or removes it). Deliver it with ``send_event``.
        """
        app = self.app(client_id)
        if app is None:
            raise FakeSlackError(f"register the app {client_id!r} first")
        workspace = self.workspace(org)
        if not workspace.org_wide:
            raise FakeSlackError("team_access_* events go to org-wide installs: give the org")
        with self._lock:
            bot_user_id = self._bots.get((client_id, workspace.key), ("", ""))[0]
        kind = "team_access_granted" if granted else "team_access_revoked"
        return events.event_callback(
            {"type": kind, "team_ids": list(team_ids)},
            api_app_id=app.app_id,
            team_id=workspace.enterprise_id,
            enterprise_id=workspace.enterprise_id,
            is_enterprise_install=True,
            user_id=bot_user_id or None,
            event_id=event_id,
            event_time=event_time,
        )

    def _auth_revoke(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._access_token(request)
        if str(request.params.get("test") or "") in ("1", "true"):
            return {"ok": True, "revoked": False}
        # The token goes, and so does the refresh token that would renew it.
        self._revoke_where(
            lambda t: (
                t.value == token.value
                or (
                    t.refreshes == token.kind
                    and (t.client_id, t.workspace, t.user_id)
                    == (token.client_id, token.workspace, token.user_id)
                )
            )
        )
        return {"ok": True, "revoked": True}

    def _apps_uninstall(self, request: wire.ApiRequest) -> dict[str, Any]:
        app = self._client(request)
        token = self._access_token(request)
        if token.client_id != app.client_id:
            raise wire.Refused("client_id_token_mismatch")
        self._revoke_where(
            lambda t: t.client_id == app.client_id and t.workspace == token.workspace
        )
        for hook in self._webhooks.values():
            if hook.client_id == app.client_id and hook.workspace == token.workspace:
                hook.revoked = True
        return {"ok": True}

    def _revoke_where(self, matches: Callable[[IssuedToken], bool]) -> None:
        for value, token in list(self._tokens.items()):
            if matches(token):
                self._tokens[value] = dataclasses.replace(token, revoked=True)

    def _chat_post_message(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._access_token(request)
        if "chat:write" not in token.scopes:
            raise wire.Refused(
                "missing_scope", needed="chat:write", provided=",".join(token.scopes)
            )
        channel = str(request.params.get("channel") or "")
        if not channel:
            raise wire.Refused("channel_not_found")
        text = str(request.params.get("text") or "")
        blocks = request.params.get("blocks")
        if not text and not blocks and not request.params.get("attachments"):
            raise wire.Refused("no_text")
        ts = self._next_ts()
        self._messages.append(
            Message(
                channel=channel,
                text=text,
                team_id=token.team_id,
                enterprise_id=token.enterprise_id,
                client_id=token.client_id,
                user_id=token.user_id,
                ts=ts,
                via="chat.postMessage",
                blocks=blocks,
                thread_ts=request.params.get("thread_ts") or None,
            )
        )
        message = {"type": "message", "text": text, "user": token.user_id, "ts": ts}
        if token.bot_id:
            message["bot_id"] = token.bot_id
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(time.time())}.{self._ts:06d}"

    def _incoming_webhook(self, environ: dict[str, Any], path: str) -> wire.Answer:
        params = wire.parse_params(environ, wire.read_body(environ))
        if isinstance(params.get("payload"), str):  # the form-encoded variant
            try:
                payload = json.loads(params["payload"])
            except ValueError:
                payload = None
            params = payload if isinstance(payload, dict) else params
        request = wire.ApiRequest(params=params)
        return self._serve("incoming_webhook", request, lambda: self._post_to_webhook(path, params))

    def _post_to_webhook(self, path: str, params: dict[str, Any]) -> wire.Answer:
        hook = self._webhooks.get(path)
        if hook is None or hook.revoked:
            return wire.Answer(404, b"no_service", "text/plain")
        text = str(params.get("text") or "")
        if not text and not params.get("blocks"):
            return wire.Answer(400, b"no_text", "text/plain")
        bot_user_id = self._bots.get((hook.client_id, hook.workspace.key), ("", ""))[0]
        self._messages.append(
            Message(
                channel=hook.channel,
                text=text,
                team_id=hook.workspace.team_id,
                enterprise_id=hook.workspace.enterprise_id,
                client_id=hook.client_id,
                user_id=bot_user_id,
                ts=self._next_ts(),
                via="incoming_webhook",
                blocks=params.get("blocks"),
            )
        )
        return wire.Answer(200, b"ok", "text/plain")
