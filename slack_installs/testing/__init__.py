"""A fake Slack for the demo, our tests and your own tests.

    from slack_installs.testing import FakeSlack

    with FakeSlack() as fake:
        fake.register_app("111.222", "client-secret", signing_secret="signing-secret")
        ...  # SLACK_INSTALLS["SLACK_URL"] = fake.url, ["API_URL"] = fake.api_url

With pytest, add ``pytest_plugins = ["slack_installs.testing.pytest_plugin"]`` to
your ``conftest.py`` and use the ``fake_slack`` fixture. See docs/testing.md.
"""

from __future__ import annotations

from .events import Delivery, deliver, event_callback, signature, url_verification
from .fakeslack import FakeSlack
from .records import (
    DEFAULT_WORKSPACES,
    Call,
    FakeApp,
    FakeSlackError,
    IssuedToken,
    Message,
    Workspace,
)

__all__ = [
    "DEFAULT_WORKSPACES",
    "Call",
    "Delivery",
    "FakeApp",
    "FakeSlack",
    "FakeSlackError",
    "IssuedToken",
    "Message",
    "Workspace",
    "deliver",
    "event_callback",
    "signature",
    "url_verification",
]
