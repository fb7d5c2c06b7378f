"""Exports: allowlisted columns, every format, permissions, formula escaping, streaming,
and never a token, decrypted or not."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from import_export import fields

from slack_installs import crypto
from slack_installs.models import Installation, OAuthAttempt
from slack_installs.resources import (
    FORMULA_TRIGGERS,
    InstallationResource,
    OAuthAttemptResource,
    escape_formula,
    escape_split_formulas,
)
from tests.installs import (
    assert_no_secret,
    make_installation,
    make_org_installation,
    staff_user,
)

CHANGELIST = "/admin/slack_installs/installation/"
EXPORT_URL = f"{CHANGELIST}export/"
FORMATS = {"csv": "0", "xlsx": "1", "json": "2"}
COLUMNS = [
    "id",
    "app",
    "team_id",
    "team_name",
    "enterprise_id",
    "enterprise_name",
    "enterprise_url",
    "is_enterprise_install",
    "bot_user_id",
    "bot_id",
    "bot_scopes",
    "installer_user_id",
    "incoming_webhook_channel",
    "installed_at",
    "updated_at",
    "revoked_at",
    "needs_reinstall_at",
    "has_bot_token",
    "has_user_token",
    "token_expires_at",
]


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def rows_of(fmt: str, content: bytes) -> list[dict]:
    """The exported file as a list of {column: cell} dicts, whatever the format."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    if fmt == "json":
        return json.loads(content)
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


def export(client, fmt: str, **extra) -> bytes:
    response = client.post(EXPORT_URL, {"format": FORMATS[fmt], "resource": "0", **extra})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return body_of(response)


@pytest.fixture
def no_decryption(monkeypatch):
    """Fail the test if anything decrypts a value."""

    def refuse(stored):
        raise AssertionError("an export decrypted a value")

    monkeypatch.setattr(crypto, "decrypt", refuse)


# --- Files of every format -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_has_the_allowlisted_columns_and_no_secret(
    admin_client, slack_app, fmt, no_decryption
):
    live = make_installation(slack_app, team_name="Live", team_id="T0LIVE")
    gone = make_installation(slack_app, team_name="Gone", user_token=False, bot_token=None)
    Installation.objects.filter(pk=gone.pk).update(revoked_at=timezone.now())
    content = export(admin_client, fmt)
    assert_no_secret(content.decode("utf-8", errors="replace"))
    rows = rows_of(fmt, content)
    assert list(rows[0]) == COLUMNS
    by_team = {row["team_name"]: row for row in rows}
    assert set(by_team) == {"Live", "Gone"}
    yes, no = ("1", "0") if fmt == "csv" else (True, False)
    assert by_team["Live"]["has_bot_token"] == yes
    assert by_team["Live"]["has_user_token"] == yes
    assert by_team["Gone"]["has_bot_token"] == no
    assert by_team["Gone"]["has_user_token"] == no
    assert by_team["Live"]["app"] == "acme"
    assert by_team["Live"]["team_id"] == "T0LIVE"
    assert str(by_team["Live"]["id"]) == str(live.pk)
    assert by_team["Gone"]["revoked_at"].startswith(str(timezone.now().year))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_has_the_org_url_of_an_org_wide_install(admin_client, slack_app, fmt):
    make_installation(slack_app, team_name="Workspace")
    make_org_installation(
        slack_app,
        team_name="Org",
        enterprise_url="https://grid-org.enterprise.slack.com/",
        custom_values={"plan": "canary-custom-value"},
    )
    content = export(admin_client, fmt)
    rows = {row["team_name"]: row for row in rows_of(fmt, content)}
    assert rows["Org"]["enterprise_url"] == "https://grid-org.enterprise.slack.com/"
    assert rows["Workspace"]["enterprise_url"] in ("", None)
    cells = [str(cell) for row in rows.values() for cell in row.values()]
    assert not any("canary-custom-value" in cell for cell in cells)  # custom values stay out


