"""Garbage collection while the simulator builds millions of long-lived objects.

Building and filling a network allocates millions of objects that live until the run ends; the
cyclic collector would scan all of them again and again (a quarter of a run's CPU time). While
:func:`building` is active the collector is off; afterwards every object built so far is moved
to the permanent generation (:func:`gc.freeze`), so later collections only look at what the
lookups allocate. :func:`release` at the end of a run hands them back to the collector (a
finished network's reference cycles are freed when the next run, or a sweep's next step, builds).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["building", "release"]


@contextmanager
def building() -> Iterator[None]:
    """Collector off while the block builds long-lived objects; frozen and back on after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def release() -> None:
    """The run is over: what :func:`building` froze can be collected again."""
    gc.unfreeze()
