"""A few Slack Web API methods served on 127.0.0.1, for slack_sdk's WebClient.

slack_sdk speaks HTTP through urllib, which ``responses`` cannot intercept, so
tests that drive Bolt point its WebClient (and, where handy, our own client) at
this server. Answers are queued per method; the last one repeats.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Call:
    method: str
    headers: dict[str, str]
    params: dict[str, str]

    @property
    def bearer(self) -> str:
        value = self.headers.get("authorization", "")
        return value.removeprefix("Bearer ")


@dataclass
class LoopbackSlack:
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    port: int = 0

    @property
    def api_url(self) -> str:
        """Our ``API_URL`` form (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def base_url(self) -> str:
        """slack_sdk's ``base_url`` form (trailing slash)."""
        return f"{self.api_url}/"

    def answer(self, method: str, *payloads: dict[str, Any]) -> None:
        self.answers[method] = list(payloads)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def _respond(self, method: str) -> dict[str, Any]:
        queue = self.answers.get(method)
        if not queue:
            return {"ok": False, "error": "unknown_method"}
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler_for(slack: LoopbackSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            method = self.path.split("?", 1)[0].removeprefix("/api/")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            if body.startswith("{"):
                params = {key: str(value) for key, value in json.loads(body).items()}
            else:
                params = dict(parse_qsl(body))
            headers = {key.lower(): value for key, value in self.headers.items()}
            slack.calls.append(Call(method, headers, params))
            payload = json.dumps(slack._respond(method)).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output quiet

    return Handler


class running:
    """Context manager: a ``LoopbackSlack`` served on a free port."""

    def __enter__(self) -> LoopbackSlack:
        self.slack = LoopbackSlack()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.slack))
        self.slack.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.slack

    def __exit__(self, *exc_info: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
