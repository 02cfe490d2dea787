"""Live progress of long simulation phases on stderr (rich), or nothing."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress", "RichProgress"]


class Progress:
    """Progress that shows nothing (the default for library use and tests)."""

    def update(self, phase: str, done: int, total: int) -> None:
        """``done`` of ``total`` in ``phase``."""

    def close(self) -> None:
        """The run is over."""


class RichProgress(Progress):
    """One rich progress bar per phase on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(file=sys.stderr), transient=False,
        )  # fmt: skip
        self._tasks: dict[str, Any] = {}
        self._bars.start()

    def update(self, phase: str, done: int, total: int) -> None:
        """``done`` of ``total`` in ``phase``."""
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._bars.add_task(phase, total=total)
        self._bars.update(task, completed=done, total=total)

    def close(self) -> None:
        """Stop drawing."""
        self._bars.stop()
