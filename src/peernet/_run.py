"""``peernet run``: the node with its chain, its UDP sockets and its local API, until SIGINT or
SIGTERM. Shutdown is clean: tasks are cancelled (port mappings deleted, ``api.json`` removed,
sockets and chain closed) and the command exits 0."""

from __future__ import annotations

import errno
import logging
import signal
from collections.abc import Mapping
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import trio

from peernet_chain import ChainCorruptError, LocalChain
from peernet_proto import PrivateKey, UdpTransport
from peernet_proto.wire import LOCAL_DISCOVERY_PORT

from ._config import NodeConfig, format_endpoint
from ._errors import NodeError

__all__ = ["CHAIN_DIR", "hit_json", "open_transport", "peer_json", "run_node"]

CHAIN_DIR = "blockchain"
log = logging.getLogger(__name__)


def peer_json(info: Any) -> dict[str, Any]:
    """A peer of the engine as the local API reports it."""
    return {
        "public_key": info.public_key.hex(),
        "node_id": info.node_id.hex(),
        "user_agent": info.user_agent,
        "blockchain_height": info.blockchain_height,
        "blockchain_version": info.blockchain_version,
        "connections": [
            {"remote": format_endpoint(remote), "local": format_endpoint(local), "status": status,
             "rtt_ms": None if rtt is None else round(rtt * 1000, 2)}
            for remote, local, status, rtt in info.connections
        ],
    }


def hit_json(hit: Any) -> dict[str, Any]:
    """A network search hit as the local API reports it."""
    return {
        "name": hit.name,
        "size": hit.size,
        "file_hash": hit.file_hash.hex(),
        "file_id": hit.file_id.hex(),
        "owner": hit.owner.hex(),
        "keywords": sorted(hit.keywords),
        "exact": hit.exact,
        "sources": hit.sources,
    }


async def open_transport(stack: AsyncExitStack, config: NodeConfig) -> UdpTransport:
    """The UDP sockets. The default address (port 112) falls back to any free port when 112 is
    taken or needs privileges; an address the user chose is an error naming it."""
    listen = list(config.listen)
    try:
        return await stack.enter_async_context(UdpTransport.open(listen, discovery=config.local_discovery))
    except OSError as error:
        where = ", ".join(format_endpoint(e) for e in listen)
        if config.listen_is_default and error.errno in (errno.EADDRINUSE, errno.EACCES):
            log.warning("cannot listen on %s (%s); using a free port instead", where, error.strerror)
            fallback = [(host, 0) for host, _ in listen]
            try:
                return await stack.enter_async_context(UdpTransport.open(fallback, discovery=config.local_discovery))
            except OSError as second:
                error = second
        if config.local_discovery:
            where += f" (or the local discovery port {LOCAL_DISCOVERY_PORT})"
        raise NodeError(f"cannot listen on {where}: {error.strerror or error}") from error


def open_chain(stack: AsyncExitStack, config: NodeConfig, key: PrivateKey) -> LocalChain:
    """The node's own chain, checked at open; a damaged chain is refused and left as it is."""
    path = config.data_dir / CHAIN_DIR
    try:
        return stack.enter_context(LocalChain(path, key))
    except ChainCorruptError as error:
        raise NodeError(f"blockchain {path} is damaged, refusing to open it (left unchanged): {error}") from error


async def _stop_on_signal(scope: trio.CancelScope, *, task_status: trio.TaskStatus[None]) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for number in signals:
            log.info("%s received, shutting down", signal.Signals(number).name)
            scope.cancel()
            return


def _routes(node: Any, transport: UdpTransport, key: PrivateKey) -> dict[str, Any]:
    service = node.dht.service
    return {
        "/peers": lambda: [peer_json(p) for p in node.engine.peers()],
        "/status": lambda: {
            "public_key": key.public_key.hex(), "node_id": key.public_key.node_id.hex(),
            "listen": [format_endpoint(e) for e in transport.local_endpoints()], "peers": len(node.engine),
            "dht": {"values": len(service.values), "providers": service.values.provider_count,
                    "keyword_entries": len(service.keywords), "own_entries": service.own_entries},
        },
    }


async def run_node(config: NodeConfig, key: PrivateKey) -> None:
    """Run until SIGINT or SIGTERM (then return normally). Raises :class:`NodeError`."""
    from ._api import serve_api
    from ._node import Node

    async with trio.open_nursery() as nursery:
        await nursery.start(_stop_on_signal, nursery.cancel_scope)
        async with AsyncExitStack() as stack:
            chain = open_chain(stack, config, key)
            transport = await open_transport(stack, config)
            node = Node(key, transport, user_agent=config.user_agent, root_peers=config.root_peers,
                        local_discovery=config.local_discovery, map_ports=config.map_ports, chain=chain)

            async def search(params: Mapping[str, str]) -> Any:
                text = params.get("q", "")
                if not text:
                    raise ValueError("missing q")
                result = await node.dht.search(text)
                return {"hits": [hit_json(hit) for hit in result.hits], "asked": result.asked,
                        "answered": result.answered}

            async with trio.open_nursery() as inner:
                await inner.start(node.run)
                routes = _routes(node, transport, key)
                await inner.start(partial(serve_api, config.data_dir, routes, async_routes={"/search": search}))
                endpoints = ", ".join(format_endpoint(e) for e in transport.local_endpoints())
                log.info("node %s listening on %s (data in %s, chain height %d)",
                         key.public_key.hex(), endpoints, config.data_dir, chain.height)
    log.info("node stopped")
