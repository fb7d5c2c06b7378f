#!/usr/bin/env bash
# Build one test virtualenv: `make-venv.sh VENV PYTHON DJANGO [mysql]`, e.g.
# `make-venv.sh .venv /usr/bin/python3.13 6.1 mysql`.
# Installs the package (editable) with its dev extra, the Django series DJANGO and the
# django-stubs series of the same number, so mypy checks against the Django it runs on.
# With "mysql", also the mysqlclient driver (the mysql extra); a driver that cannot be
# built is loud and leaves the virtualenv usable for SQLite and PostgreSQL, except under
# CI=true, where it fails.
set -euo pipefail
venv="${1:?venv}"
python="${2:?python}"
django="${3:?django series, e.g. 6.1}"
with_mysql="${4:-}"

IFS=. read -r major minor <<<"$django"
next="$major.$((minor + 1))"

echo "=== Building $venv: $("$python" --version), Django $django ==="
test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[dev]' \
    "Django>=$django,<$next" "django-stubs[compatible-mypy]>=$django,<$next"

if [ "$with_mysql" = "mysql" ]; then
    if ! "$venv/bin/python" -m pip install --quiet -e '.[mysql]' "Django>=$django,<$next"; then
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        echo "!!! The MySQL/MariaDB driver (mysqlclient) could not be built in $venv."
        echo "!!! It needs a C compiler and the client headers; on Debian:"
        echo "!!!     apt-get install -y default-libmysqlclient-dev pkg-config"
        echo "!!! The MariaDB leg of make test stays off until it builds (it retries)."
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        if [ "${CI:-}" = "true" ]; then
            echo "CI=true: a driver that does not build fails the run."
            exit 1
        fi
    fi
fi
