"""The installation admin at scale: queries that do not grow with the rows, the estimated
count, the prefix search and its indexes, nothing decrypted (bench/admin_scale.py times it)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from slack_installs import admin_paginator, crypto
from slack_installs.admin_paginator import EstimatedCountPaginator, estimated_count
from slack_installs.models import Installation, SlackApp
from tests.installs import assert_no_secret, make_installation

CHANGELIST = "/admin/slack_installs/installation/"
SEARCH_INDEXES = {
    "slack_installs_team_name_pfx",
    "slack_installs_team_id_pfx",
    "slack_installs_ent_name_pfx",
    "slack_installs_ent_id_pfx",
}


@pytest.fixture
def other_app(db):
    return SlackApp.objects.create(
        name="Other", slug="other", client_id="999.1", client_secret="canary-client-secret-5555"
    )


def add_rows(apps: list[SlackApp], count: int) -> None:
    """``count`` installations of which some match every filter's every choice."""
    now = timezone.now()
    first = Installation.objects.count()
    for index in range(first, first + count):
        org_wide = index % 9 == 4
        make_installation(
            apps[index % len(apps)],
            user_token=False,
            team_name="" if org_wide else f"Northwind {index}",
            team_id="" if org_wide else f"T9{index:06d}",
            enterprise_id=f"E9{index:06d}" if index % 4 == 0 or org_wide else "",
            enterprise_name="Northwind Group" if index % 4 == 0 or org_wide else "",
            is_enterprise_install=org_wide,
            revoked_at=now if index % 5 == 1 else None,
            needs_reinstall_at=now if index % 7 == 2 else None,
            scopes_missing=index % 3 == 0,
        )


def filter_queries(app: SlackApp) -> list[str]:
    return [
        "",
        "q=Northwind",
        "q=northwind 1",
        "q=T9000",
        f"app__id__exact={app.pk}",
        "status=active",
        "status=revoked",
        "kind=enterprise",
        "kind=workspace",
        "is_enterprise_install__exact=1",
        "is_enterprise_install__exact=0",
        "needs_reinstall=yes",
        "needs_reinstall=no",
        "scopes=missing",
        "scopes=up_to_date",
        "status=active&scopes=missing&q=North",
    ]


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_changelist_queries_do_not_grow_with_rows(admin_client, slack_app, other_app):
    add_rows([slack_app, other_app], 5)
    urls = [f"{CHANGELIST}?{query}" for query in filter_queries(other_app)]
    few = {url: len(queries_of(admin_client, url)) for url in urls}
    add_rows([slack_app, other_app], 55)
    assert Installation.objects.count() == 60
    many = {url: len(queries_of(admin_client, url)) for url in urls}
    assert many == few
    # The filters and searches do narrow the list (the counts above are of real pages).
    response = admin_client.get(CHANGELIST, {"status": "revoked"})
    assert response.context["cl"].result_count == 12


def test_changelist_counts_only_what_it_shows(admin_client, slack_app):
    add_rows([slack_app], 10)
    counts = [
        sql for sql in queries_of(admin_client, f"{CHANGELIST}?status=revoked") if "COUNT(" in sql
    ]
    # One count, of the filtered rows: no COUNT(*) of the whole table beside it
    # (show_full_result_count = False), so the page says "2 installations", not "(10 total)".
    assert len(counts) == 1 and "revoked_at" in counts[0]
    response = admin_client.get(CHANGELIST, {"status": "revoked"})
    assert response.context["cl"].result_count == 2
    assert "10 total" not in response.content.decode()


def test_the_changelist_decrypts_nothing(admin_client, slack_app, monkeypatch):
    add_rows([slack_app], 12)
    decrypted: list[str] = []
    real = crypto.decrypt

    def counting(stored: str) -> str:
        decrypted.append(stored)
        return real(stored)

    monkeypatch.setattr(crypto, "decrypt", counting)
    for query in filter_queries(slack_app):
        response = admin_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        assert_no_secret(response.content.decode())
    assert decrypted == []
    # The counter works: the detail page shows a token's tail, which needs it decrypted.
    installation = Installation.objects.filter(revoked_at__isnull=True).first()
    assert admin_client.get(f"{CHANGELIST}{installation.pk}/change/").status_code == 200
    assert decrypted


# --- Search: one prefix ---------------------------------------------------------------


