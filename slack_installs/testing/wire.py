"""HTTP plumbing of the fake Slack: reading WSGI requests and building answers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_BODY = 1_000_000


@dataclass
class Answer:
    """An HTTP answer of the fake, before it becomes WSGI."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ApiRequest:
    """A Web API call: its parameters (query, form or JSON) and its credentials."""

    params: dict[str, Any]
    auth: str | None = None
    basic: tuple[str, str] | None = None
    bearer: str | None = None

    @property
    def token(self) -> str | None:
        value = self.bearer or self.params.get("token")
        return str(value) if value else None

    def client_credentials(self) -> tuple[str, str]:
        """Basic auth first (as Slack prefers), else the ``client_id``/``client_secret`` params."""
        if self.basic is not None:
            return self.basic
        return str(self.params.get("client_id") or ""), str(self.params.get("client_secret") or "")


class Refused(Exception):  # noqa: N818
    """Slack's ``{"ok": false, "error": code}``, raised by a Web API method."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.payload = {"ok": False, "error": code, **extra}


def split_scopes(value: Any) -> tuple[str, ...]:
    return tuple(scope.strip() for scope in str(value or "").split(",") if scope.strip())


def json_answer(
    payload: dict[str, Any], status: int = 200, headers: Sequence[tuple[str, str]] = ()
) -> Answer:
    return Answer(status, json.dumps(payload).encode("utf-8"), headers=list(headers))


def html_answer(text: str, status: int = 200) -> Answer:
    return Answer(status, text.encode("utf-8"), "text/html; charset=utf-8")


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(min(length, MAX_BODY)) if length > 0 else b""


def parse_params(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(
        parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    )
    if "json" in environ.get("CONTENT_TYPE", ""):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        if isinstance(data, dict):
            params.update(data)
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def parse_auth(environ: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None, str | None]:
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "basic", ("", ""), None
        client_id, _, secret = decoded.partition(":")
        return "basic", (client_id, secret), None
    if scheme.lower() == "bearer" and value.strip():
        return "bearer", None, value.strip()
    return None, None, None
