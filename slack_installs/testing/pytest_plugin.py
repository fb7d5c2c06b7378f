"""pytest fixtures for projects that use slack_installs (needs pytest-django).

Enable it in your ``conftest.py``::

    pytest_plugins = ["slack_installs.testing.pytest_plugin"]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .fakeslack import FakeSlack


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
