#!/usr/bin/env bash
# Run the whole suite once per database leg: `test-databases.sh [sqlite] [postgres] [mysql]
# [-- pytest arguments]`, with the Python of $PYTHON (default: python on PATH).
#
#   sqlite    SQLite (DATABASE_URL unset)
#   postgres  PostgreSQL at $POSTGRES_URL (postgres://postgres@127.0.0.1:5432/slack_installs)
#   mysql     MariaDB/MySQL at $MYSQL_URL (mysql://root@127.0.0.1:3306/slack_installs)
#
# pytest-django creates and drops test_<name> on the server. Any leg failing fails the run.
# A server that is down, or a MariaDB driver (mysqlclient) that cannot be built, is loud and
# skips that leg; under CI=true it is a failure, never a silent skip.
# Each leg's result and time are printed at the end, and appended to $LEG_TIMES when set.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"
PG_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/slack_installs}"
MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/slack_installs}"

legs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    legs+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
[ ${#legs[@]} -gt 0 ] || legs=(sqlite postgres mysql)

label="$("$PYTHON" -c 'import django, sys; print(f"Django {django.__version__} / Python {sys.version.split()[0]}")')" || exit 1
status=0
summary=()

record() {  # record <database> <result> <seconds>
    local line
    line="$(printf '%-34s %-11s %-8s %5ss' "$label" "$1" "$2" "$3")"
    summary+=("$line")
    if [ -n "${LEG_TIMES:-}" ]; then
        echo "$line" >>"$LEG_TIMES"
    fi
}

loud() {  # loud <database> <line>...: a leg that did not run
    local name="$1"
    shift
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    for line in "$@"; do echo "!!! $line"; done
    echo "!!! The $name leg of the suite did NOT run."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    if [ "${CI:-}" = "true" ]; then
        echo "CI=true: a leg that cannot run fails the run."
        status=1
        record "$name" "NOT RUN" 0
    else
        record "$name" "skipped" 0
    fi
}

run_leg() {  # run_leg <database> <DATABASE_URL> [pytest arguments]
    local name="$1" url="$2" started=$SECONDS result=passed
    shift 2
    echo "=== $label on $name${url:+ ($url)} ==="
    DATABASE_URL="$url" "$PYTHON" -m pytest "$@" || { result=FAILED; status=1; }
    record "$name" "$result" $((SECONDS - started))
}

server_leg() {  # server_leg <database> <URL> <driver hint> [pytest arguments]
    local name="$1" url="$2" hint="$3" reason
    shift 3
    reason="$("$PYTHON" scripts/db_reachable.py "$url" 2>&1)"
    case $? in
        0) run_leg "$name" "$url" "$@" ;;
        2) loud "$name" "No driver for $name in this Python ($reason)." "$hint" ;;
        *) loud "$name" "$name is NOT reachable at $url" "$reason" ;;
    esac
}

for leg in "${legs[@]}"; do
    case "$leg" in
        sqlite) run_leg SQLite "" "$@" ;;
        postgres)
            server_leg PostgreSQL "$PG_URL" "Install it: pip install -e '.[postgres]'" "$@" ;;
        mysql)
            # The driver builds from source; a virtualenv made before the client headers were
            # installed gets another try here.
            if ! "$PYTHON" -c "import MySQLdb" 2>/dev/null; then
                echo "=== Building the MariaDB/MySQL driver (mysqlclient) ==="
                "$PYTHON" -m pip install --quiet -e '.[mysql]' "Django==$("$PYTHON" -c 'import django; print(django.__version__)')" || true
            fi
            server_leg MariaDB "$MYSQL_URL" \
                "mysqlclient needs the client headers: apt-get install -y default-libmysqlclient-dev pkg-config" \
                "$@" ;;
        *) echo "unknown leg: $leg (sqlite, postgres or mysql)" >&2; exit 2 ;;
    esac
done

echo "=== Legs ==="
printf '%s\n' "${summary[@]}"
exit $status
