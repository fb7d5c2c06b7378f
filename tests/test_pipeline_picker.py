"""The pipeline picker: only registered steps, in the order staff chose, and what happens to
steps that were saved and later removed from the code."""

from __future__ import annotations

import logging

import pytest
from django.core import checks
from django.test import RequestFactory, override_settings

from slack_installs import pipelines
from slack_installs.forms import SlackAppForm
from slack_installs.models import SlackApp
from tests.installs import make_installation
from tests.test_admin import change_url, edit_form

LINK = "slack_installs.pipelines.link_django_user"
WELCOME = "slack_installs.pipelines.send_welcome_message"
NOTIFY = "slack_installs.pipelines.notify_admins"
LOG = "slack_installs.pipelines.log_api_data"
GONE = "myproject.slack.removed_step"

TEST_KEYS = {"k1": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="}


def extra_step(request, api_data):
    """Tag the request so a test can see the step ran."""
    request.extra_step_ran = True
    return request, api_data


EXTRA = f"{__name__}.extra_step"


def saved_pipelines(app: SlackApp) -> list[str]:
    return SlackApp.objects.filter(pk=app.pk).values_list("pipelines", flat=True).get()


def test_picker_offers_every_registered_step_with_label_and_description(admin_client, slack_app):
    html = admin_client.get(change_url(slack_app)).content.decode()
    for path, step in pipelines.registered_steps().items():
        assert f'value="{path}"' in html
        assert step.label.replace("'", "&#x27;") in html
    assert "Email the site&#x27;s ADMINS that a workspace installed the app." in html


@override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": TEST_KEYS, "PIPELINES": [EXTRA]})
def test_picker_offers_steps_of_the_setting(admin_client, slack_app):
    html = admin_client.get(change_url(slack_app)).content.decode()
    assert f'value="{EXTRA}"' in html
    assert "Tag the request so a test can see the step ran." in html


def test_picker_saves_the_posted_order(admin_client, slack_app):
    response = admin_client.post(
        change_url(slack_app), edit_form(slack_app, pipelines=[NOTIFY, LINK, LOG])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert saved_pipelines(slack_app) == [NOTIFY, LINK, LOG]


def test_positions_set_the_order_without_javascript(admin_client, slack_app):
    name = "pipelines__position__{}".format
    data = edit_form(slack_app, pipelines=[LINK, NOTIFY, LOG])
    data.update({name(LINK): "3", name(NOTIFY): "1", name(LOG): "2", name(WELCOME): "4"})
    response = admin_client.post(change_url(slack_app), data)
    assert response.status_code == 302
    assert saved_pipelines(slack_app) == [NOTIFY, LOG, LINK]


def test_the_page_shows_the_saved_order(admin_client, slack_app):
    slack_app.pipelines = [LOG, LINK]
    slack_app.save()
    html = admin_client.get(change_url(slack_app)).content.decode()
    assert (
        html.index(f'value="{LOG}"')
        < html.index(f'value="{LINK}"')
        < html.index(f'value="{NOTIFY}"')
    )
    assert f'value="{LOG}" id="id_pipelines_1" checked' in html
    assert f'value="{WELCOME}" id="id_pipelines_3">' in html  # offered, not chosen


def test_an_unregistered_path_is_a_form_error(admin_client, slack_app):
    slack_app.pipelines = [LINK]
    slack_app.save()
    response = admin_client.post(
        change_url(slack_app), edit_form(slack_app, pipelines=[NOTIFY, "os.system"])
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["pipelines"]
    assert errors == ["Select a valid choice. os.system is not one of the available choices."]
    assert saved_pipelines(slack_app) == [LINK]


def test_a_step_is_kept_once(admin_client, slack_app):
    response = admin_client.post(
        change_url(slack_app), edit_form(slack_app, pipelines=[LOG, LINK, LOG])
    )
    assert response.status_code == 302
    assert saved_pipelines(slack_app) == [LOG, LINK]


def test_the_order_survives_a_validation_error(admin_client, slack_app):
    response = admin_client.post(
        change_url(slack_app), edit_form(slack_app, bot_scopes="bad scope", pipelines=[LOG, LINK])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{LOG}" id="id_pipelines_1" checked' in html
    assert f'value="{LINK}" id="id_pipelines_2" checked' in html


def test_a_step_registered_later_is_offered(slack_app):
    @pipelines.register(label="Late step")
    def late_step(request, api_data):
        """Registered after the admin was imported."""
        return request, api_data

    path = pipelines.path_of(late_step)
    try:
        form = SlackAppForm(instance=slack_app)
        assert path in dict(form.fields["pipelines"].choices)
    finally:
        pipelines._registered.pop(path)


# --- A saved step that was removed from the code ---------------------------------------


def test_a_removed_step_is_shown_as_a_warning(admin_client, slack_app):
    slack_app.pipelines = [LINK, GONE]
    slack_app.save()
    response = admin_client.get(change_url(slack_app))
    html = response.content.decode()
    warnings = [str(message) for message in response.context["messages"]]
    assert any(GONE in message and "skipped at run time" in message for message in warnings)
    assert f"The saved step <code>{GONE}</code> is no longer registered" in html
    assert f'value="{GONE}"' not in html  # not offered as a choice


def test_saving_drops_a_removed_step(admin_client, slack_app):
    slack_app.pipelines = [GONE, LINK]
    slack_app.save()
    response = admin_client.post(change_url(slack_app), edit_form(slack_app, pipelines=[LINK]))
    assert response.status_code == 302
    assert saved_pipelines(slack_app) == [LINK]


def test_system_check_warns_about_a_removed_step(slack_app):
    slack_app.pipelines = [LINK, GONE]
    slack_app.save()
    messages = checks.run_checks(databases=["default"], tags=["slack_installs"])
    warnings = [message for message in messages if message.id == "slack_installs.W001"]
    assert len(warnings) == 1
    assert GONE in warnings[0].msg and "'acme'" in warnings[0].msg
    assert warnings[0].hint


# Django 6.1's own model checks read every database (SQLite's JSON support, for one).
@pytest.mark.django_db(databases="__all__")
def test_system_check_is_a_database_check(slack_app):
    slack_app.pipelines = [GONE]
    slack_app.save()
    # Not run by a plain check (no --database). Django 6.1 hands every database to the checks
    # a tag selects, so the tag is left out here.
    assert not [m for m in checks.run_checks() if m.id.endswith("W001")]


def test_system_check_is_silent_when_all_steps_exist(slack_app):
    slack_app.pipelines = [LINK, LOG]
    slack_app.save()
    messages = checks.run_checks(databases=["default"], tags=["slack_installs"])
    assert not [message for message in messages if message.id == "slack_installs.W001"]


def test_system_check_survives_missing_tables(slack_app, monkeypatch):
    from django.db import connection

    slack_app.pipelines = [GONE]
    slack_app.save()
    monkeypatch.setattr(connection.introspection, "table_names", lambda *a, **k: [])
    messages = checks.run_checks(databases=["default"], tags=["slack_installs"])
    assert not [message for message in messages if message.id == "slack_installs.W001"]


def test_a_removed_step_is_skipped_at_run_time_with_a_warning(slack_app, caplog):
    slack_app.pipelines = [GONE, LINK]
    installation = make_installation(slack_app)
    request = RequestFactory().get("/")
    with caplog.at_level(logging.WARNING, logger="slack_installs.pipelines"):
        request, api_data = pipelines.run_pipelines(request, slack_app, installation, {"ok": True})
    assert api_data == {"ok": True}
    assert request.slack_installation == installation
    assert any(
        GONE in record.getMessage() and "not registered" in record.getMessage()
        for record in caplog.records
    )


@override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": TEST_KEYS, "PIPELINES": [EXTRA]})
def test_chosen_steps_run_in_order(slack_app):
    slack_app.pipelines = [EXTRA, LINK]
    installation = make_installation(slack_app)
    request = RequestFactory().get("/")
    request, _ = pipelines.run_pipelines(request, slack_app, installation, {"ok": True})
    assert request.extra_step_ran is True
