"""Permissions over every admin URL of our models, listed from the admin itself.

Anonymous visitors and logged-in users who are not staff get the login page and
nothing else; staff without the change permission cannot rotate secrets, revoke or
change anything; staff without the export permission cannot export. Positive
controls show each refused URL works for staff who hold the permission.
"""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from slack_installs.models import (
    ConfigurationToken,
    Installation,
    InstallationEvent,
    OAuthAttempt,
    SlackApp,
    SlackIdentity,
)
from tests.installs import make_installation, staff_user

pytestmark = pytest.mark.django_db

NEW_SECRET = "canary-permission-secret-9090"


@pytest.fixture
def objects(slack_app):
    installation = make_installation(slack_app)
    attempt = OAuthAttempt.objects.create(
        app=slack_app, state_digest="e" * 64, expires_at=timezone.now(), installation=installation
    )
    identity = SlackIdentity.objects.create(
        app=slack_app,
        team_id="T0PERMS001",
        slack_user_id="U0PERMS001",
        user=User.objects.create_user("signed-in-with-slack"),
    )
    token = ConfigurationToken.objects.create(team_id="T0PERMS01", access_token="xoxe.xoxp-1-p")
    return {
        "slackapp": slack_app,
        "installation": installation,
        "oauthattempt": attempt,
        "slackidentity": identity,
        "configurationtoken": token,
        "installationevent": InstallationEvent.record(installation, "installed"),
        "overview": installation,  # its URLs name no object
    }


