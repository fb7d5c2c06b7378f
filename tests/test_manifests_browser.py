"""An app made from the admin, end to end in a real headless Chromium under a strict CSP.

Add the fake Slack's configuration token, save an app without credentials, "Create on
Slack" with one click, install it through the fake Slack, change its scopes, push, and
compare: no drift. Needs ``/usr/bin/chromium`` and ``playwright`` (see tests/browser.py).
"""

from __future__ import annotations

import json

import pytest

from slack_installs import manifests
from slack_installs.models import ConfigurationToken, Installation, SlackApp
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.test_admin_browser import log_in, make_app, strict_csp_page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_create_on_slack_install_change_scopes_push_and_no_drift(live_server, fake_slack):
    sync_playwright = require_browser()
    make_app([])  # the superuser "admin" (and an app made by hand, beside ours)
    issued = fake_slack.issue_configuration_token()
    site = live_server.url
    violations: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
            page = strict_csp_page(context, live_server, violations)
            log_in(page, live_server)

            # The configuration token the demo prints, pasted into the admin.
            page.goto(f"{site}/admin/slack_installs/configurationtoken/add/")
            page.get_by_label("Workspace id").fill(issued.team_id)
            page.get_by_label("Configuration token").fill(issued.token)
            page.get_by_label("Refresh token").fill(issued.refresh_token)
            page.click("input[name=_save]")
            page.wait_for_url(f"{site}/admin/slack_installs/configurationtoken/")
            assert issued.token not in page.content()

            # An app without credentials: saved, and the admin says why it cannot install.
            page.goto(f"{site}/admin/slack_installs/slackapp/add/")
            page.get_by_label("Name").fill("Standup Bot")
            page.get_by_label("Name").press("Tab")
            assert page.get_by_label("Slug").input_value() == "standup-bot"  # prepopulated
            page.get_by_label("Bot scopes").fill("chat:write,commands")
            page.click("input[name=_continue]")
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/*/change/")
            pk = int(page.url.rstrip("/").split("/")[-2])  # no ORM here: playwright's loop runs
            assert (
                "no client id and secret yet" in page.locator("#slack-button-preview").inner_text()
            )

            # The Manifest page: its JSON, the copy button (our script), then one click.
            page.get_by_role("link", name="Manifest").click()
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/*/manifest/")
            copy = page.get_by_role("button", name="Copy")
            copy.click()
            page.get_by_role("button", name="Copied").wait_for()  # the clipboard took it
            copied = page.evaluate("navigator.clipboard.readText()")
            assert json.loads(copied)["display_information"]["name"] == "Standup Bot"
            page.get_by_role("button", name="Create on Slack").click()
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/*/manifest/")
            assert "was created on Slack" in page.locator(".messagelist").inner_text()
            [known] = [app for app in fake_slack.apps.values() if app.name == "Standup Bot"]
            assert known.client_secret not in page.content()
            assert known.signing_secret not in page.content()

            # Installed through the fake Slack, from the site's button. (In a tab without the
            # strict CSP: the public pages are not what this test is about.)
            visitor = context.new_page()
            visitor.goto(f"{site}/")
            visitor.locator("#app-standup-bot").get_by_role("link", name="Add to Slack").click()
            visitor.wait_for_url(f"{fake_slack.url}/oauth/v2/authorize?**")
            visitor.get_by_role("button", name="Allow").click()
            visitor.wait_for_url(f"{site}/slack/success/?app=standup-bot")

            # New scopes here are drift on Slack until pushed.
            page.goto(f"{site}/admin/slack_installs/slackapp/{pk}/change/")
            page.get_by_label("Bot scopes").fill("chat:write,commands,users:read")
            page.click("input[name=_continue]")
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/{pk}/change/")
            page.goto(f"{site}/admin/slack_installs/slackapp/{pk}/compare/")
            assert "/oauth_config/scopes/bot" in page.locator("#slack-differences").inner_text()
            page.goto(f"{site}/admin/slack_installs/slackapp/{pk}/manifest/")
            page.get_by_role("button", name="Push to Slack").click()
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/{pk}/manifest/")
            assert "Slack took the manifest" in page.locator(".messagelist").inner_text()
            page.get_by_role("link", name="Compare with Slack").click()
            page.wait_for_url(f"{site}/admin/slack_installs/slackapp/{pk}/compare/")
            assert "No drift" in page.locator("#slack-no-drift").inner_text()
        finally:
            browser.close()

    app = SlackApp.objects.get(pk=pk)
    assert (app.client_id, app.client_secret) == (known.client_id, known.client_secret)
    installation = Installation.objects.get(app=app)
    assert installation.team_id == "T0ACME0001"
    assert fake_slack.manifest_of(app.app_id)["oauth_config"]["scopes"]["bot"] == [
        "chat:write",
        "commands",
        "users:read",
    ]
    assert manifests.compare_with_slack(app, base_url=site) == []
    # Pasted without its expiry, the token was rotated once before its first use.
    [rotation] = fake_slack.calls_to("tooling.tokens.rotate")
    assert ConfigurationToken.objects.get().access_token == rotation.response["token"]
    assert violations == []
