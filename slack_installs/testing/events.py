"""Signed Events API deliveries, the way Slack sends them, over stdlib ``urllib``.

Slack signs ``v0:<timestamp>:<raw body>`` with HMAC-SHA256 under the app's
signing secret and sends ``X-Slack-Signature: v0=<hex>`` and
``X-Slack-Request-Timestamp: <timestamp>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value of ``body`` sent at ``timestamp``."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


@dataclass(frozen=True)
class Delivery:
    """What the events URL answered."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Slack does not follow redirects from an events URL; a 3xx is the answer.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http_request(url: str, **kwargs: Any) -> urllib.request.Request:
    """A ``urllib`` request limited to http(s) URLs (no ``file:`` or other schemes)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    return urllib.request.Request(url, **kwargs)  # noqa: S310 (scheme checked above)


def open_url(request: urllib.request.Request, timeout: float) -> Any:
    """Open ``request`` without following redirects: a 3xx comes back as an ``HTTPError``."""
    return _opener.open(request, timeout=timeout)


def deliver(
    url: str,
    payload: dict[str, Any] | str | bytes,
    *,
    signing_secret: str,
    timestamp: int | None = None,
    content_type: str = "application/json",
    retry_num: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Delivery:
    """POST a correctly signed request to ``url`` and return the answer (never raises on 4xx/5xx).

    ``payload`` may be a dict (sent as JSON), or a ready body. Pass an old ``timestamp``
    to test replay protection.
    """
    if isinstance(payload, dict):
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    elif isinstance(payload, str):
        body = payload.encode("utf-8")
    else:
        body = bytes(payload)
    sent_at = int(time.time()) if timestamp is None else int(timestamp)
    request_headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(sent_at),
        "X-Slack-Signature": signature(signing_secret, sent_at, body),
    }
    if retry_num is not None:
        request_headers["X-Slack-Retry-Num"] = str(retry_num)
        request_headers["X-Slack-Retry-Reason"] = "http_timeout"
    request_headers.update(headers or {})
    request = http_request(url, data=body, headers=request_headers, method="POST")
    try:
        with open_url(request, timeout) as response:
            return Delivery(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as exc:
        with exc:
            return Delivery(exc.code, exc.read(), dict(exc.headers.items()))


def event_callback(
    event: dict[str, Any],
    *,
    api_app_id: str,
    team_id: str,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
    user_id: str | None = None,
    event_id: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The ``event_callback`` envelope Slack wraps an event in."""
    now = int(time.time()) if event_time is None else event_time
    authorization = {
        "enterprise_id": enterprise_id,
        "team_id": None if is_enterprise_install else team_id,
        "user_id": user_id,
        "is_bot": True,
        "is_enterprise_install": is_enterprise_install,
    }
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": {"event_ts": f"{now}.000100", **event},
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": now,
        "authorizations": [authorization],
        "is_ext_shared_channel": False,
    }


def url_verification(challenge: str) -> dict[str, Any]:
    """The handshake Slack sends when an events URL is saved in the app's settings."""
    return {
        "token": "deprecated-verification-token",
        "challenge": challenge,
        "type": "url_verification",
    }
