"""The demo project as gunicorn serves it, naming in each answer the worker that served it.

Used only by tests/test_hardening_concurrency.py: the ``X-Worker-Pid`` header proves
that an install and its callback were served by different worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from demo_site.wsgi import application as demo_application


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    def start_with_pid(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    return demo_application(environ, start_with_pid)
