"""What the local API needs from the node: identity, peers, content, and how to stop it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from peernet_proto import PrivateKey

from .._content import NodeContent

if TYPE_CHECKING:
    from .._services import ContentService

__all__ = ["DEFAULT_UPLOAD_LIMIT", "ApiBackend", "ApiLimits", "PeerSummary"]

DEFAULT_UPLOAD_LIMIT: Final = 4 << 30


@attrs.frozen
class PeerSummary:
    """One entry of the peer list as ``/status/peers`` shows it."""

    peer_id: bytes  # 33-byte compressed public key
    node_id: bytes
    user_agent: str
    is_root: bool
    blockchain_height: int
    blockchain_version: int
    #: Remote endpoints of the peer's connections (``HOST:PORT``, IPv6 in brackets); an addition to the Go fields.
    connections: tuple[str, ...] = ()


@attrs.frozen
class ApiLimits:
    """Bounds on what a client may make the node store or hold."""

    upload_size: int = DEFAULT_UPLOAD_LIMIT  # bytes per warehouse upload
    free_space_reserve: int = 64 << 20  # uploads stop before the disk has less than this free
    profile_field_size: int = 48 << 10
    upload_records: int = 1024  # tracked upload IDs (oldest dropped first)
    upload_record_ttl: float = 3600.0


@attrs.define
class ApiBackend:
    """The node as the local API sees it.

    ``peers`` lists the peer list; ``shutdown`` asks the node to stop (the process then exits
    with code 9, as the Go launcher does); ``allowed_roots`` are the folders that path routes
    (``/warehouse/create/path``, ``/warehouse/read/path``, ``/file/format``) may touch.
    """

    key: PrivateKey
    content: NodeContent
    peers: Callable[[], Sequence[PeerSummary]]
    shutdown: Callable[[], None]
    api_key: uuid.UUID
    allowed_roots: tuple[Path, ...] = attrs.field(factory=lambda: (Path.home(),))
    limits: ApiLimits = attrs.field(factory=ApiLimits)
    search: Callable[[str], Awaitable[Any]] | None = None  # network keyword search: .hits, .asked, .answered
    #: Chain sync, verified search and downloads from peers (None: the own node's content only).
    service: ContentService | None = None
