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
    IndexedFile,
    KeywordEntry,
    NetworkHit,
    PublishResult,
    Remote,
    RoutingTable,
    StoreResult,
    ValueResult,
)
from peernet_proto import (
    Announcement,
    DatagramTransport,
    EngineConfig,
    EngineEvent,
    EngineRunner,
    PeerConnected,
    PeerEngine,
    PeerRemoved,
    PrivateKey,
    PublicKey,
    ResponseReceived,
    RootPeer,
    hash_data,
    record_endpoints,
)

from ._dht import NodeDht
from ._reachability import ReachabilityMonitor

__all__ = ["Node"]

log = logging.getLogger(__name__)


class _RoutingDirectory:
    """Answers the engine's "closest peers" questions from the Kademlia routing table."""

    def __init__(self, table: RoutingTable[PublicKey]) -> None:
        self._table = table

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]:
        # Ask for more than needed: the engine drops peers without a usable connection.
        return self._table.closest(key, count * 4, exclude)


REFRESH = "bucket refresh"
REFRESH_FANOUT = 3  # peers asked per refresh target
SUBRANGE_BITS = 3  # an under-filled bucket with an answer's worth of contacts is searched in 8 parts
ANSWER_SIZE = 5  # closest records per key in an answer (the engine's CLOSEST_PER_KEY)
RECORDS_FOLLOWED = 5  # closest records contacted per answer, as the reference's bootstrap
MAX_FOLLOW_UPS = 1024


class Node:
    """Runs until cancelled: ``async with trio.open_nursery() as n: await n.start(node.run)``.

    Bucket refresh as the reference schedules it: once the routing table holds a peer, three
    rounds one second apart, then one round every ``refresh_interval`` seconds. A round asks the
    closest known peers for random targets in under-filled buckets and contacts what they report.
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
        rng: random.Random | None = None,
        refresh_interval: float = 300.0,
        keyword_search: bool = True,
        map_ports: bool = False,
    ) -> None:
        self.key = key
        self._rng = rng or random.Random()
        self.refresh_interval = refresh_interval
        # Peers reported by a refresh answer, contacted and then asked for the same target: this
        # walks towards each target hop by hop, as an iterative Kademlia lookup does.
        self._follow_up: dict[PublicKey, bytes] = {}
        self.chain = chain
        self.table: RoutingTable[PublicKey] = RoutingTable(key.public_key.node_id)
        config = EngineConfig(user_agent=user_agent, root_peers=tuple(root_peers), local_discovery=local_discovery)
        self.engine = PeerEngine(key, config, directory=_RoutingDirectory(self.table), rng=rng)
        if chain is not None:
            # Pushed on every change: no chain read per Response or keep-alive.
            self._chain_changed(chain.state)
            chain.watch(self._chain_changed)
        self.runner = EngineRunner(self.engine, transport, self._on_event)
        # FIND_VALUE / INFO_STORE / search answers, lookups; keyword_search=False leaves the
        # KEYWORD_SEARCH feature bit off (the node then gets no search items, like a Go peer).
        self.dht = NodeDht(self.engine, self.table, self.runner.poke, keyword_search=keyword_search)
        # Reachability from the addresses peers see us at (and, with map_ports, UPnP / NAT-PMP /
        # PCP mappings of the listening sockets): sets the FIREWALL bit and external port.
        self.map_ports = map_ports
        self.reachability = ReachabilityMonitor(self.engine)

    @property
    def public_key(self) -> PublicKey:
        return self.key.public_key

    def _chain_changed(self, state: ChainState) -> None:
        self.engine.set_blockchain(state.height, state.version)

    def _on_event(self, event: EngineEvent) -> None:
        now = trio.current_time()
        if isinstance(event, PeerConnected):
            self.table.add(event.peer, now)
            target = self._follow_up.pop(event.peer, None)
            if target is not None:
                self._ask(event.peer, target, now)
            log.info("peer connected %s %s:%d %s", event.peer.hex()[:16], *event.remote, event.user_agent)
        elif isinstance(event, PeerRemoved):
            self.table.remove(event.peer.node_id)
            log.info("peer removed %s (%s)", event.peer.hex()[:16], event.reason)
        elif isinstance(event, ResponseReceived) and event.tag == REFRESH:
            self._follow(event, now)
            return
        self.dht.on_event(event)

    def _follow(self, event: ResponseReceived, now: float) -> None:
        for entry in event.response.hash2peers:
            for record in entry.closest[:RECORDS_FOLLOWED]:
                if record.public_key == self.public_key or self.engine.peer(record.public_key) is not None:
                    continue
                endpoints = record_endpoints(record)
                if endpoints and len(self._follow_up) < MAX_FOLLOW_UPS:
                    self._follow_up[record.public_key] = entry.key
                    self.engine.contact(record.public_key, endpoints, now)

    def _ask(self, peer: PublicKey, target: bytes, now: float) -> None:
        announcement = Announcement(features=self.engine.features, find_peer=[target])
        self.engine.send_announcement(peer, announcement, now, tag=REFRESH)

    def refresh(self) -> None:
        """One refresh round; FIND_SELF for our own ID is sent as FIND_PEER like any target."""
        now = trio.current_time()
        self._follow_up.clear()  # contacts that never answered are forgotten each round
        for target in self.table.refresh_targets(self._rng):
            for peer in self.table.closest(target, REFRESH_FANOUT):
                self._ask(peer, target, now)
        for target in self.table.subrange_targets(self._rng, split_bits=SUBRANGE_BITS, min_size=ANSWER_SIZE):
            for peer in self.table.closest(target, 1):
                self._ask(peer, target, now)
        self.runner.poke()

    async def _refresh_loop(self) -> None:
        # A root whose first answer was lost can stay the only contact (the engine stops
        # bootstrapping once the root is a peer): refresh as soon as there is one contact.
        while not self.table:
            await trio.sleep(1.0)
        for _ in range(3):
            self.refresh()
            await trio.sleep(1.0)
        while True:
            await trio.sleep(self.refresh_interval)
            self.refresh()

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
            nursery.start_soon(self._refresh_loop)
            nursery.start_soon(self._follow_addresses)
            await nursery.start(self.dht.run)
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
