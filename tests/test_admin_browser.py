"""The pipeline picker in a real headless Chromium, under a strict Content-Security-Policy.

Needs ``/usr/bin/chromium`` and the ``playwright`` package: without them the test is
skipped with the reason, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from slack_installs.models import SlackApp
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

STRICT_CSP = "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'"
LINK = "slack_installs.pipelines.link_django_user"
NOTIFY = "slack_installs.pipelines.notify_admins"
LOG = "slack_installs.pipelines.log_api_data"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pipeline_picker_reorders_under_a_strict_csp(live_server):
    sync_playwright = require_browser()
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    app = SlackApp.objects.create(
        name="Acme Bot",
        slug="acme",
        client_id="111.222",
        client_secret="canary-client-secret-5555",
        bot_scopes="chat:write",
        pipelines=[LINK, NOTIFY],
    )
    violations: list[str] = []

    def with_csp(route):
        response = route.fetch(max_redirects=0)  # let the browser follow redirects itself
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": STRICT_CSP},
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.route(f"{live_server.url}/**", with_csp)
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text and "script" in message.text
                    else None
                ),
            )
            page.on("pageerror", lambda error: violations.append(str(error)))

            page.goto(f"{live_server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")

            page.goto(f"{live_server.url}/admin/slack_installs/slackapp/{app.pk}/change/")
            # The script ran: it added the buttons and hid the position inputs.
            assert page.locator(".slack-pipeline-js").count() == 1
            assert not page.locator("[data-position]").first.is_visible()
            page.get_by_role("button", name="Move Email the site admins up").click()
            page.check(f'input[value="{LOG}"]')
            page.click("input[name=_continue]")
            page.wait_for_url(f"{live_server.url}/admin/slack_installs/slackapp/{app.pk}/change/")
            # The other pages we own load without a blocked script either.
            for path in [
                "/admin/slack_installs/slackapp/add/",
                "/admin/slack_installs/installation/",
                "/admin/slack_installs/installation/export/",
                "/admin/slack_installs/oauthattempt/",
            ]:
                page.goto(f"{live_server.url}{path}")
                assert page.locator("#content").count() == 1, path
        finally:
            browser.close()

    app.refresh_from_db()
    assert app.pipelines == [NOTIFY, LINK, LOG]
    assert violations == []
