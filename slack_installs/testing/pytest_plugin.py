"""pytest fixtures for projects that use slack_installs (needs pytest-django).

Enable it in your ``conftest.py``::

    pytest_plugins = ["slack_installs.testing.pytest_plugin"]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .fakeslack import FakeSlack

if TYPE_CHECKING:
    from slack_installs.models import SlackApp


@pytest.fixture
def fake_slack(settings: Any) -> Iterator[FakeSlack]:
    """A running ``FakeSlack``; ``SLACK_INSTALLS`` points at it for the test's duration.

    The other keys of ``SLACK_INSTALLS`` (your encryption keys above all) are kept.
    Register your apps with ``fake_slack.register_slack_app(app)``.
    """
    with FakeSlack() as fake:
        current = dict(getattr(settings, "SLACK_INSTALLS", None) or {})
        settings.SLACK_INSTALLS = {**current, "SLACK_URL": fake.url, "API_URL": fake.api_url}
        yield fake


@pytest.fixture
def fake_slack_app(db: Any, fake_slack: FakeSlack) -> SlackApp:
    """A ``SlackApp`` that ``fake_slack`` knows, ready to install.

    "Acme Helper" (slug ``acme-helper``) asks for the bot scopes ``chat:write``,
    ``commands`` and ``incoming-webhook`` and the user scope ``users:read``, and has a
    signing secret. Its tokens do not rotate; for rotating ones, register it again with
    ``fake_slack.register_slack_app(fake_slack_app, token_rotation=True)``.
    """
    from slack_installs.models import SlackApp

    app = SlackApp.objects.create(
        name="Acme Helper",
        slug="acme-helper",
        client_id="3000000001.3000000001",
        client_secret="fake-slack-app-client-secret",
        signing_secret="fake-slack-app-signing-secret",
        bot_scopes="chat:write,commands,incoming-webhook",
        user_scopes="users:read",
    )
    fake_slack.register_slack_app(app)
    return app
