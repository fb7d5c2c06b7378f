"""Concurrency: racing callbacks, replayed states and several gunicorn workers on a database
server (PostgreSQL, MariaDB/MySQL), and token refreshes from several processes on a file
SQLite database.

SQLite serialises every writer, so the callback races only exist on a real multi-connection
database; on SQLite those tests are skipped. SQLite has no row locks, though, so a refresh
must take its write lock before calling Slack: that test runs its own SQLite file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connection, connections
from django.test import Client

from slack_installs import crypto, oauth, testing
from slack_installs.models import HandledEvent, Installation, OAuthAttempt, UserToken
from slack_installs.signals import slack_event_received
from slack_installs.testing import FakeSlack
from tests import slack_payloads
from tests.databases import needs_row_locks
from tests.installs import callback_through_fake, consent_at_fake

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = 20
ACME = "T0ACME0001"  # the fake Slack's first workspace

racing = needs_row_locks
ON_SQLITE = connection.vendor == "sqlite"


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call on its own thread, all released at once; results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            results[index] = exc
        finally:
            connections.close_all()  # this thread's connection, or the teardown flush waits

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return results


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


@racing
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_callbacks_for_one_workspace_keep_one_row_with_the_last_tokens(
    fake_slack, fake_slack_app
):
    browsers = [Client() for _ in range(CONTENDERS)]
    callbacks = [
        callback_through_fake(b, fake_slack, fake_slack_app, workspace=ACME) for b in browsers
    ]

    results = run_together(
        [
            lambda b=browser, u=url: b.get(u)
            for browser, url in zip(browsers, callbacks, strict=True)
        ]
    )

    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, failures  # an IntegrityError would show up here
    assert [(r.status_code, r.get("Location")) for r in results] == [
        (302, "/slack/success/?app=acme-helper")
    ] * CONTENDERS

    # Each exchange got its own tokens from Slack.
    answers = {
        call.params["code"]: call.response for call in fake_slack.calls_to("oauth.v2.access")
    }
    assert len(answers) == CONTENDERS
    answer_of_state = {
        oauth.digest(state_of(url)): answers[parse_qs(urlsplit(url).query)["code"][0]]
        for url in callbacks
    }
    assert len({answer["access_token"] for answer in answer_of_state.values()}) == CONTENDERS

    installation = Installation.objects.get()
    attempts = list(OAuthAttempt.objects.order_by("finished_at"))
    assert [a.status for a in attempts] == ["succeeded"] * CONTENDERS
    assert {a.installation_id for a in attempts} == {installation.pk}
    # Each attempt is finished in the transaction that wrote the row, under its lock:
    # the attempt finished last is the one whose tokens were committed last.
    last = answer_of_state[attempts[-1].state_digest]
    assert installation.bot_token == last["access_token"]
    user_token = UserToken.objects.get()
    assert user_token.access_token == last["authed_user"]["access_token"]
    assert installation.revoked_at is None


@racing
@pytest.mark.django_db(transaction=True)
def test_one_state_replayed_by_two_concurrent_callbacks_is_exchanged_once(
    fake_slack, fake_slack_app
):
    rounds = 3
    for _ in range(rounds):
        browser = Client()
        callback = callback_through_fake(browser, fake_slack, fake_slack_app, workspace=ACME)
        twin = Client()  # the same browser cookie: only the state's single use stops it
        twin.cookies = browser.cookies

        results = run_together(
            [lambda c=client, u=callback: c.get(u) for client in (browser, twin)]
        )

        failures = [result for result in results if isinstance(result, BaseException)]
        assert not failures, failures
        assert sorted(r.status_code for r in results) == [302, 400]
        [refused] = [r for r in results if r.status_code == 400]
        assert b'<span class="code">invalid_state</span>' in refused.content
    assert len(fake_slack.calls_to("oauth.v2.access")) == rounds
    assert Installation.objects.count() == 1
    assert OAuthAttempt.objects.filter(installation__isnull=False).count() == rounds


def signed_delivery(body: bytes) -> Callable[[], int]:
    """A POST of ``body`` to the acme app's events URL, signed when it is made."""

    def deliver() -> int:
        timestamp = str(int(time.time()))
        signature = testing.signature(slack_payloads.SIGNING_SECRET, timestamp, body)
        # A 500 stays an answer: raised, it would reach every client waiting in run_together.
        slack = Client(raise_request_exception=False)
        response = slack.post(
            "/slack/acme/events/",
            body,
            content_type="application/json",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
            HTTP_X_SLACK_SIGNATURE=signature,
        )
        return response.status_code

    return deliver


