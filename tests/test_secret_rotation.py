"""Client secret and signing secret rotation: services, admin pages, effect on Slack calls."""

from __future__ import annotations

import base64
import datetime
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core.signals import got_request_exception
from django.urls import reverse
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter

from slack_installs import events, secrets
from slack_installs.models import SlackApp
from tests.slack_mocks import answer_install

NEW_CLIENT_SECRET = "canary-new-client-secret-8888"
NEW_SIGNING_SECRET = "canary-new-signing-secret-9999"
OLD_SIGNING_SECRET = "canary-signing-secret-6666"


def raw_row(app: SlackApp) -> dict:
    return SlackApp.objects.filter(pk=app.pk).values(
        "client_secret", "signing_secret", "previous_signing_secret"
    )[0]


def rotate_url(kind: str, app: SlackApp) -> str:
    return reverse(f"admin:slack_installs_slackapp_rotate_{kind}", args=[app.pk])


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


def staff_with(*codenames: str) -> User:
    user = User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="slack_installs", codename__in=codenames)
    )
    return user


# --- Client secret ---------------------------------------------------------------------


def test_rotate_client_secret_service(slack_app, superuser):
    secrets.rotate_client_secret(slack_app, f"  {NEW_CLIENT_SECRET}\n", user=superuser)

    stored = SlackApp.objects.get(pk=slack_app.pk)
    assert stored.client_secret == NEW_CLIENT_SECRET
    assert slack_app.client_secret == NEW_CLIENT_SECRET  # the caller's instance follows
    assert stored.client_secret_rotated_at is not None
    assert NEW_CLIENT_SECRET not in raw_row(slack_app)["client_secret"]
    entry = LogEntry.objects.get()
    assert entry.user == superuser
    assert entry.object_id == str(slack_app.pk)
    assert entry.get_change_message() == "Changed Client secret."
    assert "canary" not in entry.change_message + entry.object_repr


@pytest.mark.parametrize("bad", ["", "   ", "two words", "x" * 201, "tab\there"])
def test_bad_secrets_are_refused(slack_app, bad):
    with pytest.raises(ValueError):
        secrets.rotate_client_secret(slack_app, bad)
    assert SlackApp.objects.get(pk=slack_app.pk).client_secret == "canary-client-secret-5555"


def test_the_next_code_exchange_uses_the_new_client_secret(client, slack_app, mocked_slack):
    # Another worker's copy of the app, loaded before the rotation, plays no part:
    # the callback reads the app from the database.
    secrets.rotate_client_secret(SlackApp.objects.get(pk=slack_app.pk), NEW_CLIENT_SECRET)
    state = parse_qs(urlsplit(client.get("/slack/acme/install/")["Location"]).query)["state"][0]
    exchange = answer_install(mocked_slack)

    response = client.get("/slack/acme/oauth/callback/", {"code": "c1", "state": state})

    assert response.status_code == 302
    assert exchange.call_count == 1
    sent = exchange.calls[0].request.headers["Authorization"]
    expected = base64.b64encode(f"111.222:{NEW_CLIENT_SECRET}".encode()).decode()
    assert sent == f"Basic {expected}"


def test_admin_page_rotates_the_client_secret(staff_client, slack_app, superuser):
    url = rotate_url("client_secret", slack_app)
    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="password"' in html and 'name="new_secret"' in html
    assert "canary" not in html

    response = staff_client.post(url, {"new_secret": NEW_CLIENT_SECRET}, follow=True)

    change_url = reverse("admin:slack_installs_slackapp_change", args=[slack_app.pk])
    assert response.redirect_chain == [(change_url, 302)]
    assert "client secret of “Acme Bot” was replaced" in response.content.decode()
    assert NEW_CLIENT_SECRET not in response.content.decode()
    assert SlackApp.objects.get(pk=slack_app.pk).client_secret == NEW_CLIENT_SECRET
    assert LogEntry.objects.get().get_change_message() == "Changed Client secret."


def test_admin_page_shows_form_errors_and_changes_nothing(staff_client, slack_app):
    before = raw_row(slack_app)
    response = staff_client.post(rotate_url("client_secret", slack_app), {"new_secret": "a b"})
    assert response.status_code == 200
    assert "contains no spaces" in response.content.decode()
    assert raw_row(slack_app) == before
    assert not LogEntry.objects.exists()


def test_change_page_links_to_both_rotation_pages(staff_client, slack_app):
    page = staff_client.get(reverse("admin:slack_installs_slackapp_change", args=[slack_app.pk]))
    html = page.content.decode()
    assert rotate_url("client_secret", slack_app) in html
    assert rotate_url("signing_secret", slack_app) in html


@pytest.mark.parametrize("kind", ["client_secret", "signing_secret"])
def test_rotation_needs_the_change_permission(client, slack_app, kind):
    client.force_login(staff_with("view_slackapp"))
    before = raw_row(slack_app)
    assert client.get(rotate_url(kind, slack_app)).status_code == 403
    assert client.post(rotate_url(kind, slack_app), {"new_secret": "s3cret"}).status_code == 403
    assert raw_row(slack_app) == before


