"""``FakeSlack``: Slack's OAuth v2 pages and a few Web API methods, served on loopback.

It is a standard-library WSGI app on a background thread (a thread per request, so
concurrent callers are answered concurrently). It keeps every registered app,
authorization code and token in memory under one lock, records each API call and
posted message so tests can assert on them, can add latency to every Web API answer
(as Slack's own, for benchmarks), and can be told to fail the next call of a method in
the ways Slack really fails.

This module is the server and the registry; the consent pages are in ``consent.py``,
the Web API methods in ``webapi.py`` and the app manifest methods in ``manifests.py``,
the parts ``FakeSlack`` is made of.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from . import events, pages, wire
from .consent import ConsentPages
from .manifests import ManifestAPI
from .oidc import OpenIDConnect
from .records import (
    DEFAULT_WORKSPACES,
    Call,
    FakeApp,
    FakeSlackError,
    IssuedToken,
    Message,
    Workspace,
    webhook_channel,
)
from .server import BackgroundServer, DropConnection
from .webapi import Grant, TokenFailure, WebAPI, Webhook, random_id, take_queued


@dataclass
class _Failure:
    error: str | None
    status: int | None
    delay: float
    retry_after: int | None
    close: bool
    remaining: int | None  # as take_queued reads it; fail_next always counts


class FakeSlack(OpenIDConnect, ManifestAPI, ConsentPages, WebAPI):
    """A fake Slack on loopback. Start it with ``start()`` or as a context manager.

    >>> with FakeSlack() as fake:
    ...     fake.register_app("111.222", "client-secret", signing_secret="signing-secret")
    ...     # point SLACK_INSTALLS["SLACK_URL"] at fake.url and ["API_URL"] at fake.api_url
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workspaces: Sequence[Workspace] = DEFAULT_WORKSPACES,
        resolve_app: Callable[[str], FakeApp | None] | None = None,
        latency: float = 0.0,
    ) -> None:
        """``resolve_app(client_id)`` is asked about client ids that were not registered.

        ``latency``: seconds added to every Web API answer (``/api/...`` and incoming
        webhooks), failures included, as Slack's network and servers add theirs; concurrent
        calls wait alongside each other, not one after another.
        """
        if not workspaces:
            raise ValueError("the fake Slack needs at least one workspace")
        self.latency = latency
        self.host = host
        self.port = port
        self.workspaces: tuple[Workspace, ...] = tuple(workspaces)
        self.resolve_app = resolve_app
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: BackgroundServer | None = None
        self._apps: dict[str, FakeApp] = {}
        self._manifests = {}  # Slack's copy of each app made with apps.manifest.create
        self._reset_state()

    def _reset_state(self) -> None:
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._config_tokens = {}
        self._webhooks: dict[str, Webhook] = {}
        self._bots: dict[tuple[str, str], tuple[str, str]] = {}
        self._calls: list[Call] = []
        self._messages: list[Message] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._auth_test_failures: dict[str, list[TokenFailure]] = {}
        self._ts = 0
        self._reset_oidc_state()

    @property
    def latency(self) -> float:
        """Seconds added to every Web API answer; may be changed while the fake runs."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("latency must be a finite number of seconds, zero or more")
        self._latency = seconds

    # --- Running -----------------------------------------------------------------------

    def _bind(self) -> BackgroundServer:
        if self._server is not None:
            raise FakeSlackError("this fake Slack is already running")
        self._stopping.clear()
        self._server = BackgroundServer(self.wsgi_app, self.host, self.port)
        self.port = self._server.address[1]
        return self._server

    def start(self) -> FakeSlack:
        """Serve on a background thread; returns ``self``."""
        self._bind().start()
        return self

    def serve_forever(self, ready: Callable[[], object] | None = None) -> None:
        """Serve in the calling thread until interrupted (the management command uses this).

        ``ready()`` is called once the port is bound, before the first request is served.
        """
        server = self._bind()
        try:
            if ready is not None:
                ready()
            server.serve_forever()
        finally:
            self._stopping.set()
            server.stop()
            self._server = None

    def stop(self) -> None:
        """Stop serving; slow answers being held back are let go at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where the authorize page lives: ``SLACK_INSTALLS["SLACK_URL"]``."""
        if self._server is None and not self.port:
            raise FakeSlackError("start the fake Slack before asking for its URL")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Where the Web API lives: ``SLACK_INSTALLS["API_URL"]``."""
        return f"{self.url}/api"

    # --- Set-up and state for tests -----------------------------------------------------

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        signing_secret: str = "",
        name: str = "",
        app_id: str = "",
        token_rotation: bool = False,
    ) -> FakeApp:
        """Make an app known to the fake, as creating it on api.slack.com would."""
        if not client_id or not client_secret:
            raise ValueError("an app needs a client id and a client secret")
        app = FakeApp(
            client_id=client_id,
            client_secret=client_secret,
            signing_secret=signing_secret,
            name=name or client_id,
            app_id=app_id or random_id("A", 10),
            token_rotation=token_rotation,
        )
        with self._lock:
            self._apps[client_id] = app
        return app

    def register_slack_app(self, slack_app: Any, *, token_rotation: bool = False) -> FakeApp:
        """Register a ``slack_installs.models.SlackApp`` with its (decrypted) secrets."""
        app = FakeApp.of(slack_app, token_rotation=token_rotation)
        with self._lock:
            self._apps[app.client_id] = app
        return app

    @property
    def apps(self) -> dict[str, FakeApp]:
        with self._lock:
            return dict(self._apps)

    def app(self, client_id: str) -> FakeApp | None:
        """The registered app of ``client_id``, else what ``resolve_app`` says."""
        with self._lock:
            app = self._apps.get(client_id)
        if app is None and self.resolve_app is not None and client_id:
            app = self.resolve_app(client_id)
        return app

    def workspace(self, key: str | Workspace | None = None) -> Workspace:
        """A workspace by team id (or enterprise id for an org-wide install); default the first."""
        if isinstance(key, Workspace):
            return key
        if key is None:
            return self.workspaces[0]
        for workspace in self.workspaces:
            if workspace.key == key:
                return workspace
        raise FakeSlackError(
            f"no fake workspace {key!r}; choose one of {[w.key for w in self.workspaces]}"
        )

    def reset(self, *, forget_apps: bool = False) -> None:
        """Forget codes, tokens, calls, messages and pending failures (and apps if asked)."""
        with self._lock:
            self._reset_state()
            if forget_apps:
                self._apps.clear()
                self._manifests.clear()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def tokens(
        self,
        *,
        client_id: str | None = None,
        kind: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        active: bool | None = None,
    ) -> list[IssuedToken]:
        """Tokens handed out so far, oldest first, filtered by what is given."""
        now = time.time()
        with self._lock:
            found = list(self._tokens.values())
        return [
            token
            for token in found
            if (client_id is None or token.client_id == client_id)
            and (kind is None or token.kind == kind)
            and (team_id is None or token.team_id == team_id)
            and (enterprise_id is None or token.enterprise_id == enterprise_id)
            and (active is None or self._is_active(token, now) == active)
        ]

    def token(self, value: str) -> IssuedToken | None:
        with self._lock:
            return self._tokens.get(value)

    def is_active(self, value: str) -> bool:
        """True when the token was issued here, is not revoked and has not expired."""
        token = self.token(value)
        return token is not None and self._is_active(token, time.time())

    @staticmethod
    def _is_active(token: IssuedToken, now: float) -> bool:
        return not token.revoked and (token.expires_at is None or token.expires_at > now)

    def expire_token(self, value: str) -> None:
        """Make a token expired now (``token_expired`` from then on), to test refreshing."""
        self._update_token(value, expires_at=time.time() - 1)

    def revoke_token(self, value: str) -> None:
        """Revoke a token as a workspace admin would (``token_revoked`` from then on)."""
        self._update_token(value, revoked=True)

    def _update_token(self, value: str, **changes: Any) -> None:
        with self._lock:
            if value not in self._tokens:
                raise FakeSlackError("that token was not issued by this fake Slack")
            self._tokens[value] = dataclasses.replace(self._tokens[value], **changes)

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int | None = None,
        delay: float = 0.0,
        retry_after: int | None = None,
        close: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``error``: answer ``{"ok": false, "error": error}``. ``status``: answer that HTTP
        status (429 carries ``Retry-After``, default 1 s). ``delay``: wait that many
        seconds first (alone: a slow but correct answer). ``close``: hang up without
        answering. ``method`` is a Web API method name, or ``incoming_webhook``.

        A failure of ``oauth.v2.access`` is the next call's, whatever its grant type: with
        no install under way, ``fail_next("oauth.v2.access", retry_after=2, times=3)``
        rate-limits the next three token refreshes (``grant_type=refresh_token``), which
        spend no refresh token.
        """
        if error is None and status is None and not delay and not close and retry_after is None:
            raise ValueError("say how the call should fail: error, status, delay or close")
        if status is None and retry_after is not None:
            status = 429
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if times < 1:
            raise ValueError("times must be at least 1")
        failure = _Failure(
            error=error,
            status=status,
            delay=float(delay),
            retry_after=retry_after if retry_after is not None else (1 if status == 429 else None),
            close=close,
            remaining=times,
        )
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            return take_queued(self._failures.get(method))

    # --- Installing without a browser ------------------------------------------------------

    def install(
        self,
        client_id: str,
        workspace: str | Workspace | None = None,
        *,
        bot_scopes: Iterable[str] = ("chat:write",),
        user_scopes: Iterable[str] = (),
        channel: str | None = None,
    ) -> dict[str, Any]:
        """Install an app directly and return what ``oauth.v2.access`` would answer."""
        app = self.app(client_id)
        if app is None:
            raise FakeSlackError(f"register the app {client_id!r} first")
        return self._issue_install(
            app,
            self.workspace(workspace),
            tuple(bot_scopes),
            tuple(user_scopes),
            webhook_channel(channel),
        )

    # --- Events ----------------------------------------------------------------------------

    def send_event(
        self,
        url: str,
        payload: dict[str, Any] | str | bytes,
        *,
        client_id: str | None = None,
        signing_secret: str | None = None,
        timestamp: int | None = None,
        **options: Any,
    ) -> events.Delivery:
        """Deliver a signed event to ``url`` (secret given, or the app of ``client_id``'s).

        Returns the answer's status, body and headers. ``options`` go to
        ``events.deliver`` (``retry_num``, ``content_type``, ``headers``, ``timeout``).
        """
        if signing_secret is None:
            app = self.app(client_id) if client_id else self._only_app()
            if app is None or not app.signing_secret:
                raise FakeSlackError("give signing_secret, or the client_id of an app that has one")
            signing_secret = app.signing_secret
        return events.deliver(
            url, payload, signing_secret=signing_secret, timestamp=timestamp, **options
        )

    def _only_app(self) -> FakeApp | None:
        apps = list(self.apps.values())
        return apps[0] if len(apps) == 1 else None

    def event_callback(
        self, client_id: str, workspace: str | Workspace | None, event: dict[str, Any]
    ) -> dict[str, Any]:
        """Wrap ``event`` in the envelope Slack sends for ``client_id``'s app in a workspace."""
        app = self.app(client_id)
        if app is None:
            raise FakeSlackError(f"register the app {client_id!r} first")
        ws = self.workspace(workspace)
        with self._lock:
            bot_user_id = self._bots.get((client_id, ws.key), ("", ""))[0]
        return events.event_callback(
            event,
            api_app_id=app.app_id,
            team_id=ws.team_id or ws.enterprise_id,
            enterprise_id=ws.enterprise_id or None,
            is_enterprise_install=ws.org_wide,
            user_id=bot_user_id or None,
        )

    # --- WSGI -----------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI application; mount it elsewhere if you prefer another server."""
        path = environ.get("PATH_INFO", "")
        verb = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/api/") and verb in ("GET", "POST"):
            answer = self._api(environ, path[len("/api/") :])
        elif path == "/oauth/v2/authorize" and verb == "GET":
            answer = self._authorize(dict(parse_qsl(environ.get("QUERY_STRING", ""))), None)
        elif path == "/oauth/v2/authorize" and verb == "POST":
            form = dict(parse_qsl(wire.read_body(environ).decode("utf-8", "replace")))
            answer = self._authorize(form, form.get("decision", ""))
        elif path.startswith("/services/") and verb == "POST":
            answer = self._incoming_webhook(environ, path)
        elif (oidc := self._openid_page(environ, path, verb)) is not None:
            answer = oidc
        elif path == "/" and verb == "GET":
            answer = wire.html_answer(
                pages.status_page(
                    url=self.url,
                    apps=self.apps.values(),
                    workspaces=self.workspaces,
                    messages=self.messages,
                )
            )
        else:
            answer = wire.html_answer(
                pages.error_page("Not found", "The fake Slack has no such page."), 404
            )
        try:
            reason = HTTPStatus(answer.status).phrase
        except ValueError:
            reason = "Error"
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            ("Cache-Control", "no-store"),
            *answer.headers,
        ]
        start_response(f"{answer.status} {reason}", headers)
        return [answer.body]

    # --- Failure injection ------------------------------------------------------------------

    def _serve(
        self,
        method: str,
        request: wire.ApiRequest,
        handle: Callable[[], dict[str, Any] | wire.Answer],
    ) -> wire.Answer:
        """Act out a failure queued for ``method``, else answer with ``handle()`` under the lock.

        The added latency is waited first, outside the lock, so concurrent calls overlap.
        """
        if self._latency:
            self._stopping.wait(self._latency)
        failure = self._take_failure(method)
        if failure is not None and failure.delay:
            self._stopping.wait(failure.delay)
        if failure is not None and failure.close:
            self._record(method, request, 0, None)
            raise DropConnection
        if failure is not None and failure.status is not None:
            headers = []
            payload: dict[str, Any] = {"ok": False, "error": failure.error or "fatal_error"}
            if failure.status == 429:
                headers.append(("Retry-After", str(failure.retry_after)))
                payload["error"] = failure.error or "ratelimited"
            self._record(method, request, failure.status, payload)
            return wire.json_answer(payload, failure.status, headers)
        if failure is not None and failure.error:
            result: dict[str, Any] | wire.Answer = {"ok": False, "error": failure.error}
        else:
            try:
                with self._lock:
                    result = handle()
            except wire.Refused as refused:
                result = refused.payload
        if isinstance(result, wire.Answer):
            self._record(method, request, result.status, None)
            return result
        self._record(method, request, 200, result)
        return wire.json_answer(result)

    def _record(
        self, method: str, request: wire.ApiRequest, status: int, response: dict[str, Any] | None
    ) -> None:
        client_id = request.basic[0] if request.basic else request.params.get("client_id")
        with self._lock:
            self._calls.append(
                Call(
                    method=method,
                    params=dict(request.params),
                    auth=request.auth,
                    client_id=str(client_id) if client_id else None,
                    token=request.token,
                    status=status,
                    response=response,
                )
            )
