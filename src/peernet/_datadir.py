"""One node per data directory: an exclusive lock (filelock) held while the node runs, and the
running node's pid beside it for the error message of the next one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

import filelock

from ._atomic import atomic_write
from ._errors import AlreadyRunningError

__all__ = ["LOCK_FILE", "PID_FILE", "DataDirLock"]

LOCK_FILE = "node.lock"
PID_FILE = "node.pid"


class DataDirLock:
    """``with DataDirLock(data_dir):`` — raises :class:`AlreadyRunningError` when another process
    holds it. The operating system releases the lock when the process dies, however it dies."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = filelock.FileLock(data_dir / LOCK_FILE, timeout=0)

    def _holder(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            return f"pid {int((self.data_dir / PID_FILE).read_text())}"
        return "pid unknown"

    def __enter__(self) -> DataDirLock:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise AlreadyRunningError(
                f"a node is already running with data directory {self.data_dir} ({self._holder()})"
            ) from None
        try:
            atomic_write(self.data_dir / PID_FILE, f"{os.getpid()}\n".encode(), mode=0o644)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):
            (self.data_dir / PID_FILE).unlink()
        self._lock.release()