@racing
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_fails", [False, True])
def test_two_concurrent_deliveries_of_one_event_are_handled_once(slack_app, first_fails):
    installation = Installation.objects.create(app=slack_app, team_id="T0001", bot_token="xoxb-x")
    deliver = signed_delivery(
        json.dumps(slack_payloads.app_uninstalled(event_id="Ev0TWICE1")).encode()
    )
    handled = []

    def slow_receiver(sender, payload, **kwargs):
        handled.append(payload["event_id"])
        time.sleep(0.5)  # the other delivery arrives while this one is still at work
        if first_fails and len(handled) == 1:
            raise RuntimeError("the receiver's queue is down")

    slack_event_received.connect(slow_receiver)
    try:
        results = run_together([deliver, deliver])
    finally:
        slack_event_received.disconnect(slow_receiver)

    if first_fails:
        # The second waited for the first, found nothing handled, and did the work itself.
        assert sorted(results) == [200, 500]
        assert handled == ["Ev0TWICE1", "Ev0TWICE1"]
    else:
        assert results == [200, 200]
        assert handled == ["Ev0TWICE1"]
    assert HandledEvent.objects.filter(event_id="Ev0TWICE1").count() == 1
    installation.refresh_from_db()
    assert installation.revoked_at is not None


# --- The demo under gunicorn with three workers ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A new PostgreSQL database next to the test database; yields its DATABASE_URL."""
    server = settings.DATABASES["default"]
    name = f"{connection.settings_dict['NAME']}_gunicorn"
    params = {
        "host": server["HOST"] or "127.0.0.1",
        "port": server["PORT"] or 5432,
        "user": server["USER"] or "postgres",
        "password": server["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    url = f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_environment(database_url: str, fake: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SLACK_"))}
    key_id, key = next(iter(settings.SLACK_INSTALLS["ENCRYPTION_KEYS"].items()))
    env.update(
        DJANGO_SETTINGS_MODULE="demo_site.settings",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url,
        SLACK_URL=fake.url,
        SLACK_API_URL=fake.api_url,
        # The test's own key, so the test can read what the workers stored.
        SLACK_INSTALLS_KEY_ID=key_id,
        SLACK_INSTALLS_KEY=key,
    )
    return env