def test_rotation_with_the_change_permission(client, slack_app):
    client.force_login(staff_with("change_slackapp"))
    response = client.post(rotate_url("client_secret", slack_app), {"new_secret": "s3cret-new"})
    assert response.status_code == 302
    assert SlackApp.objects.get(pk=slack_app.pk).client_secret == "s3cret-new"


def test_rotation_pages_need_staff(client, slack_app):
    response = client.get(rotate_url("client_secret", slack_app))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_unknown_app_is_404(staff_client, db):
    response = staff_client.get("/admin/slack_installs/slackapp/999/rotate-client-secret/")
    assert response.status_code == 404


def test_posted_secret_is_hidden_from_error_reports(staff_client, slack_app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(SlackApp, "save", broken)
    failed = []

    def remember(sender, request, **kwargs):
        failed.append(request)

    got_request_exception.connect(remember)
    staff_client.raise_request_exception = False
    try:
        response = staff_client.post(
            rotate_url("client_secret", slack_app), {"new_secret": NEW_CLIENT_SECRET}
        )
    finally:
        got_request_exception.disconnect(remember)
    assert response.status_code == 500
    shown = SafeExceptionReporterFilter().get_post_parameters(failed[0])
    assert shown["new_secret"] != NEW_CLIENT_SECRET
    assert set(shown["new_secret"]) == {"*"}


# --- Signing secret --------------------------------------------------------------------


def test_rotate_signing_secret_keeps_the_old_one_for_the_grace_period(slack_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGNING_SECRET_GRACE_PERIOD": 600}
    old_raw = raw_row(slack_app)["signing_secret"]
    before = timezone.now()

    secrets.rotate_signing_secret(slack_app, NEW_SIGNING_SECRET)

    stored = SlackApp.objects.get(pk=slack_app.pk)
    assert stored.signing_secret == NEW_SIGNING_SECRET
    assert stored.previous_signing_secret == OLD_SIGNING_SECRET
    assert raw_row(slack_app)["previous_signing_secret"] == old_raw  # moved, not re-encrypted
    assert stored.signing_secret_rotated_at >= before
    window = stored.previous_signing_secret_expires_at - stored.signing_secret_rotated_at
    assert window == datetime.timedelta(seconds=600)
    assert secrets.signing_secrets(stored) == [NEW_SIGNING_SECRET, OLD_SIGNING_SECRET]
    later = stored.previous_signing_secret_expires_at + datetime.timedelta(seconds=1)
    assert secrets.signing_secrets(stored, now=later) == [NEW_SIGNING_SECRET]


def test_no_grace_period_drops_the_old_secret_at_once(slack_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "SIGNING_SECRET_GRACE_PERIOD": 0}
    secrets.rotate_signing_secret(slack_app, NEW_SIGNING_SECRET)
    stored = SlackApp.objects.get(pk=slack_app.pk)
    assert stored.previous_signing_secret is None
    assert stored.previous_signing_secret_expires_at is None
    assert secrets.signing_secrets(stored) == [NEW_SIGNING_SECRET]


def post_event(client, secret: str, payload: dict, *, timestamp: int | None = None):
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return client.post(
        "/slack/acme/events/",
        body,
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=str(timestamp),
        HTTP_X_SLACK_SIGNATURE=events.signature_for(secret, str(timestamp), body),
    )


def test_old_signing_secret_verifies_events_inside_the_window_only(client, staff_client, slack_app):
    challenge = {"type": "url_verification", "challenge": "c-123"}
    response = staff_client.post(
        rotate_url("signing_secret", slack_app), {"new_secret": NEW_SIGNING_SECRET}
    )
    assert response.status_code == 302
    assert LogEntry.objects.get().get_change_message() == "Changed Signing secret."

    assert post_event(client, NEW_SIGNING_SECRET, challenge).status_code == 200
    assert post_event(client, OLD_SIGNING_SECRET, challenge).status_code == 200
    assert post_event(client, "some-other-secret", challenge).status_code == 403

    # The grace window closes.
    SlackApp.objects.filter(pk=slack_app.pk).update(
        previous_signing_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert post_event(client, OLD_SIGNING_SECRET, challenge).status_code == 403
    assert post_event(client, NEW_SIGNING_SECRET, challenge).status_code == 200


def test_a_second_rotation_keeps_only_the_latest_previous_secret(slack_app):
    secrets.rotate_signing_secret(slack_app, "second-secret")
    secrets.rotate_signing_secret(slack_app, "third-secret")
    stored = SlackApp.objects.get(pk=slack_app.pk)
    assert secrets.signing_secrets(stored) == ["third-secret", "second-secret"]


def test_signing_page_mentions_the_grace_period(staff_client, slack_app):
    html = staff_client.get(rotate_url("signing_secret", slack_app)).content.decode()
    assert "3600 seconds" in html
    assert "canary" not in html
