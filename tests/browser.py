"""Headless Chromium for the browser tests: Debian's binary driven by playwright."""

from __future__ import annotations

import os
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out of a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def admin_and_app(password: str, **fields: Any):
    """A superuser ``admin`` with ``password``, and a Slack app made of ``fields``."""
    from django.contrib.auth import get_user_model

    from slack_installs.models import SlackApp

    get_user_model().objects.create_superuser("admin", "admin@example.com", password)
    return SlackApp.objects.create(**fields)


def require_browser(chromium: str = CHROMIUM):
    """Return playwright's ``sync_playwright``, or skip (fail under CI=true) with the reason.

    CI must never pass by silently skipping the browser.
    """
    problem = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if not problem and not os.access(chromium, os.X_OK):
        problem = f"Chromium is not at {chromium} (install it: apt-get install chromium)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the browser test cannot run: {problem}")
        pytest.skip(f"browser test skipped: {problem}")
    return sync_playwright


def collect_console_problems(page, problems: list[str]) -> None:
    """Append to ``problems`` each Content Security Policy report, console error (a failed
    load among them) and script error that Chromium logs for ``page``, with its URL."""

    def on_console(message) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
