"""Races that only a real multi-connection database can show."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections
from django.test import RequestFactory

from slack_installs import oauth
from slack_installs.exceptions import InvalidState
from slack_installs.models import OAuthAttempt
from tests.databases import HAS_ROW_LOCKS, ROW_LOCKS_REASON

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _row_locks_only():
    if not HAS_ROW_LOCKS:
        pytest.skip(ROW_LOCKS_REASON)


def test_two_concurrent_callbacks_with_one_state_cannot_both_win(slack_app):
    factory = RequestFactory()
    request = factory.get("/slack/acme/install/")
    request.user = None
    started = oauth.start_install(request, slack_app)
    state = parse_qs(urlsplit(started.authorize_url).query)["state"][0]

    contenders = 6
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []

    def contend() -> None:
        callback = factory.get("/cb/", {"state": state})
        callback.COOKIES["slack_installs_browser"] = started.browser_id
        barrier.wait()
        try:
            oauth.consume_state(callback, slack_app, state)
            outcomes.append("won")
        except InvalidState:
            outcomes.append("lost")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * (contenders - 1) + ["won"]
    assert OAuthAttempt.objects.get().consumed_at is not None
