"""The one module that speaks HTTP to Slack.

Every call has a timeout; every way a call can go wrong (Slack's ``ok: false``,
an HTTP error, a body that is not JSON, a timeout, a refused connection) comes
out as one ``SlackAPIError`` carrying a short error code. Nothing here logs a
token, a secret or a request body.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import threading
from typing import Any

import requests
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings
from .exceptions import SlackAPIError

logger = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"^[a-z0-9_.\-]{1,100}$")
_sessions = threading.local()


def _session() -> requests.Session:
    # One keep-alive session per thread: requests.Session is not thread-safe.
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


def _clean_code(code: object) -> str:
    text = str(code or "unknown_error")
    return text if _ERROR_CODE.match(text) else "unknown_error"


def _retry_after(response: requests.Response) -> int | None:
    try:
        return int(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


# Answers asking us to slow down; a 429 says for how long (Retry-After).
RATE_LIMITED = frozenset({"ratelimited"})
DEFAULT_RETRY_AFTER = 1  # seconds, when a 429 says nothing
RATE_LIMIT_RETRIES = 3  # per call (one installation's check, one token's refresh)
MAX_RETRY_WAIT = 300.0  # seconds: a longer Retry-After gives the call up for this run


def retry_wait(exc: SlackAPIError) -> float | None:
    """Seconds to wait before calling again after a rate limit, or None for other errors."""
    if exc.status != 429 and exc.code not in RATE_LIMITED:
        return None
    return float(exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER)


def wait_to_retry(exc: SlackAPIError, *, retries: int, max_wait: float) -> float | None:
    """Seconds to wait before retrying a call that ``exc`` ended, after ``retries`` retries
    so far; None when it is not retried (not a rate limit, retried enough, or Slack asks
    for longer than ``max_wait``)."""
    wait = retry_wait(exc)
    if wait is None or retries >= RATE_LIMIT_RETRIES or wait > max_wait:
        return None
    return wait


@sensitive_variables()  # tokens and secrets stay out of error reports
def _send(http_method: str, url: str, *, method: str, **request_args: Any) -> requests.Response:
    """Send one request with the timeout; a failure or an HTTP error is a ``SlackAPIError``."""
    try:
        response = _session().request(
            http_method,
            url,
            timeout=app_settings.HTTP_TIMEOUT,
            allow_redirects=False,
            **request_args,
        )
    except requests.Timeout:
        raise SlackAPIError("timeout", method=method) from None
    except requests.RequestException as exc:
        logger.warning("Slack %s: connection failed (%s)", method, type(exc).__name__)
        raise SlackAPIError("connection_error", method=method) from None

    if response.status_code == 429:
        raise SlackAPIError(
            "ratelimited", method=method, status=429, retry_after=_retry_after(response)
        )
    if response.status_code >= 400:
        raise SlackAPIError("http_error", method=method, status=response.status_code)
    return response


def _json_object(response: requests.Response, method: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise SlackAPIError(
            "invalid_response", method=method, status=response.status_code
        ) from None
    if not isinstance(body, dict):
        raise SlackAPIError("invalid_response", method=method, status=response.status_code)
    return body


@sensitive_variables()  # tokens and secrets stay out of error reports
def call(
    method: str,
    *,
    token: str | None = None,
    data: dict[str, Any] | None = None,
    basic_auth: tuple[str, str] | None = None,
    http_method: str = "POST",
) -> dict[str, Any]:
    """Call a Slack Web API method and return its JSON when ``ok`` is true."""
    url = f"{app_settings.API_URL}/{method}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = {key: value for key, value in (data or {}).items() if value is not None}
    request_args: dict[str, Any] = {"params" if http_method == "GET" else "data": payload}
    response = _send(
        http_method, url, method=method, headers=headers, auth=basic_auth, **request_args
    )
    body = _json_object(response, method)
    if body.get("ok") is not True:
        code = _clean_code(body.get("error"))
        logger.info("Slack %s answered ok=false: %s", method, code)
        raise SlackAPIError(
            code, method=method, status=response.status_code, errors=_errors(body.get("errors"))
        )
    return body


def _errors(errors: object) -> list[dict[str, str]]:
    """``invalid_manifest``'s ``errors[]`` as short strings (at most 50 of them)."""
    if not isinstance(errors, list):
        return []
    keys = ("code", "message", "pointer", "related_component")
    return [
        {key: str(error.get(key) or "")[:500] for key in keys}
        for error in errors[:50]
        if isinstance(error, dict)
    ]


