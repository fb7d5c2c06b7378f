"""``python -m bench [name ...] [--option value ...]``: run benchmarks, print one table.

Each benchmark runs in a process of its own (fresh database, fresh memory peak) and
hands its rows back as JSON; options are passed to every benchmark that knows them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.harness import Row, format_table

BENCHMARKS = ["token_lookup", "install_roundtrip", "keyrotation"]
RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-latest.md"


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    index = 0
    while index < len(argv) and not argv[index].startswith("-"):
        names.append(argv[index])
        index += 1
    return names or BENCHMARKS, argv[index:]


def run_one(name: str, options: list[str]) -> list[Row]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run_one", name, *options],
        check=True,
        capture_output=True,
        text=True,
    )
    return [Row(**row) for row in json.loads(completed.stdout.strip().splitlines()[-1])]


def main(argv: list[str]) -> None:
    names, options = split_arguments(argv)
    rows: list[Row] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(run_one(name, options))
    print(format_table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
