"""``peernet run``: the node with its chain, its UDP sockets and its local API, until SIGINT or
SIGTERM. Shutdown is clean: tasks are cancelled (port mappings deleted, ``api.json`` removed,
sockets and chain closed) and the command exits 0."""

from __future__ import annotations

import errno
import logging
import os
import signal
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from functools import partial

import trio

from peernet_chain import ChainCorruptError
from peernet_proto import PrivateKey, UdpTransport
from peernet_proto.wire import LOCAL_DISCOVERY_PORT

from ._config import NodeConfig, format_endpoint
from ._content import CHAIN_DIR, NodeContent
from ._errors import NodeError

__all__ = ["open_content", "open_transport", "run_node"]

log = logging.getLogger(__name__)


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


def open_content(stack: ExitStack, config: NodeConfig, key: PrivateKey) -> NodeContent:
    """The node's own chain (checked at open; a damaged chain is refused and left as it is) and warehouse."""
    try:
        return stack.enter_context(NodeContent(config.data_dir, key))
    except ChainCorruptError as error:
        path = config.data_dir / CHAIN_DIR
        raise NodeError(f"blockchain {path} is damaged, refusing to open it (left unchanged): {error}") from error


async def _watch_pid(pid: int, stop: trio.CancelScope) -> None:
    """Cancel ``stop`` once process ``pid`` has ended (the Browser passes its own PID)."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log.info("process %d ended: stopping", pid)
            stop.cancel()
            return
        except PermissionError:
            pass  # it exists, owned by someone else
        await trio.sleep(1.0)


async def _stop_on_signal(scope: trio.CancelScope, *, task_status: trio.TaskStatus[None]) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for number in signals:
            log.info("%s received, shutting down", signal.Signals(number).name)
            scope.cancel()
            return


async def run_node(
    config: NodeConfig,
    key: PrivateKey,
    api_binds: Sequence[str] = ("127.0.0.1:0",),
    api_key: uuid.UUID | None = None,
    watch_pid: int | None = None,
) -> bool:
    """Run until SIGINT or SIGTERM (then return False), or until stopped through the local API or
    because ``watch_pid`` ended (then return True). Raises :class:`NodeError`."""
    from ._node import Node
    from ._services import ContentService
    from .webapi import serve_node_api

    stopped = trio.CancelScope()
    with stopped:
        async with trio.open_nursery() as nursery:
            await nursery.start(_stop_on_signal, nursery.cancel_scope)
            with ExitStack() as sync_stack:
                content = open_content(sync_stack, config, key)
                async with AsyncExitStack() as stack:
                    transport = await open_transport(stack, config)
                    node = Node(key, transport, user_agent=config.user_agent, root_peers=config.root_peers,
                                local_discovery=config.local_discovery, map_ports=config.map_ports,
                                content=content)
                    service = ContentService(node, content)
                    async with trio.open_nursery() as inner:
                        await inner.start(node.run)
                        await inner.start(service.run)
                        await inner.start(partial(serve_node_api, key, node.engine, content, binds=api_binds,
                                                  api_key=api_key, shutdown=stopped.cancel, search=service.search,
                                                  service=service))
                        if watch_pid:
                            inner.start_soon(_watch_pid, watch_pid, stopped)
                        endpoints = ", ".join(format_endpoint(e) for e in transport.local_endpoints())
                        log.info("node %s listening on %s (data in %s, chain height %d)",
                                 key.public_key.hex(), endpoints, config.data_dir, content.chain.height)
    log.info("node stopped")
    return stopped.cancel_called
