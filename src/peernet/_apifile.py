"""``api.json``: where a running node's local API listens and its key, for ``peernet peers`` and
``peernet search``. Written atomically (owner-only), removed on shutdown only by the node that
wrote it, read with every field checked."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import attrs

from ._atomic import atomic_write_json
from ._errors import NodeError

__all__ = ["API_FILE", "ApiInfo", "read_api_file", "remove_api_file", "write_api_file"]

API_FILE = "api.json"


@attrs.frozen
class ApiInfo:
    """The contents of ``api.json``."""

    host: str
    port: int
    key: str


def write_api_file(data_dir: Path, info: ApiInfo) -> None:
    """Write ``api.json`` atomically, readable by the owner only."""
    atomic_write_json(data_dir / API_FILE, attrs.asdict(info), mode=0o600)


def read_api_file(data_dir: Path) -> ApiInfo:
    """Raises FileNotFoundError when no node runs, :class:`NodeError` when the file is damaged."""
    path = data_dir / API_FILE
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
        info = ApiInfo(str(data["host"]), data["port"], str(data["key"]))
        if type(info.port) is not int or not 0 < info.port < 65536:
            raise ValueError(f"bad port {info.port!r}")
    except (ValueError, KeyError, TypeError) as error:
        raise NodeError(f"{path}: damaged ({error}); is a node running? remove the file if not") from error
    return info


def remove_api_file(data_dir: Path, key: str) -> None:
    """Remove ``api.json`` if it is still the one holding ``key``."""
    path = data_dir / API_FILE
    with contextlib.suppress(OSError, NodeError):
        if read_api_file(data_dir).key == key:
            path.unlink()
