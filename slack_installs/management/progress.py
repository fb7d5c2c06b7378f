"""How far a long management command has got: a bar redrawn in place on a terminal, and
otherwise (cron, a log file, a pipe) one plain line per batch, so logs stay short.

Hand-written rather than a progress-bar library: it is the commands' only need, and a
reusable app should not add a runtime dependency for a line of text.
"""

from __future__ import annotations

from django.core.management.base import OutputWrapper

BAR_WIDTH = 30


class Progress:
    """``advance()`` once per item done; ``note()`` for a line that must stay (a failure);
    ``finish()`` at the end. ``every`` is the batch size of the plain lines, ``label`` what
    is counted when several things are (a model's name)."""

    def __init__(
        self,
        out: OutputWrapper,
        total: int,
        noun: str,
        *,
        every: int = 100,
        label: str = "",
        interactive: bool | None = None,
    ) -> None:
        self.out = out
        self.label = label
        self.total = total
        self.noun = noun
        self.every = max(1, every)
        self.done = 0
        self.interactive = out.isatty() if interactive is None else interactive
        self._drawn = False

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.interactive:
            self._draw()
        elif self.done % self.every < count or self.done == self.total:
            self.out.write(f"  {self._count()}")

    def note(self, line: str, *, stream: OutputWrapper | None = None) -> None:
        """Write a line that stays, above the bar on a terminal."""
        self._clear()
        (stream or self.out).write(line)
        if self.interactive and self.done:
            self._draw()

    def finish(self) -> None:
        if self._drawn:
            self.out.write("")  # end the bar's line
            self._drawn = False

    def _count(self) -> str:
        count = f"{self.done}/{self.total} {self.noun}"
        return f"{self.label}: {count}" if self.label else count

    def _draw(self) -> None:
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.out.write(f"\r\033[K[{bar}] {self._count()}", ending="")
        self.out.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.out.write("\r\033[K", ending="")
            self._drawn = False
