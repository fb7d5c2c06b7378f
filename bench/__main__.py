"""Run benchmarks, print one table, and record it in docs/benchmarks.md.

    python -m bench                                  # every benchmark, default sizes
    python -m bench export --rows 2000               # some benchmarks, with options
    python -m bench --database-url postgres://postgres@127.0.0.1:5432/bench
    python -m bench --postgres postgres://postgres@127.0.0.1:5432/bench  # SQLite, then this

Each benchmark runs in a process of its own (fresh database, fresh memory peak) and
hands its results back as JSON; options go to every benchmark that knows them.
Only a run of every benchmark records its table; ``--no-docs`` leaves docs/benchmarks.md
alone even then.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from bench.harness import Result, format_table

BENCHMARKS = [
    "token_lookup",
    "install_roundtrip",
    "keyrotation",
    "export",
    "scale",
    "token_refresh",
    "admin_scale",
]
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    index = 0
    while index < len(argv) and not argv[index].startswith("-"):
        index += 1
    return argv[:index] or BENCHMARKS, argv[index:]


def run_one(name: str, options: list[str]) -> list[Result]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run_one", name, *options],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"benchmark {name} failed")
    return [Result(**item) for item in json.loads(completed.stdout.strip().splitlines()[-1])]


def record(table: str, command: str) -> None:
    """Replace the generated table in docs/benchmarks.md."""
    text = DOCS.read_text()
    block = (
        f"{BEGIN}\nLast run {date.today():%Y-%m-%d}, Python {platform.python_version()}, "
        f"`{command}`:\n\n{table}\n{END}"
    )
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Latest run\n\n" + block + "\n"
    DOCS.write_text(text)


def main(argv: list[str]) -> int:
    write_docs = "--no-docs" not in argv
    argv = [arg for arg in argv if arg != "--no-docs"]
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        print("benchmarks:", ", ".join(BENCHMARKS))
        return 0
    names, options = split_arguments(argv)
    # Only a run of every benchmark replaces the recorded table: a partial one would drop rows.
    write_docs = write_docs and names == BENCHMARKS
    passes = [options]
    if "--postgres" in options:
        at = options.index("--postgres")
        sqlite_options = options[:at] + options[at + 2 :]
        passes = [sqlite_options, [*sqlite_options, "--database-url", options[at + 1]]]
    results: list[Result] = []
    for pass_options in passes:
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results.extend(run_one(name, pass_options))
    table = format_table(results)
    print(table)
    if write_docs:
        record(table, " ".join(["python -m bench", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
