from __future__ import annotations

import pytest

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests import slack_payloads

pytestmark = pytest.mark.django_db


def test_str_never_shows_a_secret(slack_app):
    installation = Installation.objects.create(
        app=slack_app,
        team_id="T1",
        team_name="Acme",
        bot_token=slack_payloads.BOT_TOKEN,
        incoming_webhook_url=slack_payloads.WEBHOOK_URL,
    )
    token = UserToken.objects.create(
        installation=installation, slack_user_id="U1", access_token=slack_payloads.USER_TOKEN
    )
    from django.utils import timezone

    attempt = OAuthAttempt.objects.create(
        app=slack_app, state_digest="d" * 64, expires_at=timezone.now()
    )
    texts = [str(slack_app), str(installation), str(token), str(attempt), repr(installation)]
    assert texts[:3] == ["Acme Bot", "Acme", f"U1 on installation {installation.pk}"]
    for text in texts:
        for secret in [
            slack_payloads.BOT_TOKEN,
            slack_payloads.USER_TOKEN,
            slack_payloads.WEBHOOK_URL,
            "canary-client-secret-5555",
        ]:
            assert secret not in text


def test_one_installation_per_workspace_and_per_org(slack_app):
    from django.db import IntegrityError, transaction

    Installation.objects.create(app=slack_app, team_id="T1")
    Installation.objects.create(app=slack_app, enterprise_id="E1", team_id="")
    Installation.objects.create(app=slack_app, enterprise_id="E1", team_id="T1")
    for kwargs in [{"team_id": "T1"}, {"enterprise_id": "E1", "team_id": ""}]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Installation.objects.create(app=slack_app, **kwargs)


# --- org-wide installs: the add-to-workspaces page, enterprise_url, custom_values ---------


def org_install(app, **fields) -> Installation:
    values = {"enterprise_id": "E0001", "team_id": "", "is_enterprise_install": True}
    return Installation.objects.create(app=app, **{**values, **fields})


def test_add_workspaces_url_prefers_the_org_url(slack_app):
    slack_app.app_id = "A0ACME"
    slack_app.save()
    installation = org_install(slack_app, enterprise_url="https://grid.enterprise.slack.com/")
    assert installation.add_workspaces_url == (
        "https://grid.enterprise.slack.com/manage/organization/apps/profile/A0ACME/workspaces/add"
    )
    installation.enterprise_url = "https://grid.enterprise.slack.com"  # no trailing slash
    assert installation.add_workspaces_url.startswith("https://grid.enterprise.slack.com/manage/")
    installation.enterprise_url = ""
    assert installation.add_workspaces_url == (
        "https://app.slack.com/manage/E0001/integrations/profile/A0ACME/workspaces/add"
    )
    installation.enterprise_url = "javascript:alert(1)//"  # written around our checks
    assert installation.add_workspaces_url.startswith("https://app.slack.com/manage/E0001/")
    # Only the org URL's origin counts: no query or fragment ends up inside the link.
    installation.enterprise_url = "https://grid.enterprise.slack.com/?next=x#top"
    assert installation.add_workspaces_url == (
        "https://grid.enterprise.slack.com/manage/organization/apps/profile/A0ACME/workspaces/add"
    )


@pytest.mark.parametrize(
    ("app_id", "fields"),
    [
        ("", {}),  # the app id is not known
        ("A0 ACME", {}),
        ("a0acme/../x", {}),
        ("A0ACME", {"team_id": "T0001", "is_enterprise_install": False}),  # a workspace
        ("A0ACME", {"enterprise_id": "E0001/../x"}),
    ],
)
def test_add_workspaces_url_is_empty_when_it_cannot_be_built(slack_app, app_id, fields):
    slack_app.app_id = app_id
    slack_app.save()
    assert org_install(slack_app, **fields).add_workspaces_url == ""


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://acme.slack.com/", True),
        ("http://127.0.0.1:8123/", True),
        ("javascript:alert(1)", False),
        ("//acme.slack.com/", False),
        ("/relative/", False),
        ("https://acme.slack.com/\nx", False),
        (f"https://acme.slack.com/{'a' * 180}", False),  # longer than the column
        (None, False),
        (42, False),
    ],
)
def test_web_url(value, kept):
    from slack_installs.models import web_url

    assert web_url(value) == (value if kept else "")


def test_custom_values_default_to_an_empty_dict_and_round_trip(slack_app):
    installation = Installation.objects.create(app=slack_app, team_id="T1")
    assert Installation.objects.get(pk=installation.pk).custom_values == {}
    installation.custom_values = {"plan": "pro", "nested": {"seats": [1, 2]}, "on": True}
    installation.save()
    assert Installation.objects.get(pk=installation.pk).custom_values == {
        "plan": "pro",
        "nested": {"seats": [1, 2]},
        "on": True,
    }