SET_UP_DEMO = """
import django
django.setup()
from django.core.management import call_command
from slack_installs.models import SlackApp
call_command("migrate", verbosity=0)
SlackApp.objects.create(
    name="Gunicorn Bot", slug="gunicorn", client_id="5000000001.5000000001",
    client_secret="gunicorn-client-secret", bot_scopes="chat:write",
)
"""


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[str]:
    """The demo under gunicorn with three sync workers; yields its base URL; always stopped."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=3",
                f"--bind=127.0.0.1:{port}",
                "--graceful-timeout=5",
                "tests.gunicorn_app:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the master and its workers
        )
    site = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"gunicorn never answered:\n{log.read_text()}"
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{site}/slack/success/", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        yield site
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a worker left behind


def install_through(site: str, fake: FakeSlack, workspace: str) -> dict[str, Any]:
    """One install as a browser does it; the pids of the workers that served each step."""
    browser = requests.Session()
    started = browser.get(f"{site}/slack/gunicorn/install/", allow_redirects=False, timeout=30)
    assert started.status_code == 302, started.text[:500]
    back = consent_at_fake(fake, started.headers["Location"], "gunicorn", workspace=workspace)
    assert back.startswith(f"{site}/slack/gunicorn/oauth/callback/?")
    finished = browser.get(back, allow_redirects=False, timeout=30)
    location = finished.headers.get("Location")
    # The success page may be served by another worker than the callback that signed its
    # ?enterprise= hint: after an org-wide install it must still show the next step.
    page = browser.get(f"{site}{location}", timeout=30).text if location else ""
    return {
        "workspace": workspace,
        "install_pid": started.headers["X-Worker-Pid"],
        "callback_pid": finished.headers["X-Worker-Pid"],
        "status": finished.status_code,
        "location": location,
        "org_next_step": "Choose the workspaces" in page,
        "state": state_of(back),
    }


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the gunicorn workers share a throwaway PostgreSQL database",
)
def test_installs_complete_when_install_and_callback_hit_different_gunicorn_workers(tmp_path):
    workspaces = ["T0ACME0001", "T0GLOBEX01", "E0GLOBEX01"]  # the last one org-wide
    with (
        FakeSlack() as fake,
        throwaway_database() as database_url,
    ):
        fake.register_app("5000000001.5000000001", "gunicorn-client-secret")
        env = demo_environment(database_url, fake)
        subprocess.run(
            [sys.executable, "-c", SET_UP_DEMO], cwd=ROOT, env=env, check=True, timeout=120
        )
        installs: list[dict[str, Any]] = []
        with gunicorn(env, tmp_path / "gunicorn.log") as site:
            # Three browsers at a time (one per workspace) keep the workers busy, so one
            # browser's requests land on different workers; stop once that has been seen.
            for _ in range(8):
                results = run_together(
                    [lambda w=w: install_through(site, fake, w) for w in workspaces]
                )
                failures = [r for r in results if isinstance(r, BaseException)]
                assert not failures, failures
                installs.extend(results)
                if len(installs) >= 6 and any(
                    i["install_pid"] != i["callback_pid"] for i in installs
                ):
                    break

        for i in installs:
            org_wide = i["workspace"] == "E0GLOBEX01"
            assert i["status"] == 302, i
            assert i["location"].startswith("/slack/success/?app=gunicorn"), i
            assert ("&enterprise=E0GLOBEX01%3A" in i["location"]) is org_wide, i
            assert i["org_next_step"] is org_wide, i
        assert any(i["install_pid"] != i["callback_pid"] for i in installs), installs
        assert len({i["install_pid"] for i in installs} | {i["callback_pid"] for i in installs}) > 1

        with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as db:
            statuses = db.execute(
                "SELECT state_digest, status FROM slack_installs_oauthattempt"
            ).fetchall()
            rows = db.execute(
                "SELECT COALESCE(NULLIF(team_id, ''), enterprise_id), bot_token"
                " FROM slack_installs_installation"
            ).fetchall()
    assert dict(statuses) == {oauth.digest(i["state"]): "succeeded" for i in installs}
    assert sorted(key for key, _ in rows) == sorted(workspaces)
    for key, stored in rows:
        # Encrypted at rest, and the last token Slack issued for that workspace (one
        # install per workspace at a time, so the last issued is the last committed).
        assert stored.startswith("f1:")
        issued = [t.value for t in fake.tokens(kind="bot") if t.workspace.key == key]
        assert crypto.decrypt(stored) == issued[-1]


# --- Token refresh from four processes on a file SQLite database --------------------------

ROTATING_CLIENT_ID = "6000000001.6000000001"
ROTATING_SECRET = "rotating-client-secret"
REFRESHERS = 4

SET_UP_ROTATING = f"""
import django
django.setup()
from django.core.management import call_command
from slack_installs.models import SlackApp
call_command("migrate", verbosity=0)
SlackApp.objects.create(
    name="Rotating Bot", slug="rotating", client_id="{ROTATING_CLIENT_ID}",
    client_secret="{ROTATING_SECRET}", bot_scopes="chat:write", user_scopes="users:read",
)
"""

# One process calling get_bot_token / get_user_token on the command read from stdin, so the
# parent can release all of them at once; it answers with one JSON line per command.
REFRESHER = """
import datetime, json, sys
import django
django.setup()
from django.utils import timezone
from slack_installs import tokens
from slack_installs.models import Installation, SlackApp, UserToken

def prepare(answer):
    # A fresh install whose rotating tokens are due: they expire within the margin.
    due = timezone.now() + datetime.timedelta(minutes=10)
    installation, _ = Installation.objects.update_or_create(
        app=SlackApp.objects.get(slug="rotating"), enterprise_id="", team_id=answer["team"]["id"],
        defaults={
            "bot_user_id": answer["bot_user_id"], "bot_token": answer["access_token"],
            "bot_refresh_token": answer["refresh_token"], "bot_token_expires_at": due,
            "needs_reinstall_at": None,
        },
    )
    user = answer["authed_user"]
    UserToken.objects.update_or_create(
        installation=installation, slack_user_id=user["id"],
        defaults={
            "access_token": user["access_token"], "refresh_token": user["refresh_token"],
            "expires_at": due,
        },
    )
    return {"prepared": installation.pk}

