"""``scripts/demo.py``, the one-command demo behind ``make demo``."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from slack_installs.models import SlackApp
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

ROOT = Path(__file__).resolve().parent.parent


def load_demo():
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_demo()


def test_admin_password_is_generated_once_and_kept(tmp_path):
    password_file = tmp_path / ".demo-admin-password"
    first = demo.admin_password({}, password_file)
    assert len(first) >= 16
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert demo.admin_password({}, password_file) == first
    assert demo.admin_password({"DEMO_ADMIN_PASSWORD": "from-env"}, password_file) == "from-env"
    assert password_file.read_text().strip() == first


@pytest.mark.django_db
def test_superuser_is_created_then_reset_to_the_printed_password():
    demo.ensure_superuser("admin", "first-password")
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password("first-password")
    user.set_password("changed")
    user.save()
    demo.ensure_superuser("admin", "first-password")
    user.refresh_from_db()
    assert user.check_password("first-password")
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_demo_apps_are_created_once_and_keep_their_secrets():
    standup, helper = demo.ensure_demo_apps()
    assert (standup.name, standup.bot_scopes, standup.user_scopes) == (
        "Standup Bot",
        "chat:write,commands",
        "",
    )
    assert helper.name == "Acme Helper"
    assert helper.bot_scopes == "chat:write,commands,incoming-webhook"
    assert helper.user_scopes == "users:read"
    secret = SlackApp.objects.get(slug="acme-helper").client_secret
    SlackApp.objects.update(is_active=False)

    demo.ensure_demo_apps()
    assert SlackApp.objects.count() == 2
    assert SlackApp.objects.filter(is_active=True).count() == 2
    assert SlackApp.objects.get(slug="acme-helper").client_secret == secret
    for app in SlackApp.objects.all():
        app.full_clean()


@pytest.mark.django_db
def test_real_credentials_make_one_app_and_switch_the_demo_apps_off():
    demo.ensure_demo_apps()
    assert demo.real_credentials({"SLACK_CLIENT_ID": "123.456"}) is None
    credentials = demo.real_credentials(
        {
            "SLACK_CLIENT_ID": "123.456",
            "SLACK_CLIENT_SECRET": "canary-real-secret",
            "SLACK_SIGNING_SECRET": "canary-real-signing",
        }
    )
    app = demo.ensure_real_app(credentials)
    app.refresh_from_db()
    assert (app.slug, app.client_id, app.client_secret) == (
        "my-slack-app",
        "123.456",
        "canary-real-secret",
    )
    assert app.signing_secret == "canary-real-signing"
    assert app.bot_scopes == "chat:write,commands"
    assert list(SlackApp.objects.filter(is_active=True)) == [app]
    bad = {**credentials, "bot_scopes": "chat:write, commands"}
    with pytest.raises(ValidationError):
        demo.ensure_real_app(bad)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_demo_runs_an_install_end_to_end_and_stops_on_ctrl_c(tmp_path):
    site_port, fake_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/demo.sqlite3",
        DEMO_PORT=str(site_port),
        FAKE_SLACK_PORT=str(fake_port),
        DEMO_ADMIN_PASSWORD="canary-demo-password",
    )
    process = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failing test can stop the demo's children too
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    output = []
    try:
        deadline = time.monotonic() + 120
        while not any("Press Ctrl-C to stop." in line for line in output):
            assert time.monotonic() < deadline and process.poll() is None, "".join(output)
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=1))
        text = "".join(output)
        site, fake = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{fake_port}"
        assert f"Site:        {site}/" in text
        assert "user: admin   password: canary-demo-password" in text
        assert f"Fake Slack:  {fake}/" in text

        browser = requests.Session()
        home = browser.get(f"{site}/", timeout=10)
        assert home.text.count('class="slack-install-button"') == 2
        start = browser.get(f"{site}/slack/standup-bot/install/", allow_redirects=False)
        authorize = start.headers["Location"]
        assert authorize.startswith(f"{fake}/oauth/v2/authorize?")
        assert "Standup Bot is requesting permission" in requests.get(authorize, timeout=10).text
        form = dict(parse_qsl(urlsplit(authorize).query), workspace="T0ACME0001", decision="allow")
        allowed = requests.post(
            f"{fake}/oauth/v2/authorize", data=form, allow_redirects=False, timeout=10
        )
        back = browser.get(allowed.headers["Location"], allow_redirects=False, timeout=10)
        assert back.headers["Location"] == "/slack/success/?app=standup-bot"
        assert "Acme Corp" in browser.get(f"{site}/", timeout=10).text
        # The welcome-message step posted through the fake Slack.
        assert "Thanks for installing Standup Bot" in requests.get(f"{fake}/", timeout=10).text

        # Background work: enqueued by a command, run by the demo's worker against the fake
        # Slack (auth.test marks the installation checked).
        task_env = dict(env, SLACK_URL=fake, SLACK_API_URL=f"{fake}/api")
        enqueued = subprocess.run(
            [sys.executable, "manage.py", "slack_installs_check_installs", "--enqueue"],
            cwd=ROOT,
            env=task_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Enqueued check_installations on the 'default' tasks backend" in enqueued.stdout
        assert "Tasks:       the database backend, its worker running" in text
        database = sqlite3.connect(tmp_path / "demo.sqlite3")
        try:
            deadline = time.monotonic() + 60
            while True:
                rows = database.execute(
                    "SELECT status, return_value FROM django_tasks_database_dbtaskresult"
                ).fetchall()
                if rows and rows[0][0] == "SUCCESSFUL" or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert rows and rows[0][0] == "SUCCESSFUL", rows
            assert json.loads(rows[0][1])["alive"] == 1
            checked = database.execute("SELECT checked_at FROM slack_installs_installation")
            assert checked.fetchone()[0] is not None
        finally:
            database.close()

        # One failed attempt (a forged code), then the demo's overview in a real browser.
        forged = browser.get(f"{site}/slack/standup-bot/install/", allow_redirects=False)
        state = dict(parse_qsl(urlsplit(forged.headers["Location"]).query))["state"]
        failed = browser.get(
            f"{site}/slack/standup-bot/oauth/callback/",
            params={"code": "forged", "state": state},
            allow_redirects=False,
            timeout=10,
        )
        assert failed.status_code == 400
        check_the_overview_in_a_browser(site)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        for port in (site_port, fake_port):
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a child left behind keeps stdout open


def check_the_overview_in_a_browser(site: str) -> None:
    """The demo's admin overview in headless Chromium: this week's install bar and the
    attempts' bars (succeeded, failed with its code), each labelled. Without Chromium it is
    left out (and fails under CI=true), as every browser test here."""
    try:
        sync_playwright = require_browser()
    except pytest.skip.Exception:
        return
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            page.goto(f"{site}/admin/login/?next=/admin/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "canary-demo-password")
            page.click("input[type=submit]")
            page.wait_for_url(f"{site}/admin/")
            page.get_by_role("link", name="Overview").first.click()
            page.wait_for_url(f"{site}/admin/slack_installs/overview/")
            panel = page.locator("section", has_text="Standup Bot").first
            weeks, attempts = panel.locator("svg.slack-overview-svg").all()
            [install] = weeks.locator("rect.slack-overview-bar").all()
            assert install.locator("title").text_content().endswith(": 1 install")
            assert weeks.locator("text.slack-overview-value").all_text_contents() == ["1"]
            labels = attempts.locator("text.slack-overview-label").all_text_contents()
            assert sorted(labels)[1] == "succeeded" and sorted(labels)[0].startswith("failed: ")
            assert len(labels) == 2
            assert len(attempts.locator("rect.slack-overview-bar").all()) == len(labels)
        finally:
            chromium.close()
