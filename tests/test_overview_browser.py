"""The admin's overview in a real headless Chromium: after a few installs through the fake
Slack and one failed attempt, its SVG charts have labelled bars, drawn in the admin's
colours in the light and the dark theme, under a strict Content-Security-Policy.

Needs ``/usr/bin/chromium`` and ``playwright`` (skipped without them, failed under CI=true).
With ``BROWSER_SCREENSHOTS=<directory>`` it saves a screenshot of the page in each theme.
"""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from slack_installs.models import InstallationEvent, OAuthAttempt
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.installs import install_through_fake, start_install
from tests.test_admin_browser import log_in, strict_csp_page

FILL = "element => getComputedStyle(element).fill"
BACKGROUND = "() => getComputedStyle(document.body).backgroundColor"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_overview_draws_labelled_bars_in_both_themes(live_server, fake_slack, fake_slack_app):
    sync_playwright = require_browser()
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()  # the installs' browser: the fake Slack answers it over loopback
    for workspace in ("T0ACME0001", "T0GLOBEX01", "E0GLOBEX01", "T0ACME0001"):
        assert (
            install_through_fake(
                client, fake_slack, fake_slack_app, workspace=workspace
            ).status_code
            == 302
        )
    state = start_install(client, fake_slack_app.slug)
    failed = client.get(
        f"/slack/{fake_slack_app.slug}/oauth/callback/", {"code": "forged", "state": state}
    )
    assert failed.status_code == 400
    assert list(OAuthAttempt.objects.values_list("status", flat=True).order_by("status")) == [
        "failed",
        "succeeded",
        "succeeded",
        "succeeded",
        "succeeded",
    ]
    assert sorted(InstallationEvent.objects.values_list("kind", flat=True)) == [
        "installed",
        "installed",
        "installed",
        "reinstalled",
    ]
    error = OAuthAttempt.objects.get(status="failed").error
    violations: list[str] = []
    fills: dict[str, tuple[str, str]] = {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for scheme in ("light", "dark"):
                page = strict_csp_page(
                    browser.new_context(color_scheme=scheme), live_server, violations
                )
                log_in(page, live_server)
                page.get_by_role("link", name="Overview").first.click()
                page.wait_for_url(f"{live_server.url}/admin/slack_installs/overview/")
                weeks, attempts = page.locator("svg.slack-overview-svg").all()
                assert weeks.is_visible() and attempts.is_visible()

                # This week: 3 installs and a re-install, one bar with its title and its value.
                [bar] = weeks.locator("rect.slack-overview-bar").all()
                assert bar.locator("title").text_content().endswith(": 4 installs")
                assert bar.get_attribute("aria-label") == bar.locator("title").text_content()
                assert weeks.locator("text.slack-overview-value").all_text_contents() == ["4"]
                assert len(weeks.locator("text.slack-overview-tick").all()) == 7
                box = bar.bounding_box()
                assert box is not None and box["height"] > 50  # the tallest bar: the full plot

                # Attempts: succeeded 4, then the failure with its error code, each labelled.
                labels = attempts.locator("text.slack-overview-label").all_text_contents()
                assert labels == ["succeeded", f"failed: {error}"]
                titles = attempts.locator("rect title").all_text_contents()
                assert titles == ["succeeded: 4 attempts", f"failed: {error}: 1 attempt"]
                assert attempts.locator("text.slack-overview-value").all_text_contents() == [
                    "4",
                    "1",
                ]

                # The stylesheet loaded under the policy: bars and labels take the theme's colours.
                succeeded, failure = attempts.locator("rect.slack-overview-bar").all()
                label = attempts.locator("text.slack-overview-label").first
                assert succeeded.evaluate(FILL) != failure.evaluate(FILL)
                assert label.evaluate(FILL) != page.evaluate(BACKGROUND)
                fills[scheme] = (bar.evaluate(FILL), label.evaluate(FILL))
                if screenshots := os.environ.get("BROWSER_SCREENSHOTS"):
                    page.screenshot(path=f"{screenshots}/overview-{scheme}.png", full_page=True)
                page.close()
        finally:
            browser.close()

    assert fills["light"] != fills["dark"]  # the dark theme's variables apply
    assert all(fill not in ("rgb(0, 0, 0)", "none") for pair in fills.values() for fill in pair)
    assert violations == []
