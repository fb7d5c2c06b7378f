"""Sign in with Slack in a real headless Chromium, on the demo's home page and the fake Slack.

Click "Sign in with Slack", allow at the fake Slack, land signed in as a new user; sign
out; sign in again as the same user; and each kind of tampered ``id_token`` shows the
error page. Skipped without Chromium, except under ``CI=true`` (see tests/browser.py).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from slack_installs.models import OAuthAttempt, SlackApp, SlackIdentity
from slack_installs.testing.oidc import TAMPERINGS
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

User = get_user_model()
USERNAME = "slack.T0ACME0001.U0ACME0001"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_in_with_slack_sign_out_again_and_tampered_in_chromium(live_server, fake_slack):
    sync_playwright = require_browser()
    cache.clear()
    app = SlackApp.objects.create(
        name="Acme Helper",
        slug="acme-helper",
        client_id="4000000003.4000000003",
        client_secret="canary-browser-client-secret-3",
        bot_scopes="chat:write",
        sign_in_enabled=True,
    )
    fake_slack.register_slack_app(app)
    site = live_server.url

    def sign_in(page) -> None:
        page.goto(f"{site}/")
        assert page.locator("#signed-out").inner_text() == "Nobody is signed in."
        page.get_by_role("link", name="Sign in with Slack").click()
        page.wait_for_url(f"{fake_slack.url}/openid/connect/authorize?**")
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Sign in to Acme Helper with Slack"
        )
        page.get_by_role("button", name="Allow").click()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)

            # A new Slack user: a new Django user, signed in, back on the home page.
            sign_in(page)
            page.wait_for_url(f"{site}/")
            signed_in = page.locator("#signed-in").inner_text()
            assert USERNAME in signed_in and "Pat of Acme Corp in Acme Corp" in signed_in

            # Sign out, then in again: the same Django user.
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{site}/")
            assert page.locator("#signed-out").is_visible()
            sign_in(page)
            page.wait_for_url(f"{site}/")
            assert USERNAME in page.locator("#signed-in").inner_text()
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{site}/")

            # Each kind of tampered id_token: the error page, nobody signed in.
            for how in TAMPERINGS:
                fake_slack.tamper_next_id_token(how)
                sign_in(page)
                page.wait_for_url(f"{site}/slack/acme-helper/sign-in/callback/?**")
                heading = page.get_by_role("heading", level=1).inner_text()
                assert heading == "Sign in with Slack did not complete", how
                assert "invalid_id_token" in page.locator("main").inner_text(), how
                page.goto(f"{site}/")
                assert page.locator("#signed-out").is_visible(), how
        finally:
            browser.close()

    # (The ORM is not called while playwright's event loop runs.) One user for both sign-ins.
    [user] = User.objects.all()
    assert user.username == USERNAME and not user.has_usable_password()
    assert SlackIdentity.objects.get().user == user
    outcomes = list(OAuthAttempt.objects.order_by("created_at").values_list("status", "error"))
    assert outcomes == [("succeeded", "")] * 2 + [("failed", "invalid_id_token")] * len(TAMPERINGS)
