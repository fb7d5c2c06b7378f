#!/usr/bin/env bash
# Run the whole suite on SQLite, then on PostgreSQL. Either leg failing fails the run.
# PostgreSQL being unreachable is loud; under CI=true it is a failure, never a silent skip.
set -uo pipefail

PG_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/slack_installs}"
status=0

echo "=== Test suite on SQLite ==="
DATABASE_URL="" python -m pytest "$@" || status=1

echo "=== Test suite on PostgreSQL ($PG_URL) ==="
if python scripts/pg_reachable.py "$PG_URL"; then
    DATABASE_URL="$PG_URL" python -m pytest "$@" || status=1
else
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! PostgreSQL is NOT reachable at $PG_URL"
    echo "!!! The PostgreSQL leg of the suite did NOT run."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    if [ "${CI:-}" = "true" ]; then
        echo "CI=true: an unreachable PostgreSQL fails the run."
        status=1
    fi
fi
exit $status
