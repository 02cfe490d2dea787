"""The local API of a running :class:`~peernet._node.Node`: its peers, its content, its key."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from peernet_proto import PeerEngine, PrivateKey, format_endpoint

from .._apifile import remove_api_file
from .._content import NodeContent
from ._app import create_app
from ._backend import ApiBackend, ApiLimits, PeerSummary
from ._server import serve_app, write_api_file

if TYPE_CHECKING:
    from .._services import ContentService

__all__ = ["engine_peers", "serve_node_api"]


def engine_peers(engine: PeerEngine) -> Callable[[], list[PeerSummary]]:
    """The engine's peer list as ``/status/peers`` shows it."""
    roots = {root.public_key for root in engine.config.root_peers}

    def peers() -> list[PeerSummary]:
        return [PeerSummary(p.public_key.to_bytes(), p.public_key.node_id, p.user_agent, p.public_key in roots,
                            p.blockchain_height, p.blockchain_version,
                            tuple(format_endpoint(remote) for remote, *_ in p.connections))
                for p in engine.peers()]

    return peers


async def serve_node_api(
    key: PrivateKey,
    engine: PeerEngine,
    content: NodeContent,
    *,
    binds: Sequence[str] = ("127.0.0.1:0",),
    api_key: uuid.UUID | None = None,
    shutdown: Callable[[], None],
    allowed_roots: Sequence[Path] = (),
    limits: ApiLimits | None = None,
    search: Callable[[str], Awaitable[Any]] | None = None,
    service: ContentService | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``api.json`` in the data directory names the first address and the key
    (a random key when none is given) and is removed on the way out."""
    backend = ApiBackend(key, content, engine_peers(engine), shutdown, api_key or uuid.uuid4(),
                         tuple(allowed_roots) or (Path.home(),), limits or ApiLimits(), search, service)
    hosts = tuple(bind.rpartition(":")[0].strip("[]") for bind in binds)
    try:
        async with trio.open_nursery() as nursery:
            addresses: list[tuple[str, int]] = await nursery.start(serve_app, create_app(backend, hosts), binds)
            write_api_file(content.data_dir, *addresses[0], backend.api_key)
            task_status.started(addresses)
    finally:
        remove_api_file(content.data_dir, str(backend.api_key))