def row():
    installation = Installation.objects.get()
    user_token = UserToken.objects.get()
    return {
        "bot": [installation.bot_token, installation.bot_refresh_token],
        "user": [user_token.access_token, user_token.refresh_token],
        "needs_reinstall": installation.needs_reinstall_at is not None,
    }

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    try:
        if command["do"] == "prepare":
            answer = prepare(command["answer"])
        elif command["do"] == "row":
            answer = row()
        elif command["do"] == "bot":
            answer = {"token": tokens.get_bot_token("rotating", team_id=command["team"])}
        else:
            answer = {"token": tokens.get_user_token(
                "rotating", command["user"], team_id=command["team"]
            )}
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(answer), flush=True)
"""


@contextlib.contextmanager
def refreshers(env: dict[str, str], log: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """``REFRESHERS`` processes running ``REFRESHER``, each once it said it is ready."""
    processes: list[subprocess.Popen[str]] = []
    with log.open("w") as errors:
        try:
            for _ in range(REFRESHERS):
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", REFRESHER],
                        cwd=ROOT,
                        env=env,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=errors,
                        text=True,
                    )
                )
            for process in processes:
                assert json.loads(process.stdout.readline() or "{}") == {"ready": True}, (
                    log.read_text()
                )
            yield processes
        finally:
            for process in processes:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # its loop ends
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def tell(processes: list[subprocess.Popen[str]], command: dict[str, Any]) -> list[Any]:
    """Send ``command`` to every process at once; their answers, in order."""
    line = json.dumps(command) + "\n"
    for process in processes:
        process.stdin.write(line)
    for process in processes:
        process.stdin.flush()
    return [json.loads(process.stdout.readline() or "null") for process in processes]


def refresh_at_once(fake: FakeSlack, processes: list[subprocess.Popen[str]], kind: str) -> None:
    """Every process asks for the due ``kind`` token at once: Slack is asked once, every
    caller gets the new token, and the row holds the new refresh token."""
    answer = fake.install(ROTATING_CLIENT_ID, ACME, user_scopes=("users:read",))
    assert tell(processes[:1], {"do": "prepare", "answer": answer})[0]["prepared"]
    before = len(fake.calls_to("oauth.v2.access"))
    # A slow Slack, as the real one can be: the other callers are at the door by now.
    fake.fail_next("oauth.v2.access", delay=0.3)

    got = tell(processes, {"do": kind, "team": ACME, "user": fake.workspace(ACME).installer_id})

    refreshes = [call.response for call in fake.calls_to("oauth.v2.access")[before:]]
    assert len(refreshes) == 1, ("Slack was asked more than once", got, refreshes)
    new = refreshes[0]
    assert new is not None and new["ok"], new
    assert got == [{"token": new["access_token"]}] * REFRESHERS, got
    stored = tell(processes[:1], {"do": "row"})[0]
    assert stored[kind] == [new["access_token"], new["refresh_token"]]
    assert stored["needs_reinstall"] is False


@pytest.mark.skipif(
    not ON_SQLITE, reason="runs its own SQLite file: the SQLite leg of the suite covers it"
)
def test_four_processes_refreshing_on_sqlite_call_slack_once_and_keep_the_new_tokens(tmp_path):
    with FakeSlack() as fake:
        fake.register_app(ROTATING_CLIENT_ID, ROTATING_SECRET, token_rotation=True)
        env = demo_environment(f"sqlite:///{tmp_path / 'refresh.sqlite3'}", fake)
        subprocess.run(
            [sys.executable, "-c", SET_UP_ROTATING], cwd=ROOT, env=env, check=True, timeout=120
        )
        with refreshers(env, tmp_path / "refreshers.log") as processes:
            for _trial in range(3):  # the race is lost most times, not always: try again
                for kind in ("bot", "user"):
                    refresh_at_once(fake, processes, kind)
