"""The leak sweep: plant canary secrets, drive every surface, and find no canary anywhere.

One test on purpose: it collects the text of every page, export, command output, log
record, error report, email and ``dumpdata`` it can reach (each labelled), and only
then looks for the canaries, so a failure lists every leak at once. The tokens the fake
Slack issues along the way are canaries too.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone
from django.views.debug import ExceptionReporter
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from slack_installs import tokens
from slack_installs.events import signature_for
from slack_installs.models import (
    Installation,
    InstallationEvent,
    OAuthAttempt,
    SlackApp,
    SlackIdentity,
    UserToken,
)
from slack_installs.testing import url_verification
from tests.installs import install_through_fake
from tests.signins import sign_in_through_fake

pytestmark = pytest.mark.django_db

CANARIES = {
    "client secret": "canary-sweep-client-secret-71a",
    "signing secret": "canary-sweep-signing-secret-72b",
    "previous signing secret": "canary-sweep-previous-signing-73c",
    "rejected new client secret": "canary-sweep-rejected-74d",
    "posted client secret": "canary-sweep-posted-client-75e",
    "posted signing secret": "canary-sweep-posted-signing-76f",
    "legacy client secret": "canary-sweep-legacy-secret-77a",
    "bot token": "xoxb-canary-sweep-bot-78b",
    "bot refresh token": "xoxe-1-canary-sweep-bot-refresh-79c",
    "user token": "xoxp-canary-sweep-user-80d",
    "user refresh token": "xoxe-1-canary-sweep-user-refresh-81e",
    "webhook URL": "https://hooks.slack.com/services/T0SWEEP/B0SWEEP/canarysweepwebhook82f",
}
EXPLODING_STEP = "tests.test_hardening_leaks.exploding_step"


def exploding_step(request, api_data):
    """A pipeline step that fails after looking at the tokens."""
    if api_data.get("access_token"):
        raise ValueError("the welcome channel does not exist")
    return request, api_data


class Sweep:
    """Everything collected so far, as ``(label, text)``."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, label: str, text: Any) -> None:
        self.texts.append((label, text if isinstance(text, str) else repr(text)))

    def response(self, label: str, response: Any, *statuses: int) -> Any:
        if statuses:
            assert response.status_code in statuses, (label, response.status_code)
        self.add(f"{label} [{response.status_code}]", body_of(response))
        self.add(f"{label} headers", str(sorted(response.items())))
        return response

    def command(self, label: str, *args: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
        except CommandError as exc:
            err.write(str(exc))
        self.add(label, out.getvalue() + err.getvalue())
        assert out.getvalue() or err.getvalue(), f"{label} printed nothing"

    def leaks(self, secrets: dict[str, str]) -> list[tuple[str, str]]:
        return [
            (label, name)
            for label, text in self.texts
            for name, secret in secrets.items()
            if secret in text
        ]


def body_of(response: Any) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):  # an XLSX workbook: every file in the archive
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    return content.decode("utf-8", "replace")


