"""Atomic file writes: every file the node writes goes through :func:`atomic_write`.

The data goes to a temporary file in the same directory, is flushed to disk (fsync), and is then
renamed over the target; the directory is synced so that the rename survives a crash too. A full
disk or a crash leaves the old file intact, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "atomic_write_json"]


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot sync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` by ``data`` all at once (permissions ``mode``); raises OSError naming
    ``path``, and then ``path`` is as it was."""
    try:
        _replace(path, data, mode)
    except OSError as error:
        raise OSError(error.errno, f"cannot write: {error.strerror or error}", str(path)) from error


def _replace(path: Path, data: bytes, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def atomic_write_json(path: Path, value: Any, *, mode: int = 0o600) -> None:
    """:func:`atomic_write` of ``value`` as indented JSON with a final newline."""
    atomic_write(path, (json.dumps(value, indent=2) + "\n").encode(), mode=mode)
