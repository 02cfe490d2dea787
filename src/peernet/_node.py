"""A Peernet node: the peer engine on a transport, with the DHT routing table answering lookups,
the DHT service (values, provider records, network keyword search; see :mod:`peernet._dht`)."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Iterable, Sequence

import trio

from peernet_chain import ChainState, LocalChain
from peernet_dht import (
    BucketRefresh,
    IndexedFile,
    KeywordEntry,
    NetworkHit,
    PublishResult,
    Remote,
    RoutingDirectory,
    RoutingTable,
    StoreResult,
    ValueResult,
)
from peernet_proto import (
    DatagramTransport,
    EngineConfig,
    EngineEvent,
    EngineRunner,
    PeerConnected,
    PeerEngine,
    PeerRemoved,
    PrivateKey,
    PublicKey,
    RootPeer,
    format_endpoint,
    hash_data,
)
from peernet_proto.transfer import TransferBehaviour, TransferClient

from ._content import NodeContent
from ._dht import NodeDht
from ._reachability import ReachabilityMonitor
from ._transfer_adapters import ChainBlockProvider, WarehouseFileSource

__all__ = ["Node"]

log = logging.getLogger(__name__)

ROOT_WARNING_AFTER = 60.0  # seconds without any root peer answering before a warning


class Node:
    """Runs until cancelled: ``async with trio.open_nursery() as n: await n.start(node.run)``.

    Its engine hosts the behaviours: :class:`~peernet_dht.BucketRefresh` (routing table and
    bucket refresh, every ``refresh_interval`` seconds with jitter), the DHT service
    (:mod:`peernet._dht`), reachability (:mod:`peernet._reachability`) and file and block
    transfers (:class:`~peernet_proto.transfer.TransferBehaviour`, serving ``content``'s warehouse
    and own chain); one runner drives them.
    """

    def __init__(
        self,
        key: PrivateKey,
        transport: DatagramTransport,
        *,
        user_agent: str = "peernet-py/0.1",
        root_peers: Sequence[RootPeer] = (),
        local_discovery: bool = False,
        chain: LocalChain | None = None,
        content: NodeContent | None = None,
        rng: random.Random | None = None,
        refresh_interval: float = 300.0,
        keyword_search: bool = True,
        map_ports: bool = False,
    ) -> None:
        self.key = key
        self._rng = rng or random.Random()
        self.refresh_interval = refresh_interval
        self.content = content
        if content is not None:
            chain = content.chain
        self.chain = chain
        self.table: RoutingTable[PublicKey] = RoutingTable(key.public_key.node_id)
        config = EngineConfig(user_agent=user_agent, root_peers=tuple(root_peers), local_discovery=local_discovery)
        self.engine = PeerEngine(key, config, directory=RoutingDirectory(self.table), rng=rng)
        if chain is not None:
            # Pushed on every change: no chain read per Response or keep-alive.
            self._chain_changed(chain.state)
            chain.watch(self._chain_changed)
        self.runner = EngineRunner(self.engine, transport, self._on_event)
        # Behaviours, in the order they see events: the routing table first.
        self.bucket_refresh = BucketRefresh(self.engine, self.table, interval=refresh_interval, rng=self._rng)
        self.engine.register(self.bucket_refresh)
        # FIND_VALUE / INFO_STORE / search answers, lookups; keyword_search=False leaves the
        # KEYWORD_SEARCH feature bit off (the node then gets no search items, like a Go peer).
        self.dht = NodeDht(self.engine, self.table, self.runner.poke, keyword_search=keyword_search)
        # Reachability from the addresses peers see us at (and, with map_ports, UPnP / NAT-PMP /
        # PCP mappings of the listening sockets): sets the FIREWALL bit and external port.
        self.map_ports = map_ports
        self.reachability = ReachabilityMonitor(self.engine)
        self.engine.register(self.reachability)
        # File and block transfers: files from the warehouse, blocks of the own chain.
        files = WarehouseFileSource(content.warehouse) if content is not None else None
        blocks = ChainBlockProvider(chain) if chain is not None else None
        self.transfer = TransferBehaviour(files, blocks)
        self.engine.register(self.transfer)
        self.transfer_client = TransferClient(self.transfer, poke=self.runner.poke)

    @property
    def public_key(self) -> PublicKey:
        return self.key.public_key

    def _chain_changed(self, state: ChainState) -> None:
        self.engine.set_blockchain(state.height, state.version)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, PeerConnected):
            log.info("peer connected %s %s %s", event.peer.hex()[:16], format_endpoint(event.remote), event.user_agent)
        elif isinstance(event, PeerRemoved):
            log.info("peer removed %s (%s)", event.peer.hex()[:16], event.reason)

    def refresh(self) -> None:
        """One bucket refresh round now (they also run on their own schedule)."""
        self.bucket_refresh.refresh(trio.current_time())
        self.runner.poke()

    async def _watch_roots(self, roots: int) -> None:
        """Warn when no root peer has answered within a minute of the start."""
        if not roots:
            return
        await trio.sleep(ROOT_WARNING_AFTER)
        if not any(self.engine.peer(root.public_key) for root in self.engine.config.root_peers):
            log.warning("no root peer has answered within %.0f s of the start", ROOT_WARNING_AFTER)

    async def _follow_addresses(self) -> None:
        """Sockets come and go as interfaces change (the UDP transport re-scans every 10 s)."""
        transport = self.runner.transport
        known = list(transport.local_endpoints())
        while True:
            await trio.sleep(10.0)
            current = list(transport.local_endpoints())
            if current != known:
                log.info("local endpoints changed: %s", current)
                self.engine.set_local_endpoints(current, trio.current_time())
                known = current

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.runner.run)
            nursery.start_soon(self._follow_addresses)
            nursery.start_soon(self._watch_roots, len(self.engine.config.root_peers))
            await nursery.start(functools.partial(self.reachability.run, self.runner, map_ports=self.map_ports))
            task_status.started()

    # ---- DHT -------------------------------------------------------------------------------------

    async def find_peer(self, node_id: bytes) -> Remote | None:
        """Where the peer with ``node_id`` can be reached (an iterative lookup), or None."""
        return await self.dht.find_peer(node_id)

    async def find_value(self, key: bytes) -> bytes | None:
        """The value whose BLAKE3 hash is ``key``: ours, or from the network, or None."""
        result: ValueResult = await self.dht.find_value(key)
        return result.value

    async def store(self, value: bytes) -> bytes:
        """Keep ``value`` (at most VALUE_SIZE_MAX bytes) and announce it (INFO_STORE) to the k
        closest peers of its key, who then point FIND_VALUE lookups to us. Returns the key."""
        result: StoreResult = await self.dht.store(value)
        assert result.key == hash_data(value)
        return result.key

    async def publish_files(self, files: Iterable[IndexedFile | KeywordEntry]) -> PublishResult:
        """Publish keyword entries of own files to the k closest search peers of each keyword."""
        return await self.dht.publish(files)

    async def search(self, text: str) -> list[NetworkHit]:
        """Files matching ``text`` found in the network (and among our own published files)."""
        return await self.dht.search_hits(text)