@sensitive_variables()  # tokens and secrets stay out of error reports
def oauth_v2_access(
    *,
    client_id: str,
    client_secret: str,
    code: str | None = None,
    redirect_uri: str | None = None,
    grant_type: str | None = None,
    refresh_token: str | None = None,
    code_verifier: str | None = None,
) -> dict[str, Any]:
    """Exchange a code (or a refresh token) for tokens; client id and secret go as Basic auth.

    ``code_verifier`` is PKCE's, for a code whose authorize URL carried its challenge.
    """
    return call(
        "oauth.v2.access",
        basic_auth=(client_id, client_secret),
        data={
            "code": code,
            "redirect_uri": redirect_uri,
            "grant_type": grant_type,
            "refresh_token": refresh_token,
            "code_verifier": code_verifier,
        },
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def auth_test(token: str) -> dict[str, Any]:
    return call("auth.test", token=token)


@sensitive_variables()  # tokens and secrets stay out of error reports
def auth_revoke(token: str) -> dict[str, Any]:
    return call("auth.revoke", token=token)


@sensitive_variables()  # tokens and secrets stay out of error reports
def chat_post_message(token: str, *, channel: str, text: str) -> dict[str, Any]:
    return call("chat.postMessage", token=token, data={"channel": channel, "text": text})


@sensitive_variables()  # tokens and secrets stay out of error reports
def openid_connect_token(
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None = None,
    code_verifier: str | None = None,
) -> dict[str, Any]:
    """Exchange a Sign in with Slack code for its ``id_token`` (and an access token).

    Client id and secret go as Basic auth, as for ``oauth.v2.access``.
    """
    return call(
        "openid.connect.token",
        basic_auth=(client_id, client_secret),
        data={
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def openid_connect_user_info(token: str) -> dict[str, Any]:
    """The signed-in Slack user's profile, for the sign-in's access token."""
    return call("openid.connect.userInfo", token=token)


def openid_connect_keys(url: str) -> dict[str, Any]:
    """The JSON Web Key Set at ``url``: the public keys that sign Slack's ``id_token`` values.

    A GET with the timeout, no redirect followed; its body is not a Web API answer
    (no ``ok``), so any JSON object comes back for the caller to check.
    """
    response = _send("GET", url, method="openid.connect.keys")
    return _json_object(response, "openid.connect.keys")


# --- App manifests (the token is an app configuration token, ``xoxe.xoxp-…``) -------------


@sensitive_variables()  # tokens and secrets stay out of error reports
def apps_manifest_create(
    token: str, *, manifest: dict[str, Any], team_id: str | None = None
) -> dict[str, Any]:
    """Create an app; the answer holds its ``app_id`` and ``credentials`` (secrets)."""
    return call(
        "apps.manifest.create",
        token=token,
        data={"manifest": json.dumps(manifest), "team_id": team_id},
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def apps_manifest_update(token: str, *, app_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Replace the whole configuration of ``app_id`` with ``manifest``."""
    return call(
        "apps.manifest.update",
        token=token,
        data={"app_id": app_id, "manifest": json.dumps(manifest)},
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def apps_manifest_export(token: str, *, app_id: str) -> dict[str, Any]:
    return call("apps.manifest.export", token=token, data={"app_id": app_id})


@sensitive_variables()  # tokens and secrets stay out of error reports
def apps_manifest_validate(
    token: str, *, manifest: dict[str, Any], app_id: str | None = None
) -> dict[str, Any]:
    return call(
        "apps.manifest.validate",
        token=token,
        data={"manifest": json.dumps(manifest), "app_id": app_id},
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def tooling_tokens_rotate(refresh_token: str) -> dict[str, Any]:
    """Trade a configuration token's refresh token (single-use) for a new pair."""
    return call("tooling.tokens.rotate", data={"refresh_token": refresh_token})


# --- Reading Slack's answers ----------------------------------------------------------

# Keys of Slack's answers whose values are secrets, wherever they sit in the JSON.
SECRET_KEYS = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "signing_secret", "token"}
)


def redact(data: Any) -> Any:
    """Return a copy of Slack's JSON with every token and webhook URL removed.

    NUL characters are dropped too: the copy is stored, and PostgreSQL's JSON refuses them.
    """
    if isinstance(data, dict):
        return {
            redact(key): redact(value)
            for key, value in data.items()
            if key not in SECRET_KEYS and not (key == "url" and _is_webhook_url(value))
        }
    if isinstance(data, list):
        return [redact(item) for item in data]
    if isinstance(data, str):
        return "[redacted]" if _looks_secret(data) else data.replace("\x00", "")
    return data


def _is_webhook_url(value: Any) -> bool:
    return isinstance(value, str) and "/services/" in value


def _looks_secret(value: str) -> bool:
    return value.startswith("xox") or "hooks.slack.com/" in value


def expiry_of(expires_in: Any) -> datetime.datetime | None:
    """When a token Slack says ``expires_in`` seconds from now expires (None: never)."""
    if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0:
        return timezone.now() + datetime.timedelta(seconds=expires_in)
    return None