@contextlib.contextmanager
def database_fails_on(table: str) -> Iterator[None]:
    """Every write to ``table`` fails, as when the database goes away mid-request."""

    def fail(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if table in sql and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise DatabaseError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


def post_event(client: Client, secret: str, payload: dict[str, Any], signed: bool = True) -> Any:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    signature = signature_for(secret if signed else "not-the-secret", timestamp, body)
    return client.post(
        "/slack/sweep/events/",
        body,
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def test_no_secret_reaches_any_page_export_log_command_report_or_dump(fake_slack, settings, caplog):
    assert settings.DEBUG is False  # production error handling
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True  # SQL and its parameters are logged too
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "PIPELINES": [EXPLODING_STEP]}
    sweep = Sweep()

    # --- Plant ---------------------------------------------------------------------------
    app = SlackApp.objects.create(
        name="Sweep Bot",
        slug="sweep",
        client_id="6000000001.6000000001",
        client_secret=CANARIES["client secret"],
        signing_secret=CANARIES["previous signing secret"],
        bot_scopes="chat:write,incoming-webhook",
        user_scopes="users:read",
        pipelines=[
            "slack_installs.pipelines.log_api_data",
            "slack_installs.pipelines.send_welcome_message",
            "slack_installs.pipelines.notify_admins",
            "slack_installs.pipelines.link_django_user",
        ],
    )
    fake_slack.register_slack_app(app, token_rotation=True)
    planted = Installation.objects.create(
        app=app,
        team_id="T0PLANTED",
        team_name="Planted",
        bot_user_id="U0PLANTED",
        bot_token=CANARIES["bot token"],
        bot_refresh_token=CANARIES["bot refresh token"],
        bot_token_expires_at=timezone.now() + timedelta(minutes=5),  # due for a refresh
        incoming_webhook_url=CANARIES["webhook URL"],
        incoming_webhook_channel="#general",
        installer_user_id="U0PLANTER",
    )
    UserToken.objects.create(
        installation=planted,
        slack_user_id="U0PLANTER",
        scopes="users:read",
        access_token=CANARIES["user token"],
        refresh_token=CANARIES["user refresh token"],
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
    staff = Client()
    staff.force_login(admin_user)

    # --- The signing secret rotated through the admin: the old one becomes "previous" ---
    rotate = f"/admin/slack_installs/slackapp/{app.pk}/rotate-signing-secret/"
    sweep.response("rotation form", staff.get(rotate), 200)
    sweep.response(
        "rotation POST",
        staff.post(rotate, {"new_secret": CANARIES["signing secret"]}, follow=True),
        200,
    )
    app.refresh_from_db()
    assert app.signing_secret == CANARIES["signing secret"]
    assert app.previous_signing_secret == CANARIES["previous signing secret"]
    rotate_client = f"/admin/slack_installs/slackapp/{app.pk}/rotate-client-secret/"
    sweep.response("client secret rotation form", staff.get(rotate_client), 200)
    sweep.response(
        "client secret rotation, refused",
        staff.post(rotate_client, {"new_secret": CANARIES["rejected new client secret"] + " x"}),
        200,
    )

    # --- Installs through the fake Slack, as a visitor and as a logged-in user -----------
    visitor = Client()
    sweep.response("home", visitor.get("/"), 200)
    done = sweep.response("install callback", install_through_fake(visitor, fake_slack, app), 302)
    sweep.response("success page", visitor.get(done["Location"]), 200)
    sweep.response(
        "install callback, logged in",
        install_through_fake(staff, fake_slack, app, workspace="T0GLOBEX01", channel="#random"),
        302,
    )
    sweep.response("home with installs", visitor.get("/"), 200)

    # --- Sign in with Slack: a new user, again, linking, tampered, failing --------------
    SlackApp.objects.filter(pk=app.pk).update(sign_in_enabled=True)
    signer = Client()
    sweep.response("sign-in", sign_in_through_fake(signer, fake_slack, "sweep"), 302)
    sweep.response("home, signed in", signer.get("/"), 200)
    signer.post("/sign-out/")
    sweep.response("sign-in again", sign_in_through_fake(signer, fake_slack, "sweep"), 302)
    sweep.response(
        "sign-in, linking the staff user",
        sign_in_through_fake(staff, fake_slack, "sweep", workspace="T0GLOBEX01"),
        302,
    )
    fake_slack.tamper_next_id_token("signature")
    sweep.response(
        "sign-in, tampered id_token", sign_in_through_fake(Client(), fake_slack, "sweep"), 400
    )
    fake_slack.fail_next("openid.connect.token", error="invalid_code")
    sweep.response(
        "sign-in, Slack ok:false", sign_in_through_fake(Client(), fake_slack, "sweep"), 400
    )
    with database_fails_on("slack_installs_slackidentity"):
        crashed = sweep.response(
            "database failure while saving an identity",
            sign_in_through_fake(
                Client(raise_request_exception=False), fake_slack, "sweep", workspace="T0GLOBEX01"
            ),
            400,
        )
    assert b'<span class="code">internal_error</span>' in crashed.content
    assert SlackIdentity.objects.count() == 2

    # --- Error pages: Slack failing, a failing pipeline step, 404, 400, 500 --------------
    fake_slack.fail_next("oauth.v2.access", status=500)
    failed = sweep.response(
        "Slack 500 during the callback", install_through_fake(visitor, fake_slack, app), 400
    )
    assert b'<span class="code">http_error</span>' in failed.content
    fake_slack.fail_next("oauth.v2.access", error="invalid_code")
    sweep.response(
        "Slack ok:false during the callback", install_through_fake(visitor, fake_slack, app), 400
    )
    SlackApp.objects.filter(pk=app.pk).update(pipelines=[EXPLODING_STEP])
    sweep.response("pipeline failure", install_through_fake(visitor, fake_slack, app), 400)
    SlackApp.objects.filter(pk=app.pk).update(pipelines=[])
    sweep.response("error page", visitor.get("/slack/error/?error=invalid_code&app=sweep"), 200)
    sweep.response("404", visitor.get("/slack/no-such-app/install/"), 404)
    sweep.response("400", visitor.get("/slack/sweep/oauth/callback/?code=c&state=s"), 400)

    # A database failure deep inside the ORM, while plaintext is still on the stack: the
    # callback logs it (with its traceback) and answers with its error page.
    crashing = Client(raise_request_exception=False)
    with database_fails_on("slack_installs_installation"):
        broken = sweep.response(
            "database failure while saving an install",
            install_through_fake(crashing, fake_slack, app),
            400,
        )
    assert b'<span class="code">internal_error</span>' in broken.content
    change = f"/admin/slack_installs/slackapp/{app.pk}/change/"
    form = {
        "name": "Sweep Bot",
        "slug": "sweep",
        "client_id": app.client_id,
        "client_secret": CANARIES["posted client secret"],
        "signing_secret": CANARIES["posted signing secret"],
        "bot_scopes": "chat:write,incoming-webhook",
        "user_scopes": "users:read",
        "is_active": "on",
    }
    staff.raise_request_exception = False
    with database_fails_on("slack_installs_slackapp"):
        sweep.response("500 while saving the app in the admin", staff.post(change, form), 500)
    staff.raise_request_exception = True
    sweep.response("app form, refused", staff.post(change, {**form, "bot_scopes": "A B"}), 200)

    # --- Events, signed with the current and the previous secret, and badly -------------
    event = fake_slack.event_callback(app.client_id, "T0ACME0001", {"type": "app_mention"})
    for secret, label in (
        (CANARIES["signing secret"], "current"),
        (app.previous_signing_secret, "previous"),
    ):
        sweep.response(
            f"url_verification ({label})", post_event(visitor, secret, url_verification("c")), 200
        )
        sweep.response(f"event ({label})", post_event(visitor, secret, event), 200)
    sweep.response("event, bad signature", post_event(visitor, "x", event, signed=False), 403)

    # --- Token refresh through the fake -------------------------------------------------
    acme = Installation.objects.get(team_id="T0ACME0001")
    Installation.objects.filter(pk=acme.pk).update(bot_token_expires_at=timezone.now())
    assert tokens.get_bot_token("sweep", team_id="T0ACME0001") != acme.bot_token  # refreshed

    # --- Every admin page of our models ------------------------------------------------
    attempt = OAuthAttempt.objects.filter(response__isnull=False).first()
    admin_pages = ["/admin/", "/admin/slack_installs/"]
    identity = SlackIdentity.objects.first()
    for model, obj in (
        ("slackapp", app),
        ("installation", planted),
        ("oauthattempt", attempt),
        ("slackidentity", identity),
    ):
        base = f"/admin/slack_installs/{model}/"
        admin_pages += [base, f"{base}add/", f"{base}{obj.pk}/change/", f"{base}{obj.pk}/history/"]
        admin_pages.append(f"{base}{obj.pk}/delete/")
    admin_pages.append(f"/admin/slack_installs/installation/{acme.pk}/change/")
    for url in admin_pages:
        sweep.response(url, staff.get(url), 200, 403)
    hint = staff.get(f"/admin/slack_installs/installation/{planted.pk}/change/").content.decode()
    assert "set, ends in …-78b" in hint  # the page does show the token's existence
    sweep.response(
        "revoke confirmation",
        staff.post(
            "/admin/slack_installs/installation/",
            {"action": "revoke", "_selected_action": [planted.pk, acme.pk]},
        ),
        200,
    )
    sweep.response(
        "delete confirmation (action)",
        staff.post(
            "/admin/slack_installs/slackapp/",
            {"action": "delete_selected", "_selected_action": [app.pk]},
        ),
        200,
    )

    # --- Exports of every format, from the export page and from the action ----------------
    for model, selected in (
        ("installation", [planted.pk, acme.pk]),
        ("oauthattempt", [attempt.pk]),
    ):
        export = f"/admin/slack_installs/{model}/export/"
        sweep.response(f"{model} export page", staff.get(export), 200)
        for index, fmt in enumerate(("csv", "xlsx", "json")):
            exported = staff.post(export, {"format": str(index), "resource": "0"})
            sweep.response(f"{model} export as {fmt}", exported, 200)
            assert model == "oauthattempt" or "Planted" in sweep.texts[-2][1], fmt
        sweep.response(
            f"{model} export action",
            staff.post(
                f"/admin/slack_installs/{model}/",
                {"action": "export_admin_action", "_selected_action": selected},
            ),
            200,
        )

    # --- Management commands ------------------------------------------------------------
    sweep.command("rotate_keys --dry-run", "slack_installs_rotate_keys", "--dry-run")
    sweep.command("rotate_keys --verify", "slack_installs_rotate_keys", "--verify")
    sweep.command("refresh_tokens --dry-run", "slack_installs_refresh_tokens", "--dry-run")
    sweep.command("cleanup --dry-run", "slack_installs_cleanup", "--dry-run")
    sweep.command("generate_key", "slack_installs_generate_key")
    settings.SLACK_CLIENT_ID = "7000000001.7000000001"
    settings.SLACK_CLIENT_SECRET = CANARIES["legacy client secret"]
    settings.SLACK_SCOPE = "bot,users:read"
    sweep.command("import_settings --dry-run", "slack_installs_import_settings", "--dry-run")
    sweep.command("import_settings", "slack_installs_import_settings")
    sweep.command(
        "import_settings, refused", "slack_installs_import_settings", "--bot-scopes", "A B"
    )

    # --- The overview, the install history, background work ------------------------------
    for url in ("/admin/slack_installs/overview/", "/admin/slack_installs/installationevent/"):
        sweep.response(url, staff.get(url), 200)
    event = InstallationEvent.objects.filter(installation=acme).first()
    event_page = f"/admin/slack_installs/installationevent/{event.pk}/change/"
    sweep.response("installation event page", staff.get(event_page), 200)
    due_now = Installation.objects.filter(pk__in=[acme.pk, planted.pk])
    due_now.update(bot_token_expires_at=timezone.now())
    sweep.command("refresh_tokens -v 2", "slack_installs_refresh_tokens", "--verbosity", "2")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    due_now.update(bot_token_expires_at=timezone.now())
    sweep.command("refresh_tokens --enqueue", "slack_installs_refresh_tokens", "--enqueue")
    sweep.command("rotate_keys --enqueue", "slack_installs_rotate_keys", "--enqueue")
    # The worker logs (swept below with every log record). It closes connections between
    # tasks: not the test's, inside its transaction.
    with mock.patch.object(db_worker, "close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", "-v", "3")
    assert any(record.name == "django_tasks_db" for record in caplog.records)
    stored = DBTaskResult.objects.values("args_kwargs", "return_value", "traceback")
    assert {row["return_value"] is not None for row in stored} == {True}  # every task ran
    sweep.add("tasks as the backend stored them", json.dumps(list(stored)))

    # --- Revocation at Slack (the planted tokens are unknown there: refused) -------------
    sweep.response(
        "revoke",
        staff.post(
            "/admin/slack_installs/installation/",
            {"action": "revoke", "post": "yes", "_selected_action": [planted.pk, acme.pk]},
            follow=True,
        ),
        200,
    )

    # --- Stored data: dumpdata and the OAuthAttempt.response column -------------------------
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    sweep.add("dumpdata", dump.getvalue())
    assert "T0PLANTED" in dump.getvalue() and '"bot_token": "f1:k1:' in dump.getvalue()
    sweep.add("OAuthAttempt.response", json.dumps(list(OAuthAttempt.objects.values("response"))))
    assert OAuthAttempt.objects.filter(status="succeeded", response__isnull=False).count() >= 2

    # --- Logs, emails, and the error reports Django mails admins ------------------------
    connection.force_debug_cursor = False
    assert any(r.name == "slack_installs.pipelines" for r in caplog.records)
    assert any(r.name == "django.db.backends" for r in caplog.records)
    sweep.add("log output", caplog.text)
    assert "Slack install of sweep: {" in caplog.text  # log_api_data logged Slack's answer
    records = list(caplog.records)  # rendering the reports below logs more; not ours
    for record in records:
        sweep.add(f"log record {record.name}", f"{record.getMessage()} {record.__dict__!r}")
        if record.exc_info:
            request = getattr(record, "request", None)
            reporter = ExceptionReporter(request, *record.exc_info, is_email=True)
            sweep.add(f"error report text: {record.getMessage()}", reporter.get_traceback_text())
            sweep.add(f"error report HTML: {record.getMessage()}", reporter.get_traceback_html())
    failures = [r.getMessage() for r in records if r.exc_info]
    # The admin's 500, and the callback's failure it logged before showing its error page.
    assert any(getattr(r, "status_code", None) == 500 for r in records if r.exc_info)
    assert "The install callback of Slack app 'sweep' failed" in failures
    assert "The sign-in callback of Slack app 'sweep' failed" in failures
    for message in mail.outbox:
        sweep.add(f"email {message.subject!r}", message.message().as_string())
    assert len(mail.outbox) >= 3  # notify_admins twice, error emails

    # --- Nothing anywhere ---------------------------------------------------------------
    secrets = dict(CANARIES)
    for number, issued in enumerate(fake_slack.tokens()):
        secrets[f"fake {issued.kind} token #{number} of {issued.workspace.key}"] = issued.value
    for call in fake_slack.calls_to("oauth.v2.access"):
        webhook = (call.response or {}).get("incoming_webhook") or {}
        if webhook.get("url"):
            secrets[f"fake webhook URL {webhook['url'][-6:]}"] = webhook["url"]
    for number, call in enumerate(fake_slack.calls_to("openid.connect.token")):
        id_token = (call.response or {}).get("id_token")
        if id_token:
            secrets[f"id_token #{number}"] = id_token
            secrets[f"id_token #{number}'s signature"] = id_token.rsplit(".", 1)[1]
    assert sum(name.startswith("id_token") for name in secrets) >= 10
    assert len(secrets) > len(CANARIES) + 4
    assert len(sweep.texts) > 100
    leaks = sweep.leaks(secrets)
    assert not leaks, "\n".join(f"{name} in {label}" for label, name in leaks)


def test_no_configuration_token_or_created_secret_reaches_any_page_log_command_or_dump(
    fake_slack, settings, caplog
):
    """The manifest side: configuration tokens (as pasted, and as rotated) and the secrets
    ``apps.manifest.create`` answers, through every page, command, log and dump."""
    from slack_installs.models import ConfigurationToken

    assert settings.DEBUG is False
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "REDIRECT_BASE_URL": "https://sweep.example.com",
    }
    sweep = Sweep()
    issued = fake_slack.issue_configuration_token()
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    # --- The configuration token, pasted into the admin (refused once, then kept) --------
    tokens_url = "/admin/slack_installs/configurationtoken/"
    pasted = {"access_token": issued.token, "refresh_token": issued.refresh_token}
    sweep.response("token add page", staff.get(f"{tokens_url}add/"), 200)
    sweep.response(
        "token add, refused", staff.post(f"{tokens_url}add/", {"team_id": "bad", **pasted}), 200
    )
    sweep.response(
        "token add", staff.post(f"{tokens_url}add/", {"team_id": "T0ACME0001", **pasted}), 302
    )
    token = ConfigurationToken.objects.get()

    # --- An app created on Slack: a failure, a database failure, then for real ------------
    app = SlackApp.objects.create(name="Sweep Maker", slug="maker", bot_scopes="chat:write")
    manifest = f"/admin/slack_installs/slackapp/{app.pk}/manifest/"
    sweep.response("manifest page", staff.get(manifest), 200)
    sweep.response("manifest download", staff.get(f"{manifest}?download=1"), 200)
    fake_slack.fail_next("apps.manifest.create", status=500)
    sweep.response(
        "create, Slack 500", staff.post(manifest, {"operation": "create"}, follow=True), 200
    )
    with database_fails_on("slack_installs_slackapp"):
        sweep.response(
            "create, database failure",
            staff.post(manifest, {"operation": "create"}, follow=True),
            200,
        )
    SlackApp.objects.filter(pk=app.pk).update(app_id="", client_id=None)  # start over
    fake_slack.expire_configuration_token(issued.token)  # rotated, then created
    created = sweep.response(
        "create", staff.post(manifest, {"operation": "create"}, follow=True), 200
    )
    assert "was created on Slack" in body_of(created)
    app.refresh_from_db()
    assert app.has_credentials

    # --- Push, compare, rotate, every page -----------------------------------------------
    SlackApp.objects.filter(pk=app.pk).update(bot_scopes="chat:write,commands")
    sweep.response(
        "compare, drift", staff.get(f"/admin/slack_installs/slackapp/{app.pk}/compare/"), 200
    )
    sweep.response(
        "push action",
        staff.post(
            "/admin/slack_installs/slackapp/",
            {"action": "push_to_slack", "_selected_action": [app.pk]},
            follow=True,
        ),
        200,
    )
    sweep.response(
        "rotate now",
        staff.post(
            tokens_url, {"action": "rotate_now", "_selected_action": [token.pk]}, follow=True
        ),
        200,
    )
    SlackApp.objects.filter(pk=app.pk).update(
        manifest_extra={"features": {"slash_commands": [{"command": "bad"}]}}
    )
    sweep.response("push, invalid_manifest", staff.post(manifest, {"operation": "push"}), 200)
    for url in (
        manifest,
        f"/admin/slack_installs/slackapp/{app.pk}/compare/",
        f"/admin/slack_installs/slackapp/{app.pk}/change/",
        f"/admin/slack_installs/slackapp/{app.pk}/history/",
        "/admin/slack_installs/slackapp/",
        tokens_url,
        f"{tokens_url}{token.pk}/change/",
        f"{tokens_url}{token.pk}/history/",
        f"{tokens_url}{token.pk}/delete/",
    ):
        sweep.response(url, staff.get(url), 200)

    # --- The command, the dump, the logs and error reports --------------------------------
    SlackApp.objects.filter(pk=app.pk).update(manifest_extra={})
    sweep.command("manifest", "slack_installs_manifest", "maker")
    sweep.command("manifest --check", "slack_installs_manifest", "maker", "--check")
    sweep.command("manifest --push", "slack_installs_manifest", "maker", "--push")
    dump = io.StringIO()
    call_command("dumpdata", "slack_installs", stdout=dump)
    sweep.add("dumpdata", dump.getvalue())
    assert '"access_token": "f1:k1:' in dump.getvalue()
    connection.force_debug_cursor = False
    records = list(caplog.records)
    sweep.add("log output", caplog.text)
    for record in records:
        sweep.add(f"log record {record.name}", f"{record.getMessage()} {record.__dict__!r}")
        if record.exc_info:
            reporter = ExceptionReporter(getattr(record, "request", None), *record.exc_info)
            sweep.add(f"error report: {record.getMessage()}", reporter.get_traceback_text())
            sweep.add(f"error report HTML: {record.getMessage()}", reporter.get_traceback_html())
    # SQLite fails at the lock, before Slack is called; PostgreSQL after Slack made the app.
    failed = ("the database failed", "not saved (DatabaseError)")
    assert any(any(f in r.getMessage() for f in failed) for r in records if r.exc_info)
    for message in mail.outbox:
        sweep.add(f"email {message.subject!r}", message.message().as_string())

    # --- Nothing anywhere ---------------------------------------------------------------
    secrets = {
        f"configuration {issued.kind} token #{number}": issued.value
        for number, issued in enumerate(fake_slack.configuration_tokens())
    }
    for call in fake_slack.calls_to("apps.manifest.create"):
        for name, value in ((call.response or {}).get("credentials") or {}).items():
            if name != "client_id":
                secrets[f"created {name}"] = value
    assert len(secrets) >= 4 + 3  # two rotations at least, and one app's three secrets
    assert ConfigurationToken.objects.get().access_token in secrets.values()
    leaks = sweep.leaks(secrets)
    assert not leaks, "\n".join(f"{name} in {label}" for label, name in leaks)
