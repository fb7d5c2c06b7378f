#!/usr/bin/env bash
# Print the path of a Python interpreter of the given version (e.g. `find-python.sh 3.13`).
# Tries `python3.13` on PATH, then pyenv's newest installed 3.13.x: on a machine where pyenv
# has only one version switched on, `make test` still finds the others by itself.
set -uo pipefail
version="${1:?usage: find-python.sh MAJOR.MINOR}"

# A pyenv shim is on PATH even for a version that is not switched on: run it to be sure.
if found="$("python$version" -c 'import sys; print(sys.executable)' 2>/dev/null)"; then
    echo "$found"
    exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    newest="$(pyenv versions --bare 2>/dev/null | grep -E "^${version//./\\.}\.[0-9]+$" | sort -V | tail -n 1)"
    if [ -n "$newest" ] && [ -x "$root/versions/$newest/bin/python$version" ]; then
        echo "$root/versions/$newest/bin/python$version"
        exit 0
    fi
fi
echo "Python $version not found: install it (e.g. pyenv install $version) or pass PYTHON=/path/to/python$version" >&2
exit 1
