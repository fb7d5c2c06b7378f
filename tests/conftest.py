from __future__ import annotations

import pytest
import responses

from slack_installs.models import SlackApp
from tests import slack_payloads

pytest_plugins = ["slack_installs.testing.pytest_plugin"]


@pytest.fixture
def mocked_slack():
    """Every HTTP call goes through ``responses``; an unexpected call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def slack_app(db):
    return SlackApp.objects.create(
        name="Acme Bot",
        slug="acme",
        client_id="111.222",
        client_secret=slack_payloads.CLIENT_SECRET,
        signing_secret=slack_payloads.SIGNING_SECRET,
        bot_scopes="chat:write,commands",
    )
