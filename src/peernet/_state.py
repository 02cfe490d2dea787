"""Node state that survives a restart, in small JSON files written atomically.

* known peers (public key and last endpoints), to rejoin the network without root peers;
* published keywords (keyword hash → file IDs and when they were last published), so a restart
  republishes only what is due;
* the download queue is kept by :mod:`peernet.downloads` with the same :func:`write_json_atomic`.

Cached chains need nothing here: :class:`~peernet_chain.ChainCache` is LMDB and persists itself.
Every file is bounded on load (a damaged or hostile file cannot grow memory without limit) and a
file that does not parse is treated as empty, with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from peernet_proto import InvalidKeyError, PublicKey

__all__ = [
    "KnownPeer",
    "load_json",
    "load_known_peers",
    "load_published_keywords",
    "save_known_peers",
    "save_published_keywords",
    "write_json_atomic",
]

log = logging.getLogger(__name__)

MAX_STATE_FILE: Final = 16 << 20
MAX_KNOWN_PEERS: Final = 1000
MAX_ENDPOINTS: Final = 8


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as JSON to a temporary file, fsync it, and rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(value, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_json(path: str | os.PathLike[str], default: Any) -> Any:
    """The JSON value in ``path``; ``default`` when missing, too large or unreadable."""
    try:
        with open(path, "rb") as source:
            raw = source.read(MAX_STATE_FILE + 1)
    except FileNotFoundError:
        return default
    if len(raw) > MAX_STATE_FILE:
        log.warning("%s is larger than %d bytes; ignored", path, MAX_STATE_FILE)
        return default
    try:
        return json.loads(raw)
    except ValueError:
        log.warning("%s does not parse; ignored", path)
        return default


@attrs.frozen
class KnownPeer:
    """A peer seen before: key, its endpoints ("host", port) and when it was last seen (Unix s)."""

    key: PublicKey
    endpoints: tuple[tuple[str, int], ...]
    last_seen: float


def save_known_peers(path: str | os.PathLike[str], peers: Iterable[KnownPeer]) -> int:
    """Keep the most recently seen :data:`MAX_KNOWN_PEERS` peers; returns how many were written."""
    chosen = sorted(peers, key=lambda p: p.last_seen, reverse=True)[:MAX_KNOWN_PEERS]
    write_json_atomic(
        path,
        {
            "version": 1,
            "peers": [
                {"key": p.key.hex(), "endpoints": [list(e) for e in p.endpoints[:MAX_ENDPOINTS]], "seen": p.last_seen}
                for p in chosen
            ],
        },
    )
    return len(chosen)


def _known_peer(item: Any) -> KnownPeer | None:
    try:
        key = PublicKey.from_hex(str(item["key"]))
        endpoints = tuple(
            (str(host), int(port)) for host, port in item["endpoints"][:MAX_ENDPOINTS] if 0 < int(port) < 65536
        )
        return KnownPeer(key, endpoints, float(item["seen"]))
    except (InvalidKeyError, KeyError, TypeError, ValueError):
        return None


def load_known_peers(path: str | os.PathLike[str]) -> list[KnownPeer]:
    """Known peers from ``path`` (malformed entries skipped), most recently seen first."""
    data = load_json(path, {})
    items = data.get("peers", []) if isinstance(data, dict) else []
    peers = [peer for peer in map(_known_peer, items[:MAX_KNOWN_PEERS]) if peer is not None]
    return sorted(peers, key=lambda p: p.last_seen, reverse=True)


def save_published_keywords(path: str | os.PathLike[str], published: Mapping[bytes, float]) -> None:
    """Keyword hash → time it was last published (Unix seconds)."""
    write_json_atomic(path, {"version": 1, "keywords": {k.hex(): t for k, t in published.items()}})


def load_published_keywords(path: str | os.PathLike[str], limit: int = 1_000_000) -> dict[bytes, float]:
    """What :func:`save_published_keywords` wrote (malformed entries skipped)."""
    data = load_json(path, {})
    raw = data.get("keywords", {}) if isinstance(data, dict) else {}
    result: dict[bytes, float] = {}
    for key, when in list(raw.items())[:limit] if isinstance(raw, dict) else []:
        try:
            keyword = bytes.fromhex(key)
            if len(keyword) == 32:
                result[keyword] = float(when)
        except (TypeError, ValueError):
            continue
    return result
