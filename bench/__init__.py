"""Benchmarks of django-slack-installs: ``python -m bench [name] [options]``.

Every figure is a ratio against a baseline measured in the same run, because
absolute times drift on a shared machine. ``bench/__main__.py`` lists the
benchmark modules; each has ``run(argv) -> list[Result]``.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """One line of the table: our figure, the baseline's, and the target ratio."""

    benchmark: str
    measure: str
    ours: float
    baseline: float | None = None
    unit: str = ""
    target: float | None = None  # the ratio ours / baseline must stay at or below this

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.baseline is None:
            return self.ours <= self.target
        ratio = self.ratio
        return ratio is not None and ratio <= self.target


_django_ready = False


def setup_django() -> None:
    """Configure Django with ``bench.settings`` and migrate its database (once per process)."""
    global _django_ready
    if _django_ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    _django_ready = True


def timed(function: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """The best wall time of ``repeat`` calls, and the last call's result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory(function: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated by Python while ``function`` runs (tracemalloc), and its result."""
    tracemalloc.start()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result
