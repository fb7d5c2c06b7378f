"""Every page the app renders, in a real headless Chromium, under the demo's strict policy.

On Django 6.0+ the demo (and so these settings) sends ``Content-Security-Policy:
default-src 'self'`` from Django's ContentSecurityPolicyMiddleware: no inline ``<style>``,
``<script>`` or ``style=`` attribute may run. Any violation Chromium reports fails the test,
and so does any other console error (a stylesheet or script that did not load).
"""

from __future__ import annotations

import django
import pytest

from slack_installs.models import Installation
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    admin_and_app,
    collect_console_problems,
    require_browser,
)

POLICY = "default-src 'self'"
PASSWORD = "canary-csp-admin-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        django.VERSION < (6, 0),
        reason="Django 5.2 has no ContentSecurityPolicyMiddleware: the demo sends its policy "
        "on Django 6.0+ (tests/test_admin_browser.py injects one on every Django)",
    ),
]


def test_the_demo_sends_the_strict_policy(client, db):
    response = client.get("/slack/success/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.django_db(transaction=True)
def test_every_page_we_render_holds_under_a_strict_csp(live_server, fake_slack):
    sync_playwright = require_browser()
    app = admin_and_app(
        PASSWORD,
        name="Acme Helper",
        slug="acme-helper",
        client_id="4000000001.4000000001",
        client_secret="canary-csp-client-secret",
        bot_scopes="chat:write",
        # A removed step: the picker shows its warning too.
        pipelines=["slack_installs.pipelines.log_api_data", "myproject.slack.removed_step"],
    )
    fake_slack.register_slack_app(app)
    site = live_server.url
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            collect_console_problems(page, problems)

            def visit(path: str) -> None:
                response = page.goto(f"{site}{path}")
                assert response is not None, path
                assert response.headers.get("content-security-policy") == POLICY, path
                page.wait_for_load_state("load")

            # The demo's home page with the "Add to Slack" button, then the install: our
            # install view, the fake consent page (the fake's own origin), our success page.
            visit("/")
            page.get_by_role("link", name="Add to Slack").click()
            page.wait_for_url(f"{fake_slack.url}/oauth/v2/authorize?**")
            page.get_by_role("button", name="Allow").click()
            page.wait_for_url(f"{site}/slack/success/?app=acme-helper")
            assert page.get_by_role("heading", level=1).inner_text() == "Acme Helper is installed"
            # The stylesheet loaded under the policy: the result sits in its bordered box.
            main_border = "getComputedStyle(document.querySelector('main')).borderTopStyle"
            assert page.evaluate(main_border) == "solid"

            # The error pages: Slack said no, and a callback nobody started.
            visit("/slack/error/?error=access_denied&app=acme-helper")
            refused = "/slack/acme-helper/oauth/callback/?code=c&state=nobody-issued-this"
            visit(refused)  # answered 400, which Chromium logs as a failed load
            assert "was not installed" in page.get_by_role("heading", level=1).inner_text()
            assert page.evaluate(main_border) == "solid"

            # The admin pages we add or extend.
            visit("/admin/login/?next=/admin/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{site}/admin/")
            change = f"/admin/slack_installs/slackapp/{app.pk}/change/"
            visit(change)  # the setup panel, the button preview, the pipeline picker
            assert page.locator(".slack-pipeline-js").count() == 1  # its script ran
            assert page.locator("#slack-button-preview a.slack-install-button").count() == 1
            visit("/admin/slack_installs/slackapp/add/")
            visit(f"/admin/slack_installs/slackapp/{app.pk}/rotate-client-secret/")
            visit(f"/admin/slack_installs/slackapp/{app.pk}/rotate-signing-secret/")
            visit("/admin/slack_installs/slackapp/")
            visit("/admin/slack_installs/oauthattempt/")
            visit("/admin/slack_installs/overview/")  # its SVG charts: classes, no style=
            visit("/admin/slack_installs/installationevent/")
            visit("/admin/slack_installs/installation/")
            page.locator("#result_list tbody tr a").first.click()
            page.wait_for_url(f"{site}/admin/slack_installs/installation/*/change/")
            visit("/admin/slack_installs/installation/")
            page.locator("input[name=_selected_action]").first.check()
            page.locator("select[name=action]").select_option("revoke")
            page.locator("button[name=index], input[name=index]").first.click()
            page.get_by_role("button", name="Yes, revoke them").wait_for()
            assert page.url.endswith("/admin/slack_installs/installation/")
        finally:
            browser.close()

    expected = f"{site}{refused}: Failed to load resource: the server responded with a status of 4"
    assert [problem for problem in problems if not problem.startswith(expected)] == []
    assert Installation.objects.get().revoked_at is None  # the confirmation page only