def admin_urls(objects) -> list[str]:
    """Every URL our ModelAdmins serve, with the ids of existing objects filled in."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "slack_installs":
            continue
        name = model._meta.model_name
        for pattern in model_admin.urls:
            route = str(pattern.pattern).replace("<path:object_id>", str(objects[name].pk))
            urls.append(f"/admin/slack_installs/{name}/{route}")
    return urls


def snapshot() -> str:
    """Every row of our models as stored (ciphertext included): any change shows."""
    out = io.StringIO()
    call_command("dumpdata", "slack_installs", "admin.logentry", stdout=out)
    return out.getvalue()


def changes(objects) -> dict:
    """A POST body that would change something at any of our URLs if it were accepted."""
    return {
        "new_secret": NEW_SECRET,
        "name": "Changed",
        "slug": "changed",
        "client_id": "999.999",
        "client_secret": NEW_SECRET,
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": [str(obj.pk) for obj in objects.values()],
        "format": "0",
        "resource": "0",
    }


def test_every_admin_url_of_ours_is_listed(objects):
    urls = admin_urls(objects)
    assert len(urls) == 44
    assert "/admin/slack_installs/overview/" in urls
    assert f"/admin/slack_installs/slackapp/{objects['slackapp'].pk}/manifest/" in urls
    assert f"/admin/slack_installs/slackapp/{objects['slackapp'].pk}/rotate-client-secret/" in urls
    assert "/admin/slack_installs/installation/export/" in urls


@pytest.mark.parametrize("who", ["anonymous", "not staff", "inactive staff"])
def test_no_admin_url_gives_anything_but_the_login_page(client, objects, mocked_slack, who):
    if who == "not staff":
        client.force_login(User.objects.create_user("visitor", password="pw"))
    elif who == "inactive staff":
        user = User.objects.create_user("gone", password="pw", is_staff=True, is_active=False)
        client.force_login(user)
    before = snapshot()
    urls = admin_urls(objects) + ["/admin/", "/admin/slack_installs/"]
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, changes(objects))
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/admin/login/?next="), (method, url)
    for action in ("export_admin_action", "revoke", "delete_selected"):
        for model in ("installation", "oauthattempt", "slackapp", "slackidentity"):
            response = client.post(
                f"/admin/slack_installs/{model}/",
                {"action": action, "post": "yes", "_selected_action": ["1"], "format": "0"},
            )
            assert response.status_code == 302 and "Content-Disposition" not in response
            assert response["Location"].startswith("/admin/login/?next=")
    assert snapshot() == before
    assert len(mocked_slack.calls) == 0


def test_staff_who_may_only_view_change_nothing_through_any_url(client, objects, mocked_slack):
    client.force_login(
        staff_user(
            "viewer",
            "view_slackapp",
            "view_installation",
            "view_oauthattempt",
            "view_slackidentity",
        )
    )
    before = snapshot()
    refused = []
    for url in admin_urls(objects):
        response = client.post(url, changes(objects))
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        assert "Content-Disposition" not in response, url
        if response.status_code == 403:
            refused.append(url)
    slack_app = objects["slackapp"]
    base = f"/admin/slack_installs/slackapp/{slack_app.pk}"
    for url in (f"{base}/rotate-client-secret/", f"{base}/rotate-signing-secret/"):
        assert url in refused
        assert client.get(url).status_code == 403
    assert f"{base}/manifest/" in refused  # Create and Push need the change permission
    assert f"{base}/change/" in refused
    identity = objects["slackidentity"].pk
    assert f"/admin/slack_installs/slackidentity/{identity}/delete/" in refused
    for action in ("revoke", "delete_selected"):
        response = client.post(
            "/admin/slack_installs/installation/",
            {"action": action, "post": "yes", "_selected_action": [objects["installation"].pk]},
            follow=True,
        )
        assert "Revoke installations" not in response.content.decode()
    assert snapshot() == before
    assert len(mocked_slack.calls) == 0  # no auth.revoke reached Slack


def test_staff_who_may_change_but_not_export_get_no_export(client, objects):
    client.force_login(
        staff_user(
            "changer",
            "view_installation",
            "change_installation",
            "view_oauthattempt",
            "change_oauthattempt",
        )
    )
    for model in ("installation", "oauthattempt"):
        export = f"/admin/slack_installs/{model}/export/"
        assert client.get(export).status_code == 403
        for fmt in ("0", "1", "2"):
            assert client.post(export, {"format": fmt, "resource": "0"}).status_code == 403
        changelist = client.get(f"/admin/slack_installs/{model}/").content.decode()
        assert "export_admin_action" not in changelist
        action = client.post(
            f"/admin/slack_installs/{model}/",
            {"action": "export_admin_action", "_selected_action": ["1"]},
        )
        assert "Content-Disposition" not in action
        assert 'name="export_items"' not in action.content.decode()


def test_positive_controls_staff_with_the_permission_can(client, objects, mocked_slack):
    """The refusals above are about permissions: with them, the same URLs work."""
    mocked_slack.post("https://slack.test/api/auth.revoke", json={"ok": True, "revoked": True})
    client.force_login(
        staff_user(
            "boss",
            "view_slackapp",
            "change_slackapp",
            "view_installation",
            "change_installation",
            "export_installation",
        )
    )
    slack_app = objects["slackapp"]
    rotated = client.post(
        f"/admin/slack_installs/slackapp/{slack_app.pk}/rotate-client-secret/",
        {"new_secret": NEW_SECRET},
    )
    assert rotated.status_code == 302
    assert SlackApp.objects.get().client_secret == NEW_SECRET
    exported = client.post(
        "/admin/slack_installs/installation/export/", {"format": "0", "resource": "0"}
    )
    assert exported.status_code == 200 and exported["Content-Disposition"].startswith("attachment")
    installation = objects["installation"]
    client.post(
        "/admin/slack_installs/installation/",
        {"action": "revoke", "post": "yes", "_selected_action": [installation.pk]},
    )
    assert Installation.objects.get().revoked_at is not None


GONE_STEP = "tests.removed_module.removed_step"


@pytest.mark.parametrize("perms", [(), ("add_slackapp",), ("view_installation",)])
def test_staff_who_may_not_see_the_app_get_no_message_about_it(client, slack_app, perms):
    """The warning about a removed pipeline step waits for the permission check."""
    SlackApp.objects.filter(pk=slack_app.pk).update(pipelines=[GONE_STEP])
    client.force_login(staff_user("outsider", *perms))

    response = client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")

    assert response.status_code in (302, 403)
    assert GONE_STEP not in response.content.decode()
    following = client.get("/admin/")
    assert following.status_code == 200
    assert list(following.context["messages"]) == []
    assert GONE_STEP not in following.content.decode()


def test_staff_who_may_view_the_app_are_warned_about_a_removed_step(client, slack_app):
    SlackApp.objects.filter(pk=slack_app.pk).update(pipelines=[GONE_STEP])
    client.force_login(staff_user("viewer", "view_slackapp"))
    response = client.get(f"/admin/slack_installs/slackapp/{slack_app.pk}/change/")
    assert response.status_code == 200
    warnings = [str(message) for message in response.context["messages"]]
    assert any(GONE_STEP in message for message in warnings)
