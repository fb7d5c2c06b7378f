"""Scale: how token lookup, the install round trip and key rotation grow with the
number of installations (1,000 → 100,000 by default).

Each size runs the benchmark in a fresh process and database. The figure is the
cost of one item (one lookup, one install, one rotated row) at that size, against
the same cost at the smallest size: flat (or linear in total) means a ratio near 1.
"""

from __future__ import annotations

import argparse
import sys

from bench.harness import Result

# benchmark, its size option, the measure to follow, extra options
FOLLOWED = [
    ("token_lookup", "--rows", "median vs slack_sdk find_bot", ["--lookups", "2000"]),
    (
        "install_roundtrip",
        "--existing",
        "median server time vs Bolt's OAuthFlow",
        ["--installs", "60"],
    ),
    ("keyrotation", "--rows", "rows/s: rotate_keys vs raw MultiFernet.rotate loop", []),
]
FLAT_ENOUGH = 2.0  # noise on a shared 2-core machine stays well below this


def run(argv: list[str]) -> list[Result]:
    from bench.__main__ import run_one

    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args, _ = parser.parse_known_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    database = ["--database-url", args.database_url] if args.database_url else []
    results: list[Result] = []
    for name, size_option, measure, extra in FOLLOWED:
        per_item: dict[int, float] = {}
        unit = ""
        for size in sizes:
            print(f"  scale: {name} at {size:,}", file=sys.stderr, flush=True)
            found = [
                result
                for result in run_one(name, [size_option, str(size), *extra, *database])
                if result.measure == measure
            ][0]
            # rows/s turns into seconds per row, so that larger always means slower.
            per_item[size] = 1 / found.ours if found.unit == "rows/s" else found.ours
            unit = "s/row" if found.unit == "rows/s" else found.unit
            # "token lookup, 10,000 installs (SQLite 3.40.1)" -> "token lookup (SQLite 3.40.1)"
            engine = found.benchmark[found.benchmark.rfind("(") :]
            label = f"{found.benchmark.split(',')[0]} {engine}"
        smallest = per_item[sizes[0]]
        for size in sizes[1:]:
            results.append(
                Result(
                    f"scale: {label}",
                    f"per item at {size:,} vs at {sizes[0]:,} installs",
                    per_item[size],
                    smallest,
                    unit,
                    FLAT_ENOUGH,
                )
            )
    return results
