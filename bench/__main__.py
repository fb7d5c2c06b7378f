"""Run the benchmarks and print a table.

python -m bench                        # every benchmark, default sizes
python -m bench export --rows 2000     # one benchmark, with its options
"""

from __future__ import annotations

import importlib
import sys

from bench import Result

# name -> module; each module has run(argv: list[str]) -> list[Result]. Add new ones here.
BENCHMARKS = {
    "export": "bench.export",
}


def format_table(results: list[Result]) -> str:
    header = ["benchmark", "measure", "ours", "baseline", "ratio", "target", "met"]
    rows = [header]
    for result in results:
        ratio = result.ratio
        rows.append(
            [
                result.benchmark,
                result.measure,
                f"{result.ours:.3g} {result.unit}".strip(),
                "" if result.baseline is None else f"{result.baseline:.3g} {result.unit}".strip(),
                "" if ratio is None else f"{ratio:.2f}x",
                ""
                if result.target is None
                else f"<= {result.target:g}" + ("x" if result.baseline is not None else ""),
                {True: "yes", False: "NO", None: ""}[result.met],
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("benchmarks:", ", ".join(BENCHMARKS))
        return 0
    if argv and not argv[0].startswith("-"):
        name, options = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        selected = {name: BENCHMARKS[name]}
    else:
        selected, options = BENCHMARKS, argv
    results: list[Result] = []
    for module_name in selected.values():
        results.extend(importlib.import_module(module_name).run(options))
    print(format_table(results))
    return 0 if all(result.met is not False for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
