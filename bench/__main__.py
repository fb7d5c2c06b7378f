"""Run one benchmark (``python -m bench keyrotation --rows 1000``) or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["keyrotation"]


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        names, rest = [argv[0]], argv[1:]
    elif argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; choose from {', '.join(BENCHMARKS)}")
        return 2
    else:
        names, rest = BENCHMARKS, argv
    for name in names:
        status = importlib.import_module(f"bench.{name}").main(rest)
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
