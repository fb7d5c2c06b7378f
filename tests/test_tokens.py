from __future__ import annotations

import pytest
from django.utils import timezone

from slack_installs.exceptions import InstallationNotFound, InstallationRevoked
from slack_installs.models import Installation, SlackApp
from slack_installs.tokens import get_bot_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def installs(slack_app):
    def make(team_id, enterprise_id="", token=None, **extra):
        return Installation.objects.create(
            app=slack_app,
            team_id=team_id,
            enterprise_id=enterprise_id,
            bot_token=token or f"xoxb-{team_id or enterprise_id}",
            **extra,
        )

    return make


def test_by_app_or_slug(slack_app, installs):
    installs("T1")
    assert get_bot_token(slack_app, team_id="T1") == "xoxb-T1"
    assert get_bot_token("acme", team_id="T1") == "xoxb-T1"


def test_other_apps_installs_are_not_visible(slack_app, installs):
    other = SlackApp.objects.create(name="O", slug="other", client_id="2", client_secret="s")
    Installation.objects.create(app=other, team_id="T9", bot_token="xoxb-other")
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T9")


def test_org_wide_install_answers_for_the_workspaces_of_its_org(slack_app, installs):
    installs("", "E1", is_enterprise_install=True)
    assert get_bot_token(slack_app, team_id="T5", enterprise_id="E1") == "xoxb-E1"
    assert get_bot_token(slack_app, enterprise_id="E1") == "xoxb-E1"
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T5", enterprise_id="E2")


def test_workspace_install_wins_over_org_wide(slack_app, installs):
    installs("", "E1", is_enterprise_install=True)
    installs("T5", "E1")
    assert get_bot_token(slack_app, team_id="T5", enterprise_id="E1") == "xoxb-T5"


def test_revoked_or_wiped_token_raises(slack_app, installs):
    installs("T1", revoked_at=timezone.now())
    installation = installs("T2")
    Installation.objects.filter(pk=installation.pk).update(bot_token=None)
    with pytest.raises(InstallationRevoked):
        get_bot_token(slack_app, team_id="T1")
    with pytest.raises(InstallationRevoked):
        get_bot_token(slack_app, team_id="T2")


def test_unknown_workspace_and_missing_arguments(slack_app):
    with pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T404")
    with pytest.raises(ValueError):
        get_bot_token(slack_app)


def test_a_workspace_with_its_own_install_costs_one_query_one_reached_org_wide_two(
    slack_app, installs, django_assert_num_queries
):
    from slack_installs.models import WorkspaceAccess

    org = installs("", "E1", is_enterprise_install=True)
    installs("T1")
    WorkspaceAccess.objects.create(installation=org, team_id="T2", granted_at=timezone.now())
    with django_assert_num_queries(1):
        assert get_bot_token(slack_app, team_id="T1") == "xoxb-T1"
    with django_assert_num_queries(2):
        assert get_bot_token("acme", team_id="T2") == "xoxb-E1"
    with django_assert_num_queries(2), pytest.raises(InstallationNotFound):
        get_bot_token(slack_app, team_id="T3")
    with django_assert_num_queries(1):
        assert get_bot_token(slack_app, team_id="T2", enterprise_id="E1") == "xoxb-E1"


def test_an_active_org_wide_install_wins_over_the_workspaces_revoked_one(slack_app, installs):
    installs("", "E1", is_enterprise_install=True)
    installs("T5", "E1", revoked_at=timezone.now())
    assert get_bot_token(slack_app, team_id="T5", enterprise_id="E1") == "xoxb-E1"