@pytest.fixture
def named(slack_app):
    make_installation(slack_app, user_token=False, team_name="Acme Corporation", team_id="T0ACME1")
    make_installation(slack_app, user_token=False, team_name="The Acme Company", team_id="T0THE2")
    make_installation(
        slack_app,
        user_token=False,
        team_name="",
        team_id="",
        enterprise_id="E0GRID9",
        enterprise_name="Grid Inc",
        is_enterprise_install=True,
    )


def found(client, term: str) -> set[str]:
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return {str(row) for row in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("acme", {"Acme Corporation"}),
        ("ACME CORP", {"Acme Corporation"}),  # the whole term, spaces and all, one prefix
        ("  acme corp  ", {"Acme Corporation"}),
        ("the acme", {"The Acme Company"}),
        ("T0ACM", {"Acme Corporation"}),  # a team id's start
        ("t0the2", {"The Acme Company"}),
        ("E0GR", {"Grid Inc (org-wide)"}),  # an org's id or name
        ("grid", {"Grid Inc (org-wide)"}),
        ("corporation", set()),  # inside a name: not a prefix, not found
        ("Acme Company", set()),
        ("ACME1", set()),
        ('acme "corp', set()),
        ("acme\\", set()),
    ],
)
def test_search_is_by_prefix(admin_client, named, term, expected):
    assert found(admin_client, term) == expected


def test_an_empty_search_lists_everything(admin_client, named):
    assert len(found(admin_client, "   ")) == 3


def test_search_indexes_exist_for_this_database(db):
    with connection.cursor() as cursor:
        names = {
            name
            for constraint in connection.introspection.get_constraints(
                cursor, Installation._meta.db_table
            ).items()
            for name in [constraint[0]]
            if constraint[1]["index"]
        }
    expected = SEARCH_INDEXES if connection.vendor in ("postgresql", "mysql") else set()
    assert names & SEARCH_INDEXES == expected
    # The portable ones, for the ordering and the filters, everywhere.
    assert {"slack_installs_newest_idx", "slack_installs_app_newest_idx"} <= names


def test_postgresql_serves_the_prefix_search_from_its_index(admin_client, named):
    if connection.vendor != "postgresql":
        pytest.skip("the expression indexes are PostgreSQL's")
    page = [
        sql
        for sql in queries_of(admin_client, f"{CHANGELIST}?q=Acme+Corp")
        if sql.startswith("SELECT") and "LIKE" in sql and "ORDER BY" in sql
    ][0]
    with transaction.atomic(), connection.cursor() as cursor:
        # Three rows would be read whole; forbid that to see which index the planner can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "slack_installs_team_name_pfx" in plan
    assert "slack_installs_team_id_pfx" in plan


# --- The estimated count ----------------------------------------------------------------


def test_paginator_counts_for_real_on_small_tables(slack_app):
    add_rows([slack_app], 30)
    everything = Installation.objects.all()
    revoked = Installation.objects.filter(revoked_at__isnull=False)
    for queryset, expected in [(everything, 30), (revoked, 6), (everything.none(), 0)]:
        paginator = EstimatedCountPaginator(queryset.order_by("pk"), 10)
        assert paginator.count == expected
        assert paginator.is_estimate is False
    assert EstimatedCountPaginator(list(range(7)), 5).num_pages == 2  # a list still works


def test_paginator_estimates_on_postgresql_only(slack_app, monkeypatch):
    add_rows([slack_app], 30)
    monkeypatch.setattr(admin_paginator, "EXACT_BELOW", 0)  # as if the table were big
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Installation._meta.db_table)}")
    paginator = EstimatedCountPaginator(Installation.objects.order_by("-installed_at"), 10)
    revoked = EstimatedCountPaginator(
        Installation.objects.filter(revoked_at__isnull=False).select_related("app"), 10
    )
    with CaptureQueriesContext(connection) as captured:
        counts = paginator.count, revoked.count
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    if connection.vendor != "postgresql":
        assert estimated_count(Installation.objects.all()) is None
        assert counts == (30, 6) and not paginator.is_estimate and "COUNT(" in sql
        return
    assert "COUNT(" not in sql
    assert paginator.is_estimate and revoked.is_estimate
    assert counts[0] == 30  # pg_class.reltuples, exact after ANALYZE
    assert 1 <= counts[1] <= 15  # the planner's guess from the column's statistics


def test_the_changelist_pages_on_an_estimate(admin_client, slack_app, monkeypatch):
    add_rows([slack_app], 30)
    monkeypatch.setattr(admin_paginator, "EXACT_BELOW", 0)
    response = admin_client.get(CHANGELIST, {"p": "2"})
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count >= 1
    assert cl.paginator.is_estimate is (connection.vendor == "postgresql")
