"""A threaded wsgiref server on loopback that can also hang up without answering.

The fake Slack uses it to serve its WSGI app on a background thread (or in the
foreground for the management command). Only the standard library is used.
"""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from typing import IO, Any, cast
from urllib.parse import urlsplit
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

logger = logging.getLogger("slack_installs.testing")


class DropConnection(Exception):  # noqa: N818  (a signal, not an error)
    """Raised by the WSGI app to close the connection without sending any answer."""


class _ServerHandler(ServerHandler):
    request_handler: WSGIRequestHandler  # set as wsgiref's own handle() does, for logging

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            return  # nothing is written: the client sees the connection close
        super().handle_error()

    def log_exception(self, exc_info: Any) -> None:
        logger.error("The fake Slack failed to answer", exc_info=exc_info)


class _RequestHandler(WSGIRequestHandler):
    def handle(self) -> None:
        # wsgiref's own handle(), with a ServerHandler that can drop the connection.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        # wfile writes and flushes, all ServerHandler does with it; typeshed asks for IO[bytes].
        wfile = cast(IO[bytes], self.wfile)
        handler = _ServerHandler(
            self.rfile, wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        # The path only: query strings may carry tokens (auth.revoke?token=...).
        logger.debug("fake Slack: %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("fake Slack: " + format, *args)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when a burst of callers
    # (say 20 workers exchanging codes at once) connects faster than they are accepted.
    request_queue_size = 128

    def server_bind(self) -> None:
        # Skip HTTPServer's reverse DNS lookup of the bind address (socket.getfqdn).
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()


class BackgroundServer:
    """Serve a WSGI app on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self._server = _ThreadingWSGIServer((host, port), _RequestHandler)
        self._server.set_app(app)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` is called from another one."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
