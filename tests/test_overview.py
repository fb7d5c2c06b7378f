"""The admin's overview (``admin:slack_installs_overview``): who may see it, the numbers and
the changelists they link to, the SVG charts, the weekly buckets, and a query count that
does not grow with the rows or the apps."""

from __future__ import annotations

import datetime
import html
import itertools
import re
import zoneinfo

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from slack_installs import crypto
from slack_installs.admin_overview import WEEKS, build_overview
from slack_installs.models import (
    Installation,
    InstallationEvent,
    InstallationEventCount,
    OAuthAttempt,
    SlackApp,
)
from tests.installs import assert_no_secret, make_installation, staff_user

URL = "/admin/slack_installs/overview/"
_digests = itertools.count(1)


def attempt(app: SlackApp, status: str, error: str = "", *, days_ago: float = 1, **fields):
    created = timezone.now() - datetime.timedelta(days=days_ago)
    return OAuthAttempt.objects.create(
        app=app,
        status=status,
        error=error,
        state_digest=f"{next(_digests):064d}",
        created_at=created,
        expires_at=created + datetime.timedelta(minutes=10),
        **fields,
    )


def event(installation: Installation, kind: str, at: datetime.datetime) -> InstallationEvent:
    return InstallationEvent.record(installation, kind, at=at)


@pytest.fixture
def scene(slack_app):
    """Two apps: installs in every state, a history of events and a month of attempts."""
    now = timezone.now()
    other = SlackApp.objects.create(name="Other Bot", slug="other", client_id="333.444")
    plain = make_installation(slack_app)
    make_installation(slack_app, needs_reinstall_at=now)
    make_installation(slack_app, scopes_missing=True)
    make_installation(slack_app, bot_token_expires_at=now + datetime.timedelta(minutes=30))
    # Revoked: counted nowhere, though its flags say re-install and scopes missing.
    make_installation(slack_app, revoked_at=now, needs_reinstall_at=now, scopes_missing=True)
    make_installation(other)
    for days in (0, 1, 8):
        event(plain, "installed", now - datetime.timedelta(days=days))
    event(plain, "reinstalled", now)
    event(plain, "uninstalled", now - datetime.timedelta(days=8))
    event(plain, "revoked", now - datetime.timedelta(weeks=WEEKS + 1))  # too old to show
    for status, error in [
        ("succeeded", ""),
        ("succeeded", ""),
        ("failed", "invalid_code"),
        ("failed", "invalid_code"),
        ("failed", "bad_redirect_uri"),
        ("denied", "access_denied"),
        ("pending", ""),
    ]:
        attempt(slack_app, status, error)
    attempt(slack_app, "failed", "invalid_code", days_ago=31)  # too old to count
    attempt(slack_app, "failed", "invalid_code", kind=OAuthAttempt.Kind.SIGN_IN)  # no install
    attempt(other, "failed", "invalid_code")
    return slack_app, other


def section_of(page: str, app: SlackApp) -> str:
    sections = page.split('<section class="module slack-overview-app"')
    [section] = [part for part in sections if f">{app.name}</h2>" in part]
    return section


def figures_of(section: str) -> dict[str, tuple[int, str]]:
    found = re.findall(r"<dt>([^<]+)</dt>\s*<dd><a href=\"([^\"]+)\">(\d+)</a></dd>", section)
    return {label: (int(value), html.unescape(url)) for label, url, value in found}


def rows_listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.context["cl"].result_count


# --- Who may see it ----------------------------------------------------------------------


def test_the_url_name(db):
    assert reverse("admin:slack_installs_overview") == URL


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_staff_without_the_view_permission_is_refused(client, db):
    client.force_login(staff_user("apps-only", "view_slackapp"))
    assert client.get(URL).status_code == 403
    assert URL not in client.get("/admin/").content.decode()


