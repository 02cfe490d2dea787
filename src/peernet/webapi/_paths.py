"""Local paths that API clients name (spec webapi.md §6 S5): absolute, resolved (``..`` and
symbolic links), inside an allowed root, never inside the node's own data directory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PathRefusedError", "checked_path"]


class PathRefusedError(Exception):
    """The path is relative, outside the allowed roots, or inside the data directory."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def checked_path(text: str, allowed_roots: Sequence[Path], data_dir: Path) -> Path:
    """The resolved path; raises :class:`PathRefusedError`."""
    if not text or "\x00" in text or text.startswith(("\\\\", "//")):
        raise PathRefusedError("not an absolute local path")
    path = Path(text)
    if not path.is_absolute():
        raise PathRefusedError("not an absolute path")
    resolved = Path(os.path.realpath(path))
    if _inside(resolved, Path(os.path.realpath(data_dir))):
        raise PathRefusedError("inside the node's data directory")
    if not any(_inside(resolved, Path(os.path.realpath(root))) for root in allowed_roots):
        raise PathRefusedError("outside the allowed folders")
    return resolved
