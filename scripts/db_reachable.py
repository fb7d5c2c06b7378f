"""Exit 0 when the server of a DATABASE_URL (postgres:// or mysql://) accepts connections.

Exit 1 when it does not, 2 when this Python has no driver for it (psycopg, mysqlclient);
the reason goes to stderr.
"""

from __future__ import annotations

import sys
from urllib.parse import unquote, urlsplit

DRIVER_MISSING = 2


def reachable(url: str) -> str:
    """``""`` when the server answers, else why not. Raises ImportError without a driver."""
    parts = urlsplit(url)
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if parts.scheme in {"postgres", "postgresql"}:
        import psycopg

        try:
            psycopg.connect(
                host=parts.hostname,
                port=parts.port or 5432,
                user=user or "postgres",
                password=password or None,
                dbname="postgres",
                connect_timeout=5,
            ).close()
        except psycopg.Error as exc:
            return f"PostgreSQL unreachable: {exc}"
        return ""
    if parts.scheme in {"mysql", "mariadb"}:
        import MySQLdb

        try:
            MySQLdb.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=user or "root",
                password=password,
                connect_timeout=5,
            ).close()
        except MySQLdb.Error as exc:
            return f"MariaDB/MySQL unreachable: {exc}"
        return ""
    return f"not a server URL: {url}"


def main() -> int:
    try:
        problem = reachable(sys.argv[1])
    except ImportError as exc:
        print(f"no driver: {exc}", file=sys.stderr)
        return DRIVER_MISSING
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
