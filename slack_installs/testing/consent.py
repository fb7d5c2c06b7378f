"""The fake Slack's consent pages: the authorize page a person allows or cancels.

``ConsentPages`` is the consent half of ``FakeSlack``, as ``webapi.WebAPI`` is its Web
API half: it answers ``/oauth/v2/authorize`` (the page, then the choice posted back)
and hands out authorization codes; ``consent()`` answers the page over HTTP as a
person would, for tests without a browser.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import events, pages, wire
from .records import WEBHOOK_CHANNELS, FakeApp, FakeSlackError, Workspace, webhook_channel
from .webapi import Grant, digits

CODE_LIFETIME = 600  # seconds an authorization code can be exchanged


class ConsentPages:
    """The consent half of ``FakeSlack``, which owns the state and the app registry."""

    # Provided by FakeSlack: the workspaces, the app lookup and the codes under its lock.
    workspaces: tuple[Workspace, ...]
    app: Callable[[str], FakeApp | None]
    workspace: Callable[[str | Workspace | None], Workspace]
    _lock: threading.RLock
    _codes: dict[str, Grant]

    def consent(
        self,
        authorize_url: str,
        *,
        workspace: str | None = None,
        allow: bool = True,
        channel: str | None = None,
    ) -> str:
        """Answer the consent page over HTTP as a person would; return the redirect back.

        The result is the app's ``redirect_uri`` with ``code`` and ``state`` (or
        ``error=access_denied``) added, for the test to follow.
        """
        parts = urlsplit(authorize_url)
        try:
            with events.open_url(events.http_request(authorize_url), 10):
                pass
        except urllib.error.HTTPError as exc:
            with exc:
                raise FakeSlackError(f"the consent page refused: {exc.read()[:2000]!r}") from None
        form = dict(parse_qsl(parts.query, keep_blank_values=True))
        form["decision"] = "allow" if allow else "deny"
        form["workspace"] = workspace or self._preselected(form.get("team", ""))
        if channel is not None:
            form["channel"] = channel
        post = events.http_request(
            urlunsplit(parts._replace(query="")),
            data=urlencode(form).encode("ascii"),
            method="POST",
        )
        try:
            with events.open_url(post, 10) as response:
                raise FakeSlackError(f"the consent form answered {response.status}, not 302")
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 302:
                    return exc.headers["Location"]
                raise FakeSlackError(f"the consent form refused: {exc.read()[:2000]!r}") from None

    def _preselected(self, team: str) -> str:
        keys = [workspace.key for workspace in self.workspaces]
        return team if team in keys else keys[0]

    def _client_and_redirect(self, params: dict[str, Any]) -> tuple[Any, str] | wire.Answer:
        """The app of ``client_id`` and the ``redirect_uri`` to send the browser back to, or
        Slack's error page when either is wrong (the install and sign-in pages alike)."""
        client_id = str(params.get("client_id") or "")
        app = self.app(client_id)
        if app is None:
            return wire.html_answer(
                pages.error_page(
                    "Invalid client_id parameter",
                    f"No Slack app has the client id {client_id!r}. Check the app's client id "
                    "(and that it is registered with this fake Slack).",
                ),
                400,
            )
        redirect_uri = str(params.get("redirect_uri") or "")
        problem = self._redirect_problem(redirect_uri)
        if problem:
            return wire.html_answer(pages.error_page("Invalid redirect_uri", problem), 400)
        return app, redirect_uri

    def _authorize(self, params: dict[str, Any], decision: str | None) -> wire.Answer:
        checked = self._client_and_redirect(params)
        if isinstance(checked, wire.Answer):
            return checked
        app, redirect_uri = checked
        bot_scopes = wire.split_scopes(params.get("scope"))
        user_scopes = wire.split_scopes(params.get("user_scope"))
        if not bot_scopes and not user_scopes:
            return wire.html_answer(
                pages.error_page(
                    "Invalid permissions requested",
                    "The install link asks for no scope: give scope (bot scopes) or user_scope.",
                ),
                400,
            )
        code_challenge = str(params.get("code_challenge") or "")
        if code_challenge and params.get("code_challenge_method") != "S256":
            return wire.html_answer(
                pages.error_page(
                    "Invalid code_challenge_method",
                    "A PKCE code challenge needs code_challenge_method=S256.",
                ),
                400,
            )
        state = params.get("state")
        if decision is None:
            hidden = {
                name: str(params[name])
                for name in (
                    "client_id",
                    "scope",
                    "user_scope",
                    "redirect_uri",
                    "state",
                    "team",
                    "code_challenge",
                    "code_challenge_method",
                )
                if params.get(name) is not None
            }
            page = pages.consent_page(
                app_name=app.name,
                hidden=hidden,
                workspaces=[(ws.key, ws.label) for ws in self.workspaces],
                selected=self._preselected(str(params.get("team") or "")),
                channels=[(channel_id, name) for name, channel_id in WEBHOOK_CHANNELS]
                if "incoming-webhook" in bot_scopes
                else None,
                bot_scopes=bot_scopes,
                user_scopes=user_scopes,
            )
            return wire.html_answer(page)
        back = {"state": str(state)} if state is not None else {}
        if decision == "deny":
            return self._redirect(wire.with_query(redirect_uri, {"error": "access_denied", **back}))
        if decision != "allow":
            return wire.html_answer(pages.error_page("Bad request", "Choose Allow or Cancel."), 400)
        try:
            workspace = self.workspace(str(params.get("workspace") or ""))
        except FakeSlackError:
            return wire.html_answer(
                pages.error_page("Bad request", "Choose one of the workspaces."), 400
            )
        grant = Grant(
            code=f"{digits(12)}.{digits(13)}.{secrets.token_hex(32)}",
            client_id=app.client_id,
            redirect_uri=redirect_uri,
            workspace=workspace,
            bot_scopes=bot_scopes,
            user_scopes=user_scopes,
            channel=webhook_channel(params.get("channel")),
            expires_at=time.monotonic() + CODE_LIFETIME,
            code_challenge=code_challenge,
        )
        with self._lock:
            self._codes[grant.code] = grant
        return self._redirect(wire.with_query(redirect_uri, {"code": grant.code, **back}))

    @staticmethod
    def _redirect(location: str) -> wire.Answer:
        return wire.Answer(302, b"", "text/plain", [("Location", location)])

    @staticmethod
    def _redirect_problem(redirect_uri: str) -> str:
        if not redirect_uri:
            return "The install link has no redirect_uri: the fake Slack needs it to send you back."
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return f"redirect_uri {redirect_uri!r} is not an http(s) URL."
        if "#" in redirect_uri:
            return "redirect_uri must not contain anchor (#) tags."
        return ""
