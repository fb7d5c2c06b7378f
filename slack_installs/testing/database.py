"""Let a fake Slack know every Slack app stored in the database, as api.slack.com would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections

from .records import FakeApp


def database_resolver(*, token_rotation: bool = False) -> Callable[[str], FakeApp | None]:
    """A ``resolve_app`` for ``FakeSlack``: looks the client id up in ``SlackApp`` on each call.

    Apps added or edited in the admin are known at once, with their current secrets.
    """

    def resolve(client_id: str) -> FakeApp | None:
        from slack_installs.models import SlackApp

        try:
            app = SlackApp.objects.filter(client_id=client_id).first()
            return None if app is None else FakeApp.of(app, token_rotation=token_rotation)
        finally:
            if threading.current_thread() is not threading.main_thread():
                # The fake answers each request on a new thread, which would leak its connection.
                connections.close_all()

    return resolve
