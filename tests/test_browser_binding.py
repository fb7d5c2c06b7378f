"""The install's binding to the browser and to the Django user who started it.

An attacker who can plant a cookie (a sibling subdomain, plain http) starts an install in
their own browser, plants their binding cookie in a logged-in victim's browser and sends
the victim the callback URL: the install must not link their workspace to the victim.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests import slack_payloads
from tests.slack_mocks import answer_install

pytestmark = pytest.mark.django_db

INSTALL = "/slack/acme/install/"
CALLBACK = "/slack/acme/oauth/callback/"
COOKIE = "slack_installs_browser"
HOST_COOKIE = f"__Host-{COOKIE}"


def _state_of(response) -> str:
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def test_over_https_the_cookie_has_the_host_prefix(client, slack_app):
    response = client.get(INSTALL, secure=True)
    assert COOKIE not in response.cookies
    cookie = response.cookies[HOST_COOKIE]
    assert cookie["secure"] is True
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""
    assert cookie["httponly"] is True


def test_over_https_a_cookie_without_the_prefix_does_not_bind(client, slack_app, mocked_slack):
    state = _state_of(client.get(INSTALL, secure=True))
    value = client.cookies[HOST_COOKIE].value
    planted = Client()
    planted.cookies[COOKIE] = value  # what a sibling subdomain could set
    response = planted.get(CALLBACK, {"code": "c", "state": state}, secure=True)
    assert response.status_code == 400
    assert len(mocked_slack.calls) == 0
    assert OAuthAttempt.objects.values_list("status", "error").get() == ("failed", "invalid_state")


def test_over_https_an_install_completes_with_the_prefixed_cookie(client, slack_app, mocked_slack):
    state = _state_of(client.get(INSTALL, secure=True))
    answer_install(mocked_slack)
    response = client.get(CALLBACK, {"code": "c", "state": state}, secure=True)
    assert response.status_code == 302
    assert Installation.objects.count() == 1


def test_setting_forces_the_secure_prefixed_cookie(client, slack_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "BROWSER_COOKIE_SECURE": True}
    response = client.get(INSTALL)  # plain http, but the setting says Secure
    assert response.cookies[HOST_COOKIE]["secure"] is True


def test_over_https_one_browser_keeps_its_binding_across_installs(client, slack_app):
    first = _state_of(client.get(INSTALL, secure=True))
    value = client.cookies[HOST_COOKIE].value
    second = _state_of(client.get(INSTALL, secure=True))
    assert first != second
    assert client.cookies[HOST_COOKIE].value == value  # an install in another tab still works


def test_a_planted_cookie_cannot_link_the_install_to_a_logged_in_victim(
    client, slack_app, mocked_slack
):
    """The attacker starts anonymously; the victim, logged in, follows the callback URL."""
    slack_app.user_scopes = "search:read"
    slack_app.save()
    state = _state_of(client.get(INSTALL))
    victim = Client()
    victim.force_login(User.objects.create_user("victim"))
    victim.cookies[COOKIE] = client.cookies[COOKIE].value  # planted
    answer_install(mocked_slack, user_token=slack_payloads.USER_TOKEN, user_scopes="search:read")
    response = victim.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"invalid_state" in response.content
    assert len(mocked_slack.calls) == 0  # refused before the code exchange
    assert Installation.objects.count() == 0
    assert UserToken.objects.count() == 0
    assert OAuthAttempt.objects.values_list("status", "error").get() == ("failed", "invalid_state")


def test_another_logged_in_user_cannot_finish_someone_elses_install(
    client, slack_app, mocked_slack
):
    client.force_login(User.objects.create_user("starter"))
    state = _state_of(client.get(INSTALL))
    other = Client()
    other.force_login(User.objects.create_user("other"))
    other.cookies[COOKIE] = client.cookies[COOKIE].value
    response = other.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert len(mocked_slack.calls) == 0
    assert Installation.objects.count() == 0


def test_the_user_who_started_the_install_is_linked(client, slack_app, mocked_slack):
    slack_app.user_scopes = "search:read"
    slack_app.save()
    starter = User.objects.create_user("starter")
    client.force_login(starter)
    state = _state_of(client.get(INSTALL))
    answer_install(mocked_slack, user_token=slack_payloads.USER_TOKEN, user_scopes="search:read")
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    installation = Installation.objects.get()
    assert installation.installed_by_id == starter.pk
    assert UserToken.objects.get().user_id == starter.pk


def test_a_user_who_logged_out_meanwhile_starts_again(client, slack_app, mocked_slack):
    client.force_login(User.objects.create_user("starter"))
    state = _state_of(client.get(INSTALL))
    browser = client.cookies[COOKIE].value
    client.logout()
    client.cookies[COOKIE] = browser
    response = client.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"start the install again" in response.content


def test_cookie_name_setting_is_kept_under_the_prefix(slack_app, settings):
    settings.SLACK_INSTALLS = {**settings.SLACK_INSTALLS, "BROWSER_COOKIE_NAME": "sib"}
    response = Client().get(INSTALL, secure=True)
    assert "__Host-sib" in response.cookies
