"""Where a download may write: a plain file name inside the chosen directory, nowhere else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from peernet_proto import LocalProtocolError

__all__ = ["TEMP_SUFFIX", "DownloadPathError", "safe_target", "temp_path"]

TEMP_SUFFIX: Final = ".pndownload"
_MAX_NAME: Final = 255


class DownloadPathError(LocalProtocolError, ValueError):
    """The target name is not a plain file name, leaves the directory, or the file exists."""


def safe_target(directory: str | os.PathLike[str], name: str, *, overwrite: bool = False) -> Path:
    """The target path for ``name`` in ``directory``.

    ``name`` must be one path component (no separators of any platform, not ``.``/``..``, no NUL
    or control characters, at most 255 bytes); the resolved path must lie directly in the resolved
    directory (a symbolic link out of it is refused). An existing file is refused unless ``overwrite``.
    """
    if (
        not name
        or name in (".", "..")
        or any(sep in name for sep in ("/", "\\", "\x00"))
        or any(ord(ch) < 0x20 for ch in name)
        or len(name.encode("utf-8", "surrogatepass")) > _MAX_NAME
        or (len(name) >= 2 and name[1] == ":")
    ):
        raise DownloadPathError(f"not a plain file name: {name!r}")
    base = Path(directory).resolve(strict=True)
    if not base.is_dir():
        raise DownloadPathError(f"{base} is not a directory")
    target = base / name
    if target.is_symlink() or target.resolve().parent != base:
        raise DownloadPathError(f"{name!r} leads outside {base}")
    if target.exists() and not overwrite:
        raise DownloadPathError(f"{target} exists")
    return target


def temp_path(target: Path) -> Path:
    """The partial file next to the target."""
    return target.with_name(f".{target.name}{TEMP_SUFFIX}")
