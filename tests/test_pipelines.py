from __future__ import annotations

import logging
import socket

import django
import pytest
from django.core import mail
from django.test import RequestFactory, override_settings

from slack_installs import pipelines
from slack_installs.models import Installation, UserToken
from tests import slack_payloads
from tests.installs import OPS_ADMINS

pytestmark = pytest.mark.django_db


def sample_setting_step(request, api_data):
    """A step named in the PIPELINES setting."""
    return request, api_data


@pytest.fixture
def installation(slack_app):
    return Installation.objects.create(
        app=slack_app,
        team_id="T1",
        team_name="Acme",
        bot_token=slack_payloads.BOT_TOKEN,
        installer_user_id="U0001",
    )


def make_request(user=None):
    request = RequestFactory().get("/")
    if user is not None:
        request.user = user
    return request


def test_registry_holds_builtins_and_setting_steps():
    steps = pipelines.registered_steps()
    for name in ["link_django_user", "send_welcome_message", "notify_admins", "log_api_data"]:
        assert f"slack_installs.pipelines.{name}" in steps
    assert steps["slack_installs.pipelines.notify_admins"].description.startswith("Email")
    path = "tests.test_pipelines.sample_setting_step"
    assert path not in steps
    with override_settings(
        SLACK_INSTALLS={
            "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
            "PIPELINES": [path, "does.not.exist"],
        }
    ):
        steps = pipelines.registered_steps()
    assert steps[path].description == "A step named in the PIPELINES setting."
    assert "does.not.exist" not in steps


def test_unregistered_saved_step_is_skipped_with_a_warning(slack_app, installation, caplog):
    slack_app.pipelines = ["gone.module.step", "slack_installs.pipelines.log_api_data"]
    caplog.set_level(logging.INFO, logger="slack_installs")
    pipelines.run_pipelines(
        make_request(), slack_app, installation, slack_payloads.oauth_v2_access()
    )
    assert "Skipping pipeline step 'gone.module.step'" in caplog.text
    assert "Slack install of acme" in caplog.text


def test_log_api_data_never_logs_secrets(slack_app, installation, caplog):
    slack_app.pipelines = ["slack_installs.pipelines.log_api_data"]
    caplog.set_level(logging.INFO, logger="slack_installs")
    data = slack_payloads.oauth_v2_access(
        user_token=slack_payloads.USER_TOKEN, webhook_url=slack_payloads.WEBHOOK_URL, rotating=True
    )
    pipelines.run_pipelines(make_request(), slack_app, installation, data)
    for secret in [
        slack_payloads.BOT_TOKEN,
        slack_payloads.USER_TOKEN,
        slack_payloads.WEBHOOK_URL,
        slack_payloads.BOT_REFRESH_TOKEN,
    ]:
        assert secret not in caplog.text
    assert "T0001" in caplog.text


def test_redact_removes_nested_tokens_and_anything_token_shaped():
    data = {
        "access_token": "xoxb-1",
        "authed_user": {"id": "U1", "access_token": "xoxp-1", "refresh_token": "xoxe-1-r"},
        "incoming_webhook": {"url": "https://hooks.slack.com/services/T/B/x", "channel": "#c"},
        "odd": ["xoxb-hidden-in-list"],
    }
    assert pipelines.redact(data) == {
        "authed_user": {"id": "U1"},
        "incoming_webhook": {"channel": "#c"},
        "odd": ["[redacted]"],
    }


def test_link_django_user(slack_app, installation, django_user_model):
    user = django_user_model.objects.create_user("dj")
    UserToken.objects.create(
        installation=installation, slack_user_id="U0001", access_token="xoxp-1"
    )
    slack_app.pipelines = ["slack_installs.pipelines.link_django_user"]
    pipelines.run_pipelines(make_request(user), slack_app, installation, {})
    installation.refresh_from_db()
    assert installation.installed_by == user
    assert UserToken.objects.get().user == user


def test_notify_admins_mails_without_secrets(slack_app, installation, settings):
    settings.ADMINS = OPS_ADMINS
    slack_app.pipelines = ["slack_installs.pipelines.notify_admins"]
    pipelines.run_pipelines(
        make_request(), slack_app, installation, slack_payloads.oauth_v2_access()
    )
    assert len(mail.outbox) == 1
    assert "Acme" in mail.outbox[0].subject
    assert slack_payloads.BOT_TOKEN not in mail.outbox[0].body


def test_notify_admins_survives_a_mail_server_that_is_down(
    slack_app, installation, settings, caplog
):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.ADMINS = OPS_ADMINS
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    if django.VERSION >= (6, 1):
        options = {"host": "127.0.0.1", "port": port, "timeout": 5}
        settings.MAILERS = {"default": {"BACKEND": smtp, "OPTIONS": options}}
    else:
        settings.EMAIL_BACKEND = smtp
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    slack_app.pipelines = ["slack_installs.pipelines.notify_admins"]
    request = make_request()
    assert pipelines.run_pipelines(request, slack_app, installation, {}) == (request, {})
    assert "Could not email the admins about the install in Acme" in caplog.text


def test_send_welcome_message_posts_to_the_installer(slack_app, installation, mocked_slack):
    import responses

    mocked_slack.add(responses.POST, "https://slack.test/api/chat.postMessage", json={"ok": True})
    slack_app.pipelines = ["slack_installs.pipelines.send_welcome_message"]
    pipelines.run_pipelines(make_request(), slack_app, installation, {})
    request = mocked_slack.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {slack_payloads.BOT_TOKEN}"
    assert "channel=U0001" in request.body


def test_register_with_label():
    @pipelines.register(label="Custom label")
    def labelled(request, api_data):
        """First line.

        More."""
        return request, api_data

    step = pipelines.registered_steps()[pipelines.path_of(labelled)]
    assert (step.label, step.description) == ("Custom label", "First line.")
