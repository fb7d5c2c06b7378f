"""The whole flow in a real headless Chromium: home page, fake consent, success, error, admin.

Needs Debian's ``/usr/bin/chromium`` and the ``playwright`` package. Without them the
test is skipped with the reason, except under ``CI=true`` where it fails: CI must
never pass by silently skipping the browser.
"""

from __future__ import annotations

import pytest

from slack_installs.models import Installation, OAuthAttempt, SlackApp
from tests.browser import CHROMIUM, CHROMIUM_ARGS, admin_and_app, require_browser

ADMIN_PASSWORD = "canary-browser-admin-password"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_add_to_slack_allow_cancel_and_admin_in_chromium(live_server, fake_slack):
    sync_playwright = require_browser()
    helper = admin_and_app(
        ADMIN_PASSWORD,
        name="Acme Helper",
        slug="acme-helper",
        client_id="4000000001.4000000001",
        client_secret="canary-browser-client-secret-1",
        bot_scopes="chat:write,commands,incoming-webhook",
        user_scopes="users:read",
    )
    standup = SlackApp.objects.create(
        name="Standup Bot",
        slug="standup-bot",
        client_id="4000000002.4000000002",
        client_secret="canary-browser-client-secret-2",
        bot_scopes="chat:write",
    )
    fake_slack.register_slack_app(helper)
    fake_slack.register_slack_app(standup)
    site = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)

            # Home page → "Add to Slack" → the fake consent page → Allow → success page.
            page.goto(f"{site}/")
            assert page.get_by_role("link", name="Add to Slack").count() == 2
            page.locator("#app-acme-helper").get_by_role("link", name="Add to Slack").click()
            page.wait_for_url(f"{fake_slack.url}/oauth/v2/authorize?**")
            heading = page.get_by_role("heading", level=1).inner_text()
            assert heading == "Acme Helper is requesting permission to access a Slack workspace"
            page.get_by_label("Globex Sales (in Globex Corporation)").check()
            page.get_by_label("Where should it post?").select_option(label="#random")
            page.get_by_role("button", name="Allow").click()
            page.wait_for_url(f"{site}/slack/success/?app=acme-helper")
            assert page.get_by_role("heading", level=1).inner_text() == "Acme Helper is installed"

            # Cancel on the consent page → our error page, in plain words.
            page.goto(f"{site}/")
            page.locator("#app-standup-bot").get_by_role("link", name="Add to Slack").click()
            page.wait_for_url(f"{fake_slack.url}/oauth/v2/authorize?**")
            page.get_by_role("button", name="Cancel").click()
            page.wait_for_url(f"{site}/slack/standup-bot/oauth/callback/?error=access_denied**")
            assert page.get_by_role("heading", level=1).inner_text() == (
                "Standup Bot was not installed"
            )
            assert "The install was cancelled on Slack" in page.locator("main").inner_text()

            # The admin lists the installation, and shows no token.
            page.goto(f"{site}/admin/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{site}/admin/")
            page.goto(f"{site}/admin/slack_installs/installation/")
            rows = page.locator("#result_list tbody tr")
            assert rows.count() == 1
            row = rows.first.inner_text()
            assert "Globex Sales" in row and "Acme Helper" in row and "T0GLOBEX01" in row
            rows.first.get_by_role("link").first.click()
            page.wait_for_url(f"{site}/admin/slack_installs/installation/*/change/")
            [bot_token] = [token.value for token in fake_slack.tokens(kind="bot")]
            assert bot_token not in page.content()

            # And the home page shows the new install.
            page.goto(f"{site}/")
            assert "Globex Sales" in page.locator("#installations").inner_text()
        finally:
            browser.close()

    installation = Installation.objects.get()
    assert (installation.app, installation.team_id) == (helper, "T0GLOBEX01")
    assert installation.incoming_webhook_channel == "#random"
    assert installation.bot_token == bot_token
    statuses = dict(OAuthAttempt.objects.values_list("app__slug", "status"))
    assert statuses == {"acme-helper": "succeeded", "standup-bot": "denied"}


def test_a_missing_chromium_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not at /nonexistent/chromium"):
        require_browser("/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and the browser test cannot run"):
        require_browser("/nonexistent/chromium")
