"""Exports served by the admin: the posted ids are never trusted, and no input makes a 500."""

from __future__ import annotations

import warnings

import pytest

from slack_installs.admin import InstallationAdmin
from slack_installs.export import MAX_PK, sane_pks
from tests.installs import make_installation
from tests.test_resources import CHANGELIST, EXPORT_URL, body_of, export, rows_of

MALFORMED = [
    "abc",
    "1 OR 1=1",
    "10**30",
    str(10**30),
    "-1",
    "0",
    "007",
    "1.0",
    " 1",
    "",
    "\N{FULLWIDTH DIGIT ONE}",
    str(MAX_PK + 1),
    "9" * 5000,
]


def post_export(client, export_items, url=EXPORT_URL):
    return client.post(url, {"format": "0", "resource": "0", "export_items": export_items})


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_export_item_is_a_form_error(admin_client, slack_app, value):
    kept = make_installation(slack_app, team_name="Kept")
    response = post_export(admin_client, [str(kept.pk), value])
    assert response.status_code == 200
    assert not response.has_header("Content-Disposition")
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert 'class="errorlist' in page


def test_an_id_of_no_row_is_a_form_error_even_at_the_bigint_limit(admin_client, slack_app):
    make_installation(slack_app)
    response = post_export(admin_client, [str(MAX_PK)])
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_selected_rows_are_exported_without_deprecation_warnings(admin_client, slack_app):
    first = make_installation(slack_app, team_name="First")
    second = make_installation(slack_app, team_name="Second")
    make_installation(slack_app, team_name="Third")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        content = export(admin_client, "json", export_items=[str(first.pk), str(second.pk)])
    assert sorted(row["team_name"] for row in rows_of("json", content)) == ["First", "Second"]


def test_a_selected_row_outside_the_changelist_filters_is_refused(admin_client, slack_app):
    live = make_installation(slack_app, team_name="Live")
    response = post_export(admin_client, [str(live.pk)], url=f"{EXPORT_URL}?status=revoked")
    assert response.status_code == 200
    assert not response.has_header("Content-Disposition")
    assert "Select a valid choice" in response.content.decode()


def test_more_selected_rows_than_the_limit_are_refused_with_a_message(
    admin_client, slack_app, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = None  # the host lifted Django's own limit
    make_installation(slack_app)
    items = [str(pk) for pk in range(1, InstallationAdmin.max_export_items + 2)]
    response = post_export(admin_client, items, url=f"{EXPORT_URL}?status=active")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?status=active"
    page = admin_client.get(response["Location"]).content.decode()
    assert f"Select at most {InstallationAdmin.max_export_items} rows to export" in page


def test_a_huge_list_over_djangos_field_limit_is_a_400_not_a_500(admin_client, slack_app):
    response = post_export(admin_client, [str(pk) for pk in range(1, 5001)])
    assert response.status_code == 400


def test_the_action_refuses_more_rows_than_the_limit(admin_client, slack_app, monkeypatch):
    monkeypatch.setattr(InstallationAdmin, "max_export_items", 2)
    pks = [str(make_installation(slack_app).pk) for _ in range(3)]
    refused = admin_client.post(
        CHANGELIST, {"action": "export_admin_action", "_selected_action": pks}, follow=True
    )
    assert refused.status_code == 200
    assert not refused.has_header("Content-Disposition")
    assert "Select at most 2 rows to export" in refused.content.decode()
    page = admin_client.post(
        CHANGELIST, {"action": "export_admin_action", "_selected_action": pks[:2]}
    )
    assert page.content.decode().count('name="export_items"') == 2
    content = body_of(post_export(admin_client, pks[:2]))
    assert len(rows_of("csv", content)) == 2


def test_sane_pks_keeps_plain_positive_bigints_only():
    assert sane_pks(["1", "42", str(MAX_PK)]) == [1, 42, MAX_PK]
    assert sane_pks(MALFORMED) == []