def test_xlsx_is_a_real_workbook(admin_client, slack_app):
    make_installation(slack_app)
    content = export(admin_client, "xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.active.title == "installations"
    assert workbook.active.max_row == 2


def test_csv_and_json_are_streamed(admin_client, slack_app):
    make_installation(slack_app)
    for fmt in ("csv", "json"):
        response = admin_client.post(EXPORT_URL, {"format": FORMATS[fmt], "resource": "0"})
        assert response.streaming, fmt


def test_export_follows_the_changelist_filters(admin_client, slack_app):
    make_installation(slack_app, team_name="Live")
    make_installation(slack_app, team_name="Gone", revoked_at=timezone.now())
    response = admin_client.post(f"{EXPORT_URL}?status=revoked", {"format": "0", "resource": "0"})
    assert [row["team_name"] for row in rows_of("csv", body_of(response))] == ["Gone"]


def test_export_action_exports_the_selected_rows(admin_client, slack_app):
    first = make_installation(slack_app, team_name="First")
    make_installation(slack_app, team_name="Second")
    page = admin_client.post(
        CHANGELIST, {"action": "export_admin_action", "_selected_action": [str(first.pk)]}
    )
    assert page.status_code == 200
    assert 'name="export_items"' in page.content.decode()
    content = export(admin_client, "json", export_items=[str(first.pk)])
    assert [row["team_name"] for row in rows_of("json", content)] == ["First"]


def test_the_export_page_offers_csv_xlsx_and_json(admin_client, slack_app):
    html = admin_client.get(EXPORT_URL).content.decode()
    for title in ("csv", "xlsx", "json"):
        assert f">{title}</option>" in html
    assert ">yaml</option>" not in html and ">html</option>" not in html


def test_no_import_page(db):
    with pytest.raises(NoReverseMatch):
        reverse("admin:slack_installs_installation_import")
    with pytest.raises(NoReverseMatch):
        reverse("admin:slack_installs_oauthattempt_import")


def test_attempts_export(admin_client, slack_app):
    now = timezone.now()
    OAuthAttempt.objects.create(
        app=slack_app,
        state_digest="d" * 64,
        expires_at=now,
        status="failed",
        error="=HYPERLINK(evil)",
        response={"ok": True, "access_token": "xoxb-canary-bot-1111-aaaabbbbcccc"},
    )
    response = admin_client.post(
        "/admin/slack_installs/oauthattempt/export/", {"format": "0", "resource": "0"}
    )
    content = body_of(response)
    assert_no_secret(content.decode())
    rows = rows_of("csv", content)
    assert list(rows[0]) == [
        "id",
        "app",
        "status",
        "error",
        "team",
        "created_at",
        "expires_at",
        "finished_at",
        "installation",
        "user",
    ]
    assert rows[0]["error"] == "'=HYPERLINK(evil)"
    assert "d" * 64 not in content.decode()


# --- Permission ------------------------------------------------------------------------


def test_staff_without_export_permission_gets_no_export(client, slack_app):
    make_installation(slack_app)
    client.force_login(staff_user("viewer", "view_installation", "change_installation"))
    changelist = client.get(CHANGELIST)
    assert changelist.status_code == 200
    assert 'class="export_link"' not in changelist.content.decode()
    assert "export_admin_action" not in changelist.content.decode()
    assert client.get(EXPORT_URL).status_code == 403
    assert client.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 403
    action = client.post(
        CHANGELIST, {"action": "export_admin_action", "_selected_action": ["1"]}, follow=True
    )
    assert not action.get("Content-Disposition")
    assert (
        client.post(
            "/admin/slack_installs/oauthattempt/export/", {"format": "0", "resource": "0"}
        ).status_code
        == 403
    )


def test_staff_with_export_permission_can_export(client, slack_app):
    make_installation(slack_app, team_name="Live")
    client.force_login(staff_user("exporter", "view_installation", "export_installation"))
    assert 'class="export_link"' in client.get(CHANGELIST).content.decode()
    assert [row["team_name"] for row in rows_of("csv", export(client, "csv"))] == ["Live"]


def test_export_permission_code_setting_is_honoured(client, slack_app, settings):
    settings.IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
    client.force_login(staff_user("viewer", "view_installation"))
    assert client.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 200


# --- Formula injection -----------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_formula_cells_are_escaped(admin_client, slack_app, trigger, fmt):
    payload = f"{trigger}cmd|' /C calc'!A0"
    make_installation(slack_app, team_name=payload, enterprise_name=f"{trigger}SUM(1+1)")
    rows = rows_of(fmt, export(admin_client, fmt))
    # XML (inside XLSX) reads a carriage return back as a line feed.
    same = (lambda text: text.replace("\r", "\n")) if fmt == "xlsx" else (lambda text: text)
    assert rows[0]["team_name"] == same("'" + payload)
    assert rows[0]["enterprise_name"] == same(f"'{trigger}SUM(1+1)")
    for row in rows:
        for value in row.values():
            if isinstance(value, str) and value:
                assert value[0] not in FORMULA_TRIGGERS, (fmt, value)


def test_every_csv_cell_is_quoted(admin_client, slack_app):
    installation = make_installation(slack_app, team_name="Acme;=1+1;", enterprise_name="")
    header, line = export(admin_client, "csv").decode("utf-8").splitlines()
    assert header == ",".join(f'"{column}"' for column in COLUMNS)
    cells = line.split('","')
    assert len(cells) == len(COLUMNS)
    assert line.startswith(f'"{installation.pk}","acme","T')
    assert line.endswith('"')
    assert f'"{installation.team_id}","Acme;\'=1+1;",' in line
    assert ',"",' in line  # an empty cell is quoted too


@pytest.mark.parametrize("separator", [";", ",", "\t", "\n"])
def test_a_formula_after_a_list_separator_is_escaped_in_csv(admin_client, slack_app, separator):
    """A spreadsheet reading the CSV with ``;`` (or tabs) as its separator splits cells there,
    inside quotes or not; the piece after the split must not start with a formula."""
    name = f"Acme{separator}=1+1{separator}"
    make_installation(slack_app, team_name=name, enterprise_name=f"Org{separator}@SUM(A1)")
    content = export(admin_client, "csv")
    text = content.decode("utf-8")
    for delimiter in (";", ",", "\t"):
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            for cell in row:
                piece = cell.lstrip('"')
                assert piece[:1] not in FORMULA_TRIGGERS, (delimiter, cell)
    [row] = rows_of("csv", content)
    assert row["team_name"] == f"Acme{separator}'=1+1{separator}"
    assert row["enterprise_name"] == f"Org{separator}'@SUM(A1)"
    # JSON and XLSX have no separators to split at: their cells stay as they were.
    assert rows_of("json", export(admin_client, "json"))[0]["team_name"] == name
    assert rows_of("xlsx", export(admin_client, "xlsx"))[0]["team_name"] == name


def test_escape_split_formulas():
    assert escape_split_formulas("Acme;=1+1;") == "Acme;'=1+1;"
    assert escape_split_formulas("a,-1\t+2\r\n@3") == "a,'-1\t'+2\r\n'@3"
    assert escape_split_formulas("chat:write,commands") == "chat:write,commands"
    assert escape_split_formulas("a; =b") == "a; =b"  # a space first: text, not a formula
    assert escape_split_formulas("=at the start") == "=at the start"  # escape_formula's job


def test_columns_of_other_widgets_are_escaped_too(slack_app):
    class PlainWidgetResource(InstallationResource):
        team_name = fields.Field(attribute="team_name", column_name="team_name")  # Widget()

    make_installation(slack_app, team_name="@SUM(A1)")
    for native in (False, True):
        row = next(PlainWidgetResource().iter_export_rows(native=native))
        assert row[COLUMNS.index("team_name")] == "'@SUM(A1)"


def test_escape_formula_leaves_safe_values_alone():
    assert escape_formula("Acme") == "Acme"
    assert escape_formula("") == ""
    assert escape_formula(None) is None
    assert escape_formula(-1) == -1
    assert escape_formula("a=b") == "a=b"


# --- The resource itself ---------------------------------------------------------------


def test_resource_export_builds_a_dataset_without_decrypting(slack_app, no_decryption):
    make_installation(slack_app, team_name="=1+1")
    dataset = InstallationResource().export(Installation.objects.all())
    assert dataset.headers == COLUMNS
    assert dataset.dict[0]["team_name"] == "'=1+1"
    assert_no_secret(dataset.csv)


def test_resource_streams_many_rows_in_chunks(slack_app, no_decryption):
    for _ in range(1203):
        Installation.objects.create(app=slack_app, team_id=f"T{_:05d}", team_name=f"W{_}")
    resource = InstallationResource()
    chunks = list(resource.stream_csv(Installation.objects.all()))
    assert len(chunks) == 3
    rows = rows_of("csv", b"".join(chunks))
    assert len(rows) == 1203
    parsed = json.loads(b"".join(resource.stream_json(Installation.objects.all())))
    assert len(parsed) == 1203 and parsed[0]["has_bot_token"] is False


def test_empty_exports_are_valid(db):
    resource = InstallationResource()
    assert json.loads(b"".join(resource.stream_json(Installation.objects.none()))) == []
    empty = b"".join(resource.stream_csv(Installation.objects.none())).decode()
    assert empty.startswith('"id","app",')


def test_resource_export_costs_one_query(slack_app, django_assert_num_queries, no_decryption):
    for _ in range(20):
        make_installation(slack_app)
    with django_assert_num_queries(1):
        list(InstallationResource().iter_export_rows(Installation.objects.all()))


def test_an_encrypted_field_can_never_be_exported(db):
    class LeakyResource(InstallationResource):
        bot_token = fields.Field(attribute="bot_token", column_name="bot_token")

        class Meta(InstallationResource.Meta):
            fields = (*InstallationResource.Meta.fields, "bot_token")
            export_order = fields

    with pytest.raises(ImproperlyConfigured, match="bot_token"):
        list(LeakyResource().iter_export_rows(Installation.objects.all()))


def test_resources_are_export_only(db):
    with pytest.raises(NotImplementedError):
        InstallationResource().import_data(None)
    with pytest.raises(NotImplementedError):
        OAuthAttemptResource().import_data(None)


# --- dumpdata --------------------------------------------------------------------------


def test_dumpdata_holds_ciphertext_only(slack_app):
    make_installation(slack_app)
    out = io.StringIO()
    call_command("dumpdata", "slack_installs", stdout=out)
    text = out.getvalue()
    for canary in (
        "canary-client-secret-5555",
        "canary-signing-secret-6666",
        "xoxb-canary-bot-1111-aaaabbbbcccc",
        "xoxp-canary-user-2222-ddddeeeeffff",
        "canary-bot-refresh",
        "canarywebhooksecret",
    ):
        assert canary not in text
    assert '"bot_token": "f1:k1:gAAAAA' in text
