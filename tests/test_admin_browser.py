"""The pipeline picker in a real headless Chromium, under a strict Content-Security-Policy.

Needs ``/usr/bin/chromium`` and the ``playwright`` package: without them the tests are
skipped with the reason, except under ``CI=true`` where they fail. With
``BROWSER_SCREENSHOTS=<directory>`` the layout tests also save a screenshot of the picker there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from slack_installs import pipelines
from slack_installs.models import SlackApp
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

STRICT_CSP = "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'"
LINK = "slack_installs.pipelines.link_django_user"
WELCOME = "slack_installs.pipelines.send_welcome_message"
NOTIFY = "slack_installs.pipelines.notify_admins"
LOG = "slack_installs.pipelines.log_api_data"
GONE = "myproject.slack.a_step_removed_from_the_code"


def notify_the_customer_success_team_in_their_shared_channel(request, api_data):
    """Post the new workspace's name and its installer to the customer success team's channel."""
    return request, api_data


# A long label and a long dotted path without spaces: the hardest step to fit on a phone.
LONG = f"{__name__}.notify_the_customer_success_team_in_their_shared_channel"
LONG_LABEL = "Notify the customer success team in their shared channel"
TEST_KEYS = {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="}


def make_app(pipelines: list[str]) -> SlackApp:
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    return SlackApp.objects.create(
        name="Acme Bot",
        slug="acme",
        client_id="111.222",
        client_secret="canary-client-secret-5555",
        bot_scopes="chat:write",
        pipelines=pipelines,
    )


def strict_csp_page(context, live_server, violations: list[str]):
    """A page of ``context`` whose every answer from the live server carries the strict CSP."""

    def with_csp(route):
        response = route.fetch(max_redirects=0)  # let the browser follow redirects itself
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": STRICT_CSP},
        )

    page = context.new_page()
    page.set_default_timeout(20_000)
    page.route(f"{live_server.url}/**", with_csp)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    return page


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pipeline_picker_reorders_under_a_strict_csp(live_server):
    sync_playwright = require_browser()
    app = make_app([LINK, NOTIFY])
    violations: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = strict_csp_page(browser.new_context(), live_server, violations)
            log_in(page, live_server)

            page.goto(f"{live_server.url}/admin/slack_installs/slackapp/{app.pk}/change/")
            # The script ran: it added the buttons and hid the position inputs.
            assert page.locator(".slack-pipeline-js").count() == 1
            assert not page.locator("[data-position]").first.is_visible()
            page.get_by_role("button", name="Move Email the site admins up").click()
            page.check(f'input[value="{LOG}"]')
            page.click("input[name=_continue]")
            page.wait_for_url(f"{live_server.url}/admin/slack_installs/slackapp/{app.pk}/change/")
            # The other pages we own load without a blocked script or style either.
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


# --- Layout, from a phone to a desktop ------------------------------------------------

# Boxes of the picker and of each step's parts, in CSS pixels of the viewport. Each step is
# scrolled into view first, so ``hit`` can ask which element a click at a part's centre reaches.
MEASURE = """picker => {
  const box = element => {
    const r = element.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height};
  };
  const hit = element => {
    const r = element.getBoundingClientRect();
    const reached = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return reached !== null && (reached === element || element.contains(reached));
  };
  const part = element => element && {
    ...box(element), hit: hit(element), visible: element.checkVisibility(),
    scrollWidth: element.scrollWidth, clientWidth: element.clientWidth,
  };
  const steps = [...picker.querySelectorAll("[data-step]")].map(row => {
    row.scrollIntoView({block: "center"});
    return {
      path: row.querySelector("input[type=checkbox]").value,
      checkbox: part(row.querySelector("input[type=checkbox]")),
      name: part(row.querySelector(".slack-pipeline-name")),
      about: part(row.querySelector(".slack-pipeline-about")),
      path_text: part(row.querySelector(".slack-pipeline-path")),
      position: part(row.querySelector("[data-position]")),
      buttons: [...row.querySelectorAll(".slack-pipeline-move")].map(part),
      parts: [...row.querySelectorAll("*")]
        .filter(element => element.getClientRects().length > 0).map(box),
    };
  });
  const style = element => getComputedStyle(element);
  const help = picker.closest(".form-row").querySelector("div.help");
  return {
    viewport: document.documentElement.clientWidth,
    page_width: document.documentElement.scrollWidth,
    picker: {...box(picker), scrollWidth: picker.scrollWidth, clientWidth: picker.clientWidth},
    steps,
    colours: {
      body: style(document.body).color,
      background: style(document.body).backgroundColor,
      name: style(picker.querySelector(".slack-pipeline-name strong")).color,
      about: style(picker.querySelector(".slack-pipeline-about")).color,
      admin_help: style(help).color,
      separator: style(picker.querySelectorAll("[data-step]")[1]).borderTopColor,
      admin_hairline: style(picker.closest(".form-row")).borderBottomColor,
    },
  };
}"""


def overlap(a: dict, b: dict) -> bool:
    """Whether two boxes share more than a hairline."""
    return (
        a["left"] < b["right"] - 1
        and b["left"] < a["right"] - 1
        and a["top"] < b["bottom"] - 1
        and b["top"] < a["bottom"] - 1
    )


def luminance(colour: str) -> float:
    """0 (black) to 1 (white), roughly, from a computed ``rgb()``/``rgba()`` colour."""
    red, green, blue = (float(x) for x in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def assert_layout(facts: dict, *, javascript: bool, wide: bool) -> None:
    picker = facts["picker"]
    # Nothing scrolls sideways: not the picker, not the page.
    assert picker["scrollWidth"] <= picker["clientWidth"], picker
    assert picker["right"] <= facts["viewport"], picker
    assert facts["page_width"] <= facts["viewport"], facts["page_width"]
    # Every registered step is shown (other tests of the run may have registered more).
    assert {step["path"] for step in facts["steps"]} == set(pipelines.registered_steps())
    for step in facts["steps"]:
        name, about, checkbox = step["name"], step["about"], step["checkbox"]
        where = step["path"]
        for part in step["parts"]:
            assert picker["left"] - 1 <= part["left"], (where, part)
            assert part["right"] <= picker["right"] + 1, (where, part)
        for shown in (name, about, step["path_text"], checkbox):
            assert shown["visible"] and shown["width"] > 0 and shown["height"] > 0, where
            assert shown["scrollWidth"] <= shown["clientWidth"], (where, shown)
        # The name, then its description below it, neither covering the other.
        assert not overlap(name, about), where
        assert about["top"] >= name["bottom"] - 1, where
        assert name["hit"] and checkbox["hit"], where
        assert not overlap(checkbox, name), where
        # The description has the step's width, not a column squeezed beside a label.
        assert about["width"] >= 0.8 * picker["width"], (where, about["width"], picker["width"])
        if wide:
            assert abs(about["left"] - name["left"]) <= 1, where  # under the name
        else:
            assert abs(about["left"] - checkbox["left"]) <= 1, where  # room for more words
        controls = step["buttons"] if javascript else [step["position"]]
        assert len(controls) == (2 if javascript else 1), where
        if javascript:
            assert not step["position"]["visible"], where
        for control in controls:
            assert control["visible"] and control["hit"], (where, control)
            if javascript:
                # Big enough to tap: WCAG 2.2's minimum target is 24 by 24 CSS pixels.
                assert control["width"] >= 24 and control["height"] >= 24, (where, control)
            for other in (name, about, checkbox):
                assert not overlap(control, other), (where, control, other)
        if javascript:
            up, down = step["buttons"]
            assert not overlap(up, down), where


def assert_admin_colours(colours: dict, *, dark: bool) -> None:
    """The picker takes its colours from the admin's variables, in either theme."""
    assert colours["name"] == colours["body"]
    assert colours["about"] == colours["admin_help"]
    assert colours["separator"] == colours["admin_hairline"]
    if dark:
        assert luminance(colours["background"]) < 0.3 < luminance(colours["name"]), colours
    else:
        assert luminance(colours["name"]) < 0.3 < luminance(colours["background"]), colours


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("width", "javascript", "scheme"),
    [
        (360, True, "light"),
        (360, False, "dark"),
        (1280, True, "dark"),
        (1280, False, "light"),
    ],
    ids=["360px-js-light", "360px-nojs-dark", "1280px-js-dark", "1280px-nojs-light"],
)
@override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": TEST_KEYS, "PIPELINES": [LONG]})
def test_pipeline_picker_layout(live_server, width, javascript, scheme):
    sync_playwright = require_browser()
    app = make_app([LINK, NOTIFY, GONE])
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": 800},
                java_script_enabled=javascript,
                color_scheme=scheme,
            )
            page = strict_csp_page(context, live_server, violations)
            log_in(page, live_server)
            change = f"{live_server.url}/admin/slack_installs/slackapp/{app.pk}/change/"
            page.goto(change)
            picker = page.locator("[data-pipeline-picker]")
            assert (page.locator(".slack-pipeline-js").count() == 1) is javascript
            facts = picker.evaluate(MEASURE)
            wide = width >= 1000
            assert_layout(facts, javascript=javascript, wide=wide)
            assert_admin_colours(facts["colours"], dark=scheme == "dark")
            # The removed step's warning fits too, without the admin's indent for lists.
            warning = picker.locator(".slack-pipeline-missing li").bounding_box()
            assert warning is not None
            assert facts["picker"]["left"] - 1 <= warning["x"]
            assert warning["x"] + warning["width"] <= facts["picker"]["right"] + 1

            if os.environ.get("BROWSER_SCREENSHOTS"):
                folder = Path(os.environ["BROWSER_SCREENSHOTS"])
                folder.mkdir(parents=True, exist_ok=True)
                name = f"picker-{width}-{'js' if javascript else 'nojs'}-{scheme}.png"
                page.locator(".field-pipelines").screenshot(path=folder / name)

            # The order controls work at this width: tick the long step, move it to the top.
            page.get_by_text(LONG_LABEL, exact=True).click()  # its name ticks its checkbox
            assert page.locator(f'input[value="{LONG}"]').is_checked()
            if javascript:
                page.get_by_role("button", name=f"Move {LONG_LABEL} up").focus()
                rows = [step["path"] for step in facts["steps"]]
                for _ in range(rows.index(LONG)):  # the button keeps the focus as its step moves
                    page.keyboard.press("Enter")
                page.get_by_role("button", name="Move Link the Django user down").click()
            else:
                page.locator(f'input[name="pipelines__position__{LONG}"]').fill("1")
                page.locator(f'input[name="pipelines__position__{LINK}"]').fill("99")
            page.click("input[name=_continue]")
            page.wait_for_url(change)
        finally:
            browser.close()

    app.refresh_from_db()
    assert app.pipelines == [LONG, NOTIFY, LINK]
    assert violations == []
