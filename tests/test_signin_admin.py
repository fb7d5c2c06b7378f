"""Sign in with Slack in the admin: the app's sign-in fields and URLs, and the identities."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from slack_installs.models import SlackApp, SlackIdentity
from tests.installs import staff_user
from tests.test_admin import change_url, edit_form

User = get_user_model()
pytestmark = pytest.mark.django_db
IDENTITIES = "/admin/slack_installs/slackidentity/"


def test_the_change_form_has_the_sign_in_fields(admin_client, slack_app):
    html = admin_client.get(change_url(slack_app)).content.decode()
    assert 'name="sign_in_enabled"' in html and 'name="sign_in_team_ids"' in html


def test_sign_in_is_switched_on_with_allowed_workspaces(admin_client, slack_app):
    form = edit_form(slack_app, sign_in_enabled="on", sign_in_team_ids="T0ACME0001,T0BETA0001")
    response = admin_client.post(change_url(slack_app), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    slack_app.refresh_from_db()
    assert slack_app.sign_in_enabled
    assert slack_app.allowed_sign_in_teams == {"T0ACME0001", "T0BETA0001"}


@pytest.mark.parametrize(
    "bad", ["T0ACME0001, T0BETA0001", "acme", "U0ACME0001", "T0ACME0001,", ",T0ACME0001", "T"]
)
def test_malformed_workspace_ids_are_a_form_error(admin_client, slack_app, bad):
    form = edit_form(slack_app, sign_in_enabled="on", sign_in_team_ids=bad)
    response = admin_client.post(change_url(slack_app), form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Comma-separated Slack workspace ids" in str(errors["sign_in_team_ids"])
    assert SlackApp.objects.get().sign_in_enabled is False


def test_the_change_page_shows_the_sign_in_urls_and_button(admin_client, slack_app):
    html = admin_client.get(change_url(slack_app)).content.decode()
    assert "http://testserver/slack/acme/sign-in/callback/" in html
    assert "Sign in with Slack is off for this app" in html
    slack_app.sign_in_enabled = True
    slack_app.save()
    html = admin_client.get(change_url(slack_app)).content.decode()
    assert 'class="slack-sign-in-button" href="/slack/acme/sign-in/"' in html
    assert "Sign in with Slack is off for this app" not in html


@pytest.fixture
def identities(slack_app):
    other = SlackApp.objects.create(
        name="Other", slug="other", client_id="999.888", client_secret="s" * 20, bot_scopes="x"
    )
    ada = User.objects.create_user("slack.T0ACME0001.U0ADA00001")
    bob = User.objects.create_user("bob")
    return [
        SlackIdentity.objects.create(
            app=slack_app,
            team_id="T0ACME0001",
            team_name="Acme Corp",
            slack_user_id="U0ADA00001",
            name="Ada",
            user=ada,
        ),
        SlackIdentity.objects.create(
            app=other, team_id="T0BETA0001", slack_user_id="U0BOB00001", user=bob
        ),
    ]


def test_the_identities_list_shows_user_team_and_last_sign_in(admin_client, identities):
    html = admin_client.get(IDENTITIES).content.decode()
    assert "slack.T0ACME0001.U0ADA00001" in html and "Acme Corp (T0ACME0001)" in html
    assert "Ada (U0ADA00001)" in html and "bob" in html
    assert "column-last_sign_in_at" in html


def test_the_identities_filter_by_app_and_search(admin_client, identities, slack_app):
    filtered = admin_client.get(IDENTITIES, {"app__id__exact": slack_app.pk})
    assert list(filtered.context["cl"].queryset) == [identities[0]]
    found = admin_client.get(IDENTITIES, {"q": "bob"})
    assert list(found.context["cl"].queryset) == [identities[1]]


def test_identities_are_read_only_and_can_be_deleted(admin_client, identities):
    assert admin_client.get(f"{IDENTITIES}add/").status_code == 403
    page = admin_client.get(f"{IDENTITIES}{identities[0].pk}/change/").content.decode()
    assert 'name="slack_user_id"' not in page and "U0ADA00001" in page
    response = admin_client.post(f"{IDENTITIES}{identities[0].pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert SlackIdentity.objects.count() == 1 and User.objects.count() == 3  # the user stays


def test_staff_without_permission_see_no_identities(client, identities):
    client.force_login(staff_user("nosy"))
    assert client.get(IDENTITIES).status_code == 403
