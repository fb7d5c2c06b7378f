"""A paginator for admin changelists of large tables: an estimated count on PostgreSQL.

The admin's changelist counts its rows for the paginator. ``SELECT COUNT(*)`` reads
every matching row (PostgreSQL keeps no row count): at a million installations that is
the slowest query of the page, and it grows with the table while the page shown does
not. On PostgreSQL this paginator asks the planner instead — ``pg_class.reltuples`` for
a whole table, the row estimate of ``EXPLAIN`` for a filtered or searched one — and
counts for real only when the estimate is small (below ``EXACT_BELOW``), where counting
costs nothing and an exact figure reads better. Other databases always count.

An estimate is off by a few percent (it is as fresh as the last ``ANALYZE``, which
autovacuum runs as rows change): the page count is approximate, so the last page may
come out short or empty. ``bench/admin_scale.py`` measures what it saves.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet

# Below this many rows (as estimated) the paginator counts: cheap, and exact.
EXACT_BELOW = 20_000


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of how many rows ``queryset`` returns; None when the
    database is not PostgreSQL or gives no estimate."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    query = queryset.query
    whole_table = (
        not query.where
        and not query.distinct
        and not query.group_by
        and not query.combinator
        and query.low_mark == 0
        and query.high_mark is None
    )
    with connection.cursor() as cursor:
        if whole_table:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
            # -1 (or 0 before PostgreSQL 14): never analysed; EXPLAIN estimates from its size.
            if row is not None and row[0] is not None and row[0] > 0:
                return int(row[0])
        try:
            sql, params = queryset.order_by().select_related(None).query.sql_with_params()
        except EmptyResultSet:  # .none(), or a filter on an empty list
            return 0
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan: Any = cursor.fetchone()[0]
    if isinstance(plan, str):  # json, not jsonb: some drivers hand it over as text
        plan = json.loads(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (LookupError, TypeError, ValueError):
        return None


class EstimatedCountPaginator(Paginator):
    """A ``Paginator`` whose count is the planner's estimate on PostgreSQL once it
    reaches ``EXACT_BELOW`` rows, and a real count otherwise.

    ``is_estimate`` tells which the count is. For ``ModelAdmin.paginator``, together with
    ``show_full_result_count = False`` (else the changelist counts the whole table too).
    """

    is_estimate = False

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = estimated_count(self.object_list)
            if estimate is not None and estimate >= EXACT_BELOW:
                self.is_estimate = True
                return estimate
        return super().count
