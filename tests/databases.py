"""What the test database can do, for the tests that need more than SQLite offers."""

from __future__ import annotations

import pytest
from django.db import connection

# A backend constant, read without connecting: True on PostgreSQL and MariaDB/MySQL.
HAS_ROW_LOCKS = connection.features.has_select_for_update

ROW_LOCKS_REASON = (
    "needs row locks (SELECT ... FOR UPDATE) and concurrent writers, which SQLite lacks: "
    "run with DATABASE_URL=postgres://... or mysql://..."
)

needs_row_locks = pytest.mark.skipif(not HAS_ROW_LOCKS, reason=ROW_LOCKS_REASON)
