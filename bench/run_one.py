"""Run one benchmark in this process and print its rows as one JSON line."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys


def main() -> None:
    name, options = sys.argv[1], sys.argv[2:]
    module = importlib.import_module(f"bench.{name}")
    results = module.run(options)
    print(json.dumps([dataclasses.asdict(result) for result in results]))


if __name__ == "__main__":
    main()
