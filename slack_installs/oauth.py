"""The OAuth state service, and OAuth v2 installs on top of it.

The state service (``issue_attempt``, ``claim_attempt``, ``finish_attempt``) serves
every flow that sends a browser to Slack and back: our install view, Bolt's
``OAuthFlow`` through ``contrib.bolt.DjangoOAuthStateStore``, and Sign in with Slack.
The state is random, stored only as a SHA-256 digest in an ``OAuthAttempt`` row,
tied to the browser through a random HttpOnly cookie (also stored as a digest) and
claimed with one conditional UPDATE, so that of two concurrent callbacks with the
same state exactly one wins, whichever worker serves it.

The install saves its rows with the ORM (``update_or_create``), so the models'
``pre_save``/``post_save`` signals are sent and every database Django supports works.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, OperationalError, router, transaction
from django.db.models import Model
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_variables

from . import client
from .client import expiry_of, redact
from .conf import app_settings
from .exceptions import InvalidState, SlackAPIError
from .fields import has_stored_value, stored_form
from .models import (
    SLACK_ID,
    Installation,
    InstallationEvent,
    OAuthAttempt,
    SlackApp,
    UserToken,
    missing_scopes,
    slack_id_shape,
    split_scopes,
    web_url,
)
from .pipelines import run_pipelines
from .signals import installation_completed

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=Model)

STATE_BYTES = 32  # 256 bits of randomness
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{20,100}$")
_APP_ID_SHAPE = slack_id_shape("A")
ERROR_CODE = re.compile(r"^[a-z0-9_]{1,100}$")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def absolute_url(request: HttpRequest, path: str) -> str:
    """``path`` on this site as Slack reaches it (``REDIRECT_BASE_URL`` behind a proxy)."""
    base = app_settings.REDIRECT_BASE_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def redirect_uri_for(request: HttpRequest, app: SlackApp) -> str:
    """The callback URL Slack sends the browser back to, the same for authorize and exchange."""
    if app.redirect_uri:
        return app.redirect_uri
    return absolute_url(request, reverse("slack_installs:callback", kwargs={"slug": app.slug}))


def safe_next_url(next_url: str | None) -> str:
    """Keep ``next`` only when it is a local path on this site."""
    if not next_url or len(next_url) > 500 or not next_url.startswith("/"):
        return ""
    if not next_url.isprintable():
        return ""  # control characters (NUL above all, which PostgreSQL refuses to store)
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts=set()):
        return ""
    return next_url


def _clean_team(team: str | None) -> str:
    return team if team and SLACK_ID.match(team) else ""


# --- The state service: issuing and claiming attempts ----------------------------------
#
# Every OAuth flow that sends a browser to Slack and back (installs, Bolt's OAuthFlow
# through contrib.bolt, Sign in with Slack) keeps its state here: one ``OAuthAttempt``
# row per flow started, the state stored only as a digest, claimed exactly once.


def issue_attempt(
    app: SlackApp,
    *,
    kind: str = OAuthAttempt.Kind.INSTALL,
    browser_id: str | None,
    redirect_uri: str = "",
    next_url: str = "",
    team: str = "",
    user: Any = None,
    ttl: int | None = None,
    code_verifier: str | None = None,
    nonce: str | None = None,
) -> tuple[OAuthAttempt, str]:
    """Record a pending attempt and return it with its new random state.

    ``browser_id`` is the value of the browser's binding cookie; ``None`` issues a state
    bound to no browser, which only ``claim_attempt(..., browser_id=None)`` accepts (for
    callers that bind the browser themselves, as Bolt does with its own cookie).
    ``code_verifier`` is PKCE's (see ``pkce_pair``), kept encrypted until the attempt ends;
    ``nonce`` a sign-in's OpenID Connect nonce, kept as a digest.
    """
    state = secrets.token_urlsafe(STATE_BYTES)
    now = timezone.now()
    attempt = OAuthAttempt.objects.create(
        app=app,
        kind=kind,
        state_digest=digest(state),
        browser_digest=digest(browser_id) if browser_id is not None else "",
        redirect_uri=redirect_uri,
        next_url=next_url,
        team=team,
        created_at=now,
        expires_at=now + datetime.timedelta(seconds=ttl or app_settings.STATE_TTL),
        user=user,
        code_verifier=code_verifier,
        nonce_digest=digest(nonce) if nonce else None,
    )
    return attempt, state


def pkce_pair() -> tuple[str, str]:
    """A new PKCE code verifier and its S256 code challenge (RFC 7636).

    The verifier (86 characters of the URL-safe alphabet, within RFC 7636's 43 to 128)
    stays on the server; only the challenge travels through the browser.
    """
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge.rstrip(b"=").decode("ascii")


# A database may pick a statement or transaction as a deadlock's victim and roll it back
# whole: MariaDB/MySQL do when concurrent callbacks of one state update its row, or when
# concurrent first installs of one workspace all wait on the unique key (error 1213);
# PostgreSQL reports SQLSTATE 40P01. Each piece of work retried here is safe to redo.
DEADLOCK_RETRIES = 3
_MYSQL_DEADLOCK = 1213
_POSTGRES_DEADLOCK = "40P01"
_T = TypeVar("_T")


def _is_deadlock(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == _POSTGRES_DEADLOCK:
        return True
    args: tuple[Any, ...] = getattr(cause, "args", ())
    return bool(args) and args[0] == _MYSQL_DEADLOCK


def retrying_deadlocks(work: Callable[[], _T], what: str) -> _T:
    """``work()``, run again (up to ``DEADLOCK_RETRIES`` times in all) when it loses a deadlock."""
    for tries_left in reversed(range(DEADLOCK_RETRIES)):
        try:
            return work()
        except OperationalError as exc:
            if not tries_left or not _is_deadlock(exc):
                raise
            logger.info("%s lost a deadlock; running it again", what)
    raise AssertionError("unreachable: the last try returns or raises")


def _refuse(attempt: OAuthAttempt, reason: str) -> InvalidState:
    """Mark a still-unfinished attempt ``failed``/``invalid_state``; return the error to raise.

    A finished attempt keeps its outcome: reloading the callback page of a succeeded
    install must not rewrite the audit log (which the events endpoint relies on).
    """
    unfinished = OAuthAttempt.objects.filter(pk=attempt.pk, finished_at__isnull=True)
    retrying_deadlocks(
        lambda: unfinished.update(
            status=OAuthAttempt.Status.FAILED, error="invalid_state", finished_at=timezone.now()
        ),
        "Marking a refused OAuth state",
    )
    return InvalidState(reason)


def _same_browser(attempt: OAuthAttempt, browser_id: str | None) -> bool:
    if browser_id is None:
        return attempt.browser_digest == ""
    return bool(browser_id and attempt.browser_digest) and hmac.compare_digest(
        digest(browser_id), attempt.browser_digest
    )


def claim_attempt(
    app: SlackApp, state: str | None, *, kind: str, browser_id: str | None, user: Any = None
) -> OAuthAttempt:
    """Find the attempt of ``state`` and claim it once; raise ``InvalidState`` otherwise.

    The state must belong to ``app`` and to the flow ``kind``, be unexpired and unused,
    and come back in the browser it was issued to (``browser_id``, as for
    ``issue_attempt``) with the Django user who started it (``user``, None when anonymous):
    a planted cookie must not link someone else's workspace to a logged-in victim. Of two
    concurrent claims exactly one wins: the conditional UPDATE's row count decides, in
    whichever worker each runs.
    """
    if not isinstance(state, str) or not state or len(state) > 200:
        raise InvalidState("the callback carries no state")
    # Read where the attempt was written: a replica may not have it yet.
    attempts = OAuthAttempt.objects.using(router.db_for_write(OAuthAttempt))
    try:
        attempt = attempts.get(state_digest=digest(state))  # unique: no ORDER BY to build
    except OAuthAttempt.DoesNotExist:
        raise InvalidState("the state is unknown") from None
    if attempt.app_id != app.pk:
        raise _refuse(attempt, "the state belongs to another app")
    if attempt.kind != kind:
        raise _refuse(attempt, f"the state belongs to another flow ({attempt.kind})")
    if not _same_browser(attempt, browser_id):
        raise _refuse(attempt, "the state belongs to another browser")
    if attempt.user_id != (user.pk if user is not None else None):
        raise _refuse(attempt, "the state was issued to another user")
    now = timezone.now()
    if attempt.expires_at <= now:
        raise _refuse(attempt, "the state has expired")
    unclaimed = attempts.filter(
        pk=attempt.pk, status=OAuthAttempt.Status.PENDING, consumed_at__isnull=True
    )
    claimed = retrying_deadlocks(
        lambda: unclaimed.update(consumed_at=now), "Claiming an OAuth state"
    )
    if not claimed:
        raise _refuse(attempt, "the state was already used")
    attempt.consumed_at = now
    return attempt


def finish_attempt(attempt: OAuthAttempt, status: str, *, error: str = "", **fields: Any) -> None:
    """Record the outcome of a claimed attempt (its status, error code and ``fields``)."""
    attempt.status = status
    attempt.error = error
    attempt.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(attempt, name, value)
    update_fields = ["status", "error", "finished_at", *fields]
    if has_stored_value(attempt, "code_verifier"):
        attempt.code_verifier = None  # spent: Slack accepts a verifier once, with its code
        update_fields.append("code_verifier")
    attempt.save(update_fields=update_fields)


# --- Starting an install ---------------------------------------------------------------


@dataclass
class StartedInstall:
    attempt: OAuthAttempt
    authorize_url: str
    browser_id: str


def authorize_url(
    app: SlackApp, *, state: str, redirect_uri: str, team: str = "", code_challenge: str = ""
) -> str:
    params = {
        "client_id": app.client_id,
        "scope": app.bot_scopes,
        "user_scope": app.user_scopes,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return slack_authorize_url(
        "/oauth/v2/authorize", params, team=team, code_challenge=code_challenge
    )


def slack_authorize_url(
    path: str, params: dict[str, Any], *, team: str = "", code_challenge: str = ""
) -> str:
    """Slack's authorize page at ``path`` with ``params``, plus ``team`` and PKCE's S256
    ``code_challenge`` when given: the install and sign-in pages take them alike."""
    params = dict(params)
    if team:
        params["team"] = team
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    return f"{app_settings.SLACK_URL}{path}?{urlencode(params)}"


def _cookie_is_secure(request: HttpRequest) -> bool:
    secure = app_settings.BROWSER_COOKIE_SECURE
    return request.is_secure() if secure is None else secure


def browser_cookie_name(request: HttpRequest) -> str:
    """The binding cookie's name: with ``__Host-`` in front whenever the cookie is Secure.

    Browsers accept a ``__Host-`` cookie only from this very origin over HTTPS (no
    ``Domain``, ``Path=/``), so a sibling subdomain or a plain-http page cannot plant one.
    """
    name = app_settings.BROWSER_COOKIE_NAME
    return f"__Host-{name}" if _cookie_is_secure(request) else name


def browser_id_of(request: HttpRequest) -> str:
    value = request.COOKIES.get(browser_cookie_name(request), "")
    return value if _TOKEN_SHAPE.match(value) else ""


def _user_of(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def begin_attempt(
    request: HttpRequest,
    app: SlackApp,
    *,
    kind: str,
    redirect_uri: str,
    team: str | None,
    next_url: str | None,
    nonce: str | None = None,
) -> tuple[OAuthAttempt, str, str, str, str]:
    """Issue the attempt of a flow a browser starts here (an install, a sign-in).

    Returns the attempt, its state, the browser's binding id, PKCE's code challenge (empty
    unless the app uses PKCE) and the cleaned ``team``.
    """
    # Flows started in several tabs share the browser's binding. A binding someone else
    # planted links nothing to this browser's user: the claim checks the user too.
    browser_id = browser_id_of(request) or secrets.token_urlsafe(STATE_BYTES)
    team = _clean_team(team)
    verifier, challenge = pkce_pair() if app.use_pkce else (None, "")
    attempt, state = issue_attempt(
        app,
        kind=kind,
        browser_id=browser_id,
        redirect_uri=redirect_uri,
        next_url=safe_next_url(next_url),
        team=team,
        user=_user_of(request),
        code_verifier=verifier,
        nonce=nonce,
    )
    return attempt, state, browser_id, challenge, team


def start_install(
    request: HttpRequest, app: SlackApp, *, team: str | None = None, next_url: str | None = None
) -> StartedInstall:
    """Record a pending attempt and return the URL of Slack's consent page."""
    redirect_uri = redirect_uri_for(request, app)
    attempt, state, browser_id, challenge, team = begin_attempt(
        request,
        app,
        kind=OAuthAttempt.Kind.INSTALL,
        redirect_uri=redirect_uri,
        team=team,
        next_url=next_url,
    )
    url = authorize_url(
        app, state=state, redirect_uri=redirect_uri, team=team, code_challenge=challenge
    )
    return StartedInstall(attempt=attempt, authorize_url=url, browser_id=browser_id)


def bind_browser(response: HttpResponse, request: HttpRequest, browser_id: str) -> None:
    """Set the HttpOnly cookie that ties attempts to this browser."""
    response.set_cookie(
        browser_cookie_name(request),
        browser_id,
        max_age=app_settings.STATE_TTL,
        path="/",  # required by the __Host- prefix; no Domain either
        httponly=True,
        samesite="Lax",  # sent on Slack's top-level redirect back to us
        secure=_cookie_is_secure(request),
    )


# --- Finishing an install --------------------------------------------------------------


@dataclass
class InstallOutcome:
    """What the callback did; the view turns it into a redirect or a page."""

    attempt: OAuthAttempt
    installation: Installation | None = None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error


def consume_state(request: HttpRequest, app: SlackApp, state: str | None) -> OAuthAttempt:
    """Claim the install attempt of ``state`` for the browser of ``request``."""
    return claim_attempt(
        app,
        state,
        kind=OAuthAttempt.Kind.INSTALL,
        browser_id=browser_id_of(request),
        user=_user_of(request),
    )


@sensitive_variables("api_data")
def complete_install(request: HttpRequest, app: SlackApp) -> InstallOutcome:
    """Handle Slack's redirect back: check state, exchange the code, save, run pipelines."""
    attempt = consume_state(request, app, request.GET.get("state"))
    try:
        return _exchange_and_save(request, app, attempt)
    except Exception:
        # Whatever broke once the state was claimed (an undecryptable client secret, the
        # database), the attempt must not stay half-finished and the browser gets a page.
        logger.exception("The install callback of Slack app %r failed", app.slug)
        finish_attempt(attempt, OAuthAttempt.Status.FAILED, error="internal_error")
        return InstallOutcome(attempt=attempt, error="internal_error")


def callback_error(request: HttpRequest) -> str:
    """The error code of a redirect back from Slack that brings no usable code, else ``""``."""
    slack_error = request.GET.get("error")
    if slack_error is not None:
        return slack_error if ERROR_CODE.match(slack_error) else "unknown_error"
    code = request.GET.get("code")
    return "missing_code" if not code or len(code) > 500 else ""


def fail_attempt(attempt: OAuthAttempt, error: str) -> None:
    """Finish ``attempt`` with ``error``: ``denied`` when the person cancelled, else ``failed``."""
    denied = error == "access_denied"
    status = OAuthAttempt.Status.DENIED if denied else OAuthAttempt.Status.FAILED
    finish_attempt(attempt, status, error=error)


def send_robustly(signal: Signal, *, name: str, flow: str, app: SlackApp, **kwargs: Any) -> None:
    """Send ``signal`` (called ``name``) once ``flow`` is done for good: a receiver that
    raises is logged, and the browser still gets its page rather than an error for
    something done."""
    for receiver, reply in signal.send_robust(app=app, **kwargs):
        if isinstance(reply, Exception):
            logger.error(
                "A receiver of %s (%s) failed after %s of %r",
                name,
                getattr(receiver, "__qualname__", receiver),
                flow,
                app.slug,
                exc_info=(type(reply), reply, reply.__traceback__),
            )


@sensitive_variables()  # tokens and secrets stay out of error reports
def exchange_code(
    exchange: Callable[..., dict[str, Any]], app: SlackApp, attempt: OAuthAttempt, code: str
) -> dict[str, Any]:
    """Trade the claimed ``attempt``'s ``code`` with ``exchange`` (``client.oauth_v2_access``
    for installs, ``client.openid_connect_token`` for sign-in): the app's credentials, the
    attempt's redirect URI, and the attempt's own PKCE verifier (Slack saw its challenge,
    whatever ``use_pkce`` says by now)."""
    return exchange(
        client_id=app.client_id or "",
        client_secret=app.client_secret,
        code=code,
        redirect_uri=attempt.redirect_uri,
        code_verifier=attempt.code_verifier,
    )


@sensitive_variables("api_data")
def _exchange_and_save(
    request: HttpRequest, app: SlackApp, attempt: OAuthAttempt
) -> InstallOutcome:
    error = callback_error(request)
    if error:
        fail_attempt(attempt, error)
        return InstallOutcome(attempt=attempt, error=error)
    code = request.GET["code"]

    try:
        api_data = exchange_code(client.oauth_v2_access, app, attempt, code)
    except SlackAPIError as exc:
        finish_attempt(attempt, OAuthAttempt.Status.FAILED, error=exc.code)
        return InstallOutcome(attempt=attempt, error=exc.code)
    if not _names_a_workspace(api_data):
        finish_attempt(attempt, OAuthAttempt.Status.FAILED, error="invalid_response")
        return InstallOutcome(attempt=attempt, error="invalid_response")

    bot_details = _bot_details(api_data)
    redacted = redact(api_data)
    # The user who started the install: the claim checked that it is the one here now.
    user = _user_of(request)

    def save() -> Installation:
        with transaction.atomic(using=router.db_for_write(Installation)):
            saved = save_installation(app, api_data, user=user, bot_details=bot_details)
            _learn_app_id(app, api_data)
            finish_attempt(
                attempt, OAuthAttempt.Status.SUCCEEDED, installation=saved, response=redacted
            )
        return saved

    # A deadlock's victim was rolled back whole: saving again finds the other callback's row.
    installation = retrying_deadlocks(save, f"An install of {app.slug!r}")

    try:
        request, api_data = run_pipelines(request, app, installation, api_data)
    except Exception:
        logger.exception("A pipeline step of Slack app %r failed", app.slug)
        finish_attempt(attempt, OAuthAttempt.Status.FAILED, error="pipeline_failed")
        return InstallOutcome(attempt=attempt, installation=installation, error="pipeline_failed")

    send_robustly(
        installation_completed,
        name="installation_completed",
        flow="an install",
        app=app,
        sender=Installation,
        installation=installation,
        attempt=attempt,
        request=request,
        api_data=redacted,
    )
    return InstallOutcome(attempt=attempt, installation=installation)


def _learn_app_id(app: SlackApp, api_data: dict[str, Any]) -> None:
    """Fill in a blank ``SlackApp.app_id`` from Slack's answer (links to the app's pages on
    Slack need it); an app id staff entered is never overwritten."""
    app_id = api_data.get("app_id")
    if app.app_id or not isinstance(app_id, str) or not _APP_ID_SHAPE.match(app_id):
        return
    if SlackApp.objects.filter(pk=app.pk, app_id="").update(app_id=app_id):
        app.app_id = app_id


def _names_a_workspace(api_data: dict[str, Any]) -> bool:
    team = api_data.get("team")
    enterprise = api_data.get("enterprise")
    team_id = team.get("id") if isinstance(team, dict) else None
    enterprise_id = enterprise.get("id") if isinstance(enterprise, dict) else None
    if api_data.get("is_enterprise_install"):
        return isinstance(enterprise_id, str) and bool(enterprise_id)
    return isinstance(team_id, str) and bool(team_id)


@sensitive_variables("api_data", "token")
def _bot_details(api_data: dict[str, Any]) -> dict[str, str]:
    """Ask ``auth.test`` for what ``oauth.v2.access`` leaves out: the bot id and, for an
    org-wide install, the org's Slack URL (``url``), as Bolt's ``OAuthFlow`` does.

    The install does not depend on it: when ``auth.test`` fails, the row keeps what it
    had (nothing, on a first install).
    """
    token = api_data.get("access_token")
    if not isinstance(token, str) or not token:
        return {}
    try:
        answer = client.auth_test(token)
    except SlackAPIError as exc:
        logger.warning("auth.test after an install failed (%s): bot id left blank", exc.code)
        return {}
    details = {"bot_id": str(answer.get("bot_id") or "")}
    if api_data.get("is_enterprise_install") and isinstance(answer.get("url"), str):
        details["enterprise_url"] = answer["url"]
    return details


def _text(container: Any, key: str, limit: int = 200) -> str:
    value = container.get(key) if isinstance(container, dict) else None
    # PostgreSQL refuses NUL in text columns; Slack never sends one, a forged answer might.
    return str(value).replace("\x00", "")[:limit] if value is not None else ""


@sensitive_variables("api_data", "values", "user_token", "authed_user", "webhook")
def save_installation(
    app: SlackApp,
    api_data: dict[str, Any],
    *,
    user: Any = None,
    bot_details: dict[str, str] | None = None,
) -> Installation:
    """Create or update the one installation of ``app`` in the workspace or org of ``api_data``.

    ``bot_details`` is what ``auth.test`` added: ``bot_id`` and, for an org-wide install,
    ``enterprise_url``. ``custom_values`` are never touched: a re-install keeps them.

    Call inside a transaction, so that the installation and its user token are saved together.
    Secrets are encrypted here, before the ORM sees them: the frames of a failed save (and
    so any error report of it) hold ciphertext only.
    """
    team = api_data.get("team")
    enterprise = api_data.get("enterprise")
    is_org_wide = bool(api_data.get("is_enterprise_install"))
    authed_user = api_data.get("authed_user")
    authed_user = authed_user if isinstance(authed_user, dict) else {}
    webhook = api_data.get("incoming_webhook")

    values: dict[str, Any] = {
        "installed_at": timezone.now(),
        "enterprise_name": _text(enterprise, "name"),
        "team_name": "" if is_org_wide else _text(team, "name"),
        "is_enterprise_install": is_org_wide,
        "bot_user_id": _text(api_data, "bot_user_id", 32),
        "bot_scopes": _text(api_data, "scope", 5000),
        "bot_token": stored_form(api_data.get("access_token")),
        "bot_refresh_token": stored_form(api_data.get("refresh_token")),
        "bot_token_expires_at": expiry_of(api_data.get("expires_in")),
        "installer_user_id": _text(authed_user, "id", 32),
        "revoked_at": None,
        "needs_reinstall_at": None,
    }
    if bot_details and bot_details.get("bot_id"):
        values["bot_id"] = bot_details["bot_id"][:32]
    # Only an http(s) URL: it becomes a link on the success page.
    enterprise_url = web_url(bot_details.get("enterprise_url")) if bot_details else ""
    if is_org_wide and enterprise_url:
        values["enterprise_url"] = enterprise_url
    if isinstance(webhook, dict) and webhook.get("url"):
        values.update(
            incoming_webhook_url=stored_form(str(webhook["url"])),
            incoming_webhook_channel=_text(webhook, "channel"),
            incoming_webhook_channel_id=_text(webhook, "channel_id", 32),
            # A link in the admin: only an http(s) URL, like every URL Slack's answer holds.
            incoming_webhook_configuration_url=web_url(webhook.get("configuration_url"), 500),
        )
    if user is not None:
        values["installed_by"] = user
    user_token = authed_user.get("access_token")
    has_user_token = bool(user_token and authed_user.get("id"))
    # Scope drift against the app's scopes today, from what Slack just granted: no query,
    # unless the app asks for user scopes and this answer holds no token of the installer's.
    if has_user_token or not split_scopes(app.user_scopes):
        granted_user_scopes = _text(authed_user, "scope", 5000) if has_user_token else ""
        values["scopes_missing"] = bool(
            missing_scopes(app.bot_scopes, values["bot_scopes"])
            or missing_scopes(app.user_scopes, granted_user_scopes)
        )

    installation, created = _upsert(
        Installation,
        {
            "app": app,
            "enterprise_id": _text(enterprise, "id", 32),
            "team_id": "" if is_org_wide else _text(team, "id", 32),
        },
        values,
    )

    installation.app = app  # the caller's instance: no query when it is read again
    # A revoked installation coming back is a re-install too: the row, and its history, stay.
    InstallationEvent.record(
        installation,
        InstallationEvent.Kind.INSTALLED if created else InstallationEvent.Kind.REINSTALLED,
        at=values["installed_at"],
    )
    if has_user_token:
        _upsert(
            UserToken,
            {"installation": installation, "slack_user_id": _text(authed_user, "id", 32)},
            {
                "scopes": _text(authed_user, "scope", 5000),
                "access_token": stored_form(user_token),
                "refresh_token": stored_form(authed_user.get("refresh_token")),
                "expires_at": expiry_of(authed_user.get("expires_in")),
                "revoked_at": None,
                **({"user": user} if user is not None else {}),
            },
        )
    if "scopes_missing" not in values:
        # The installer's user token of an earlier install decides: read it, now it is saved.
        installation.update_scopes_missing()
    return installation


@sensitive_variables("values")
def _upsert(
    model: type[ModelT], key: dict[str, Any], values: dict[str, Any]
) -> tuple[ModelT, bool]:
    """Create the row of ``key``, or update ``values`` of it when it exists; return the row
    and whether it was created.

    The row is locked (``SELECT ... FOR UPDATE``) before it is updated; when two callbacks
    create the same workspace at once, the loser's ``IntegrityError`` becomes a locked
    update of the winner's row: the later one wins. Rows are saved through ``Model.save()``,
    so the model's ``pre_save``/``post_save`` signals are sent.

    This is ``update_or_create()`` without its savepoint on every call: a re-install (every
    install of a workspace after its first) costs the locked SELECT and the UPDATE, and only
    a first install pays for the savepoint its INSERT needs, so that an ``IntegrityError``
    does not abort the install's transaction (python -m bench install_roundtrip).
    """
    manager = model._default_manager.db_manager(router.db_for_write(model))
    rows = manager.select_for_update().filter(**key)
    try:
        instance = rows.get()  # the key is unique: no ORDER BY, one row or none
    except ObjectDoesNotExist:
        try:
            with transaction.atomic(using=manager.db):
                return manager.create(**key, **values), True
        except IntegrityError:
            instance = rows.get()  # another callback created it meanwhile, now locked
    for name, value in values.items():
        setattr(instance, name, value)
    instance.save(update_fields=[*values, "updated_at"])
    return instance, False