def test_staff_who_may_view_installations_see_it_and_its_entry_in_the_app_list(client, scene):
    client.force_login(staff_user("viewer", "view_installation"))
    response = client.get(URL)
    assert response.status_code == 200
    assert "Acme Bot" in response.content.decode()
    index = client.get("/admin/").content.decode()
    assert f'<a href="{URL}"' in index and ">Overview<" in index
    # The weekly numbers link to the history, which they may see too; nothing may change it.
    assert client.get("/admin/slack_installs/installationevent/").status_code == 200


def test_the_page_shows_no_secret_and_decrypts_nothing(admin_client, scene, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the overview decrypted a value")

    monkeypatch.setattr(crypto, "decrypt", refuse)
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert_no_secret(response.content.decode())


# --- The numbers and their links -----------------------------------------------------------


def test_each_number_links_to_a_changelist_of_that_many_rows(admin_client, scene):
    app, other = scene
    page = admin_client.get(URL).content.decode()
    figures = figures_of(section_of(page, app))
    assert {label: value for label, (value, _) in figures.items()} == {
        "Active installs": 4,
        "Tokens due for refresh": 1,
        "Needing a re-install": 1,
        "Missing scopes": 1,
    }
    for value, url in figures.values():
        assert rows_listed(admin_client, url) == value, url
    assert figures_of(section_of(page, other))["Active installs"][0] == 1


def test_the_attempts_by_outcome_and_error_link_to_those_attempts(admin_client, scene):
    app, _ = scene
    section = section_of(admin_client.get(URL).content.decode(), app)
    table = section.split('<table class="slack-overview-table">')[1]
    rows = re.findall(r"<th scope=\"row\">([^<]+)</th><td><a href=\"([^\"]+)\">(\d+)</a>", table)
    listed = {label: int(value) for label, _, value in rows}
    assert listed == {
        "succeeded": 2,
        "failed: invalid_code": 2,
        "failed: bad_redirect_uri": 1,
        "denied: access_denied": 1,
        "pending": 1,
    }
    for label, url, value in rows:
        assert rows_listed(admin_client, html.unescape(url)) == int(value), label
    outcomes = re.findall(r"(\w+): <a href=\"([^\"]+)\">(\d+)</a></span>", section)
    assert {label: int(value) for label, _, value in outcomes} == {
        "succeeded": 2,
        "failed": 3,
        "denied": 1,
        "pending": 1,
    }
    for _, url, value in outcomes:
        assert rows_listed(admin_client, html.unescape(url)) == int(value)


def test_the_weekly_numbers_link_to_those_events(admin_client, scene):
    app, _ = scene
    section = section_of(admin_client.get(URL).content.decode(), app)
    table = section.split("<details")[1].split("</details>")[0]
    links = re.findall(r"<td><a href=\"([^\"]+)\">(\d+)</a></td>", table)
    assert sum(int(value) for _, value in links) == 5  # the event too old to show is left out
    for url, value in links:
        assert rows_listed(admin_client, html.unescape(url)) == int(value)


# --- The charts -------------------------------------------------------------------------


def test_the_charts_are_svg_bars_with_titles_and_labels(admin_client, scene):
    app, _ = scene
    section = section_of(admin_client.get(URL).content.decode(), app)
    weeks, attempts = re.findall(r"<svg .*?</svg>", section, flags=re.DOTALL)
    bars = re.findall(
        r"<rect class=\"slack-overview-bar ([\w-]+)\"[^>]*><title>([^<]+)</title>", weeks
    )
    titles = sorted(title for _, title in bars)
    week_of = re.compile(r"^Week of \d{1,2} \w{3} \d{4}: (\d+) (installs?|uninstalls?)$")
    assert all(week_of.match(title) for title in titles), titles
    # This week: 2 installs (one of them a re-install) and last week's events, counted apart
    # or together depending on today's weekday.
    assert sum(int(week_of.match(t).group(1)) for t in titles if "uninstall" not in t) == 4
    assert sum(int(week_of.match(t).group(1)) for t in titles if "uninstall" in t) == 1
    assert {css for css, _ in bars} == {
        "slack-overview-bar-installs",
        "slack-overview-bar-uninstalls",
    }
    assert 'role="img"' in weeks and "<desc " in weeks and "<title " in weeks
    assert "4 installs (re-installs included)" in weeks
    assert len(re.findall(r"<text class=\"slack-overview-tick\"", weeks)) == 7  # every 4th week
    assert re.findall(r"<text class=\"slack-overview-label\"[^>]*>([^<]+)</text>", attempts) == [
        "failed: invalid_code",
        "succeeded",
        "denied: access_denied",
        "failed: bad_redirect_uri",
        "pending",
    ]
    attempt_titles = re.findall(r"<rect [^>]*><title>([^<]+)</title>", attempts)
    assert attempt_titles[0] == "failed: invalid_code: 2 attempts"
    assert "style=" not in section and "<script" not in section  # CSP: classes only


def test_an_app_without_history_gets_an_empty_chart_and_no_bars(admin_client, slack_app):
    section = section_of(admin_client.get(URL).content.decode(), slack_app)
    assert "<rect" not in section
    assert "No install attempt in the last 30 days." in section
    assert figures_of(section)["Active installs"][0] == 0


# --- Weekly buckets ----------------------------------------------------------------------


def test_events_fall_into_the_weeks_they_happened_in(slack_app):
    now = datetime.datetime(2025, 3, 12, 12, 0, tzinfo=datetime.UTC)  # a Wednesday
    monday = datetime.datetime(2025, 3, 10, tzinfo=datetime.UTC)
    first = monday - datetime.timedelta(weeks=WEEKS - 1)
    installation = make_installation(slack_app)
    second = datetime.timedelta(seconds=1)
    event(installation, "installed", monday)  # the first instant of this week
    event(installation, "reinstalled", now)
    event(installation, "uninstalled", monday - second)  # the last of the week before
    event(installation, "revoked", first)  # the first instant shown
    event(installation, "installed", first - second)  # just too old
    event(installation, "installed", now + datetime.timedelta(days=30))  # the future: not shown

    [entry] = build_overview(now=now).apps
    assert len(entry.weeks) == WEEKS
    assert entry.weeks[0].start == first.date() and entry.weeks[-1].start == monday.date()
    this_week, week_before = entry.weeks[-1], entry.weeks[-2]
    assert {kind: f.value for kind, f in this_week.counts.items()} == {
        "installed": 1,
        "reinstalled": 1,
        "uninstalled": 0,
        "revoked": 0,
    }
    assert (this_week.installs.value, this_week.uninstalls.value) == (2, 0)
    assert (week_before.installs.value, week_before.uninstalls.value) == (0, 1)
    assert (entry.weeks[0].installs.value, entry.weeks[0].uninstalls.value) == (0, 1)
    assert sum(week.installs.value for week in entry.weeks[1:-1]) == 0
    assert (entry.installs_total, entry.uninstalls_total) == (2, 2)


def test_weeks_are_the_site_time_zones_from_monday(slack_app, settings):
    """Events are counted in the week of the site's TIME_ZONE when they happen, whatever the
    time zone of the request that reads the chart later."""
    settings.TIME_ZONE = "Asia/Tokyo"
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    now = datetime.datetime(2025, 3, 12, 12, 0, tzinfo=tokyo)
    installation = make_installation(slack_app)
    # Sunday 20:00 UTC is Monday 05:00 in Tokyo: that week there, the week before in UTC.
    event(installation, "installed", datetime.datetime(2025, 3, 9, 20, 0, tzinfo=datetime.UTC))
    assert InstallationEventCount.objects.get().week == datetime.date(2025, 3, 10)
    for zone in (tokyo, datetime.UTC):
        with timezone.override(zone):
            [entry] = build_overview(now=now).apps
        assert entry.weeks[-1].start == datetime.date(2025, 3, 10)
        assert (entry.weeks[-1].installs.value, entry.weeks[-2].installs.value) == (1, 0)
        # The bar's link lists that event: its week's bounds are Tokyo's midnights.
        assert "at__gte=2025-03-10T00%3A00%3A00%2B09%3A00" in entry.weeks[-1].installs.url


def test_the_weekly_counts_are_kept_as_events_happen(slack_app):
    installation = make_installation(slack_app)
    monday = datetime.datetime(2025, 3, 10, 9, 0, tzinfo=datetime.UTC)
    for days in (0, 1, 6):
        event(installation, "installed", monday + datetime.timedelta(days=days))
    event(installation, "revoked", monday + datetime.timedelta(days=7))
    assert sorted(InstallationEventCount.objects.values_list("week", "kind", "count")) == [
        (datetime.date(2025, 3, 10), "installed", 3),
        (datetime.date(2025, 3, 17), "revoked", 1),
    ]


# --- Queries -----------------------------------------------------------------------------


def _our_queries(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in context.captured_queries if "slack_installs_" in query["sql"]]


def test_the_queries_do_not_grow_with_installations_events_attempts_or_apps(admin_client, scene):
    admin_client.get(URL)  # the session and the user, read once before counting
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(URL).status_code == 200
    now = timezone.now()
    for number in range(4):
        app = SlackApp.objects.create(name=f"More {number}", slug=f"more-{number}")
        for _ in range(5):
            row = make_installation(app, bot_token_expires_at=now, scopes_missing=True)
            event(row, "installed", now - datetime.timedelta(weeks=number))
            event(row, "uninstalled", now)
            attempt(app, "failed", f"error_{number}")
            attempt(app, "succeeded")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert response.status_code == 200
    assert (
        len(re.findall(r"<section class=\"module slack-overview-app\"", response.content.decode()))
        == 6
    )
    assert len(many.captured_queries) == len(few.captured_queries)
    # Five aggregates: apps, installation counts, due tokens, events per week, attempts.
    assert len(_our_queries(many)) == 7, _our_queries(many)


def test_build_overview_is_seven_queries(django_assert_num_queries, scene):
    with django_assert_num_queries(7):
        data = build_overview()
    assert [entry.app.slug for entry in data.apps] == ["acme", "other"]


# --- The history's admin -------------------------------------------------------------------


def test_the_history_is_read_only(admin_client, scene):
    app, _ = scene
    row = InstallationEvent.objects.filter(app=app).first()
    change = f"/admin/slack_installs/installationevent/{row.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200 and "deletelink" not in page.content.decode()
    assert admin_client.post(change, {"kind": "revoked"}).status_code == 403
    assert admin_client.get("/admin/slack_installs/installationevent/add/").status_code == 403
    delete = f"/admin/slack_installs/installationevent/{row.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert InstallationEvent.objects.get(pk=row.pk).kind == row.kind


def test_deleting_an_app_takes_its_history_along(admin_client, scene):
    app, other = scene
    response = admin_client.post(
        f"/admin/slack_installs/slackapp/{app.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not SlackApp.objects.filter(pk=app.pk).exists()
    assert not InstallationEvent.objects.filter(app_id=app.pk).exists()


# --- Indexes -----------------------------------------------------------------------------

PARTIAL_INDEXES = {
    "slack_installs_active_idx",
    "slack_installs_act_reinst_idx",
    "slack_installs_act_scopes_idx",
    "slack_installs_due_idx",
}


def test_the_partial_indexes_exist_where_the_database_has_them(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Installation._meta.db_table)
    names = {name for name, details in constraints.items() if details["index"]}
    expected = PARTIAL_INDEXES if connection.features.supports_partial_indexes else set()
    assert names & PARTIAL_INDEXES == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_postgresql_counts_the_active_installs_from_their_partial_index(scene):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a few rows: make the planner show it
        try:
            rows = Installation.objects.filter(revoked_at__isnull=True)
            grouped = rows.order_by().values("app_id").annotate(n=Count("*"))
            sql, params = grouped.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("SET enable_seqscan = on")
    # (The due tokens' index shows at scale: bench/admin_scale.py, docs/benchmarks.md.)
    assert "slack_installs_active_idx" in plan
