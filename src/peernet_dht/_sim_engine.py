"""The engine simulator model: real peer engines on the in-memory network, in simulated time.

Every node is a :class:`peernet_proto.PeerEngine` (real packets: encryption, signatures, the
reference's message codecs) with a :class:`RoutingTable` as its peer directory, on its own host
of a :class:`peernet_proto.testing.MemoryNetwork`; lookups run through :class:`LookupDriver`. Everything
runs in one ``trio.run`` under :class:`trio.testing.MockClock`, so time is simulated and the
run is reproducible: the same seed gives the same outcome.

How a run goes:

1. **Fill.** Each node computes the table a settled network would give it (every member of a
   bucket with at most k members, ``fill`` random ones of a fuller bucket, see
   :func:`ideal_table`) and shakes hands with them: an Announcement carrying its user agent, answered
   by a Response. Both sides learn each other from that one exchange (``PeerConnected`` adds to
   the table, as the node does; a Response also refreshes the RTT), so a pair that chose each
   other shakes hands once. The nodes start over ``fill_spread`` seconds; handshakes lost to
   ``loss`` are retried ``fill_rounds`` times, one round trip budget apart.
2. **Churn.** ``churn`` × N nodes leave without notice: their hosts are removed from the network
   (everything sent to them is dropped); they stay in the others' engines and tables.
3. **Lookups.** ``lookups`` FIND_PEER lookups for random keys from random live nodes start over
   ``lookup_spread`` seconds, concurrently. A request that times out counts as a failure in the
   asker's table (two in a row remove the peer). A lookup succeeds when its nearest result is the
   live node truly closest to the key (brute force). The run ends when the last lookup ends.

Connections fall silent after the fill; the engines ping every connection silent for 10 s, which
would cost up to four packets per pair of peers (twice the fill, every 10 s). The
default timings end the run before that: the fill takes 1.4 s (+0.4 s per retry round), the
lookups start within 1 s and end within ``lookup_timeout`` (6 s). A longer run is still exact,
only slower: ``keepalive_pongs`` and ``packets_per_lookup`` (every datagram of the lookup
phase) show the keep-alive traffic.

Scheduling: hosts get their datagrams from the network's scheduler in one receive task each;
one task processes every datagram and timer in a fixed order (host by host, then timers by
time and creation), so trio's randomised task order never shows in the result. Delays sit on a
1/1024 s grid so that many events share a time step.
"""

from __future__ import annotations

import heapq
import math
import operator
import random
import resource
import time
from typing import Final

import trio
import trio.testing

from peernet_proto import (
    Announcement,
    Datagram,
    EngineConfig,
    EngineEvent,
    PeerConnected,
    PeerEngine,
    PeerRemoved,
    PongReceived,
    PrivateKey,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
)
from peernet_proto.testing import MemoryHost, MemoryNetwork

from ._behaviours import RoutingDirectory
from ._network import LookupDone, LookupDriver, Remote
from ._routing import RoutingTable
from ._sim_abstract import ideal_table
from ._sim_report import LookupRecord, SimConfig, SimReport

__all__ = ["EngineSimulator"]

USER_AGENT: Final = "peernet-sim/0.1"
FILL: Final = "sim fill"  # the tag of the handshakes that fill the tables
PORT: Final = 112
GRID: Final = 1024  # time steps per second
FILL_TIMEOUT: Final = 2.0  # the engine forgets an unanswered fill handshake after this


def _on_grid(seconds: float) -> float:
    return math.ceil(seconds * GRID) / GRID


def _address(index: int) -> str:
    """A public IPv4 address per node, each in its own /24 as on the Internet (records of private
    addresses are not shared; the engine shares its table per source prefix)."""
    return f"{11 + index // 62500}.{index // 250 % 250}.{index % 250}.1"


class _Node:
    __slots__ = (
        "alive",
        "driver",
        "driver_at",
        "endpoint",
        "engine",
        "engine_at",
        "fill_pending",
        "fill_targets",
        "host",
        "id_int",
        "index",
        "public_key",
        "table",
    )

    def __init__(self, index: int, key: PrivateKey, config: SimConfig, seed: int) -> None:
        self.index = index
        self.public_key = key.public_key
        self.id_int = int.from_bytes(self.public_key.node_id, "big")
        self.table: RoutingTable[PublicKey] = RoutingTable(self.public_key.node_id, k=config.k)
        self.engine = PeerEngine(
            key,
            EngineConfig(user_agent=USER_AGENT, local_discovery=False),
            directory=RoutingDirectory(self.table),
            rng=random.Random(seed),
        )
        self.host: MemoryHost | None = None
        self.endpoint = (_address(index), PORT)
        self.driver: LookupDriver | None = None
        self.alive = True
        self.engine_at: float | None = None  # when the engine's timer is scheduled
        self.driver_at: float | None = None
        self.fill_targets: list[int] = []  # the nodes this one shakes hands with
        self.fill_pending: set[int] = set()  # ... and has no answer from yet


class _Lookup:
    __slots__ = ("key", "source", "started", "truth")

    def __init__(self, source: int, key: bytes, truth: bytes) -> None:
        self.source, self.key, self.truth = source, key, truth
        self.started = 0.0


# Timer kinds, in the order they fire when due at the same moment (then by creation).
_ENGINE, _DRIVER, _FILL, _CHECK, _CHURN, _LOOKUP = range(6)


class EngineSimulator:
    """Builds the network; :meth:`run` simulates it and returns the report (call it once)."""

    def __init__(self, config: SimConfig) -> None:
        config.check()
        began = time.perf_counter()
        self._cpu_began = time.process_time()
        self.config = config
        self.rng = random.Random(config.seed)
        self.nodes: list[_Node] = []
        for index in range(config.nodes):
            self.nodes.append(_Node(index, self._new_key(), config, self.rng.getrandbits(64)))
        self._by_key = {node.public_key: node.index for node in self.nodes}
        low, high = config.latency
        self._latencies = [max(1, round(self.rng.uniform(low, high) * GRID)) / GRID for _ in self.nodes]
        self.fill_handshakes = self._plan_fill()
        leaving = self.rng.sample(range(config.nodes), int(config.churn * config.nodes))
        self._leaving = sorted(leaving)
        left = set(leaving)
        self.live = [node for node in self.nodes if node.index not in left]
        self._lookups = [self._new_lookup() for _ in range(config.lookups)]
        self.network: MemoryNetwork | None = None
        self._timers: list[tuple[float, int, int, int]] = []  # (time, kind, order, argument)
        self._order = 0
        self._inbox: list[tuple[int, Datagram]] = []
        self._wakeup: trio.Event | None = None
        self._running: dict[tuple[int, int], int] = {}  # (node, lookup id) -> lookup number
        self._records: list[LookupRecord | None] = [None] * config.lookups
        self._remaining = config.lookups
        self._answers = 0
        self._pongs = 0
        self._fill_round = 0
        self.fill_missing = 0
        self.timeline: dict[str, float] = {}
        self.packets: dict[str, int] = {}
        self._prepare_seconds = time.perf_counter() - began
        self._lookups_began = 0.0

    # ---- building --------------------------------------------------------------------------

    def _new_key(self) -> PrivateKey:
        while True:
            try:
                return PrivateKey(self.rng.randbytes(32))
            except ValueError:  # out of the curve's range: astronomically rare
                continue

    def _plan_fill(self) -> int:
        """Who shakes hands with whom: each pair of the nodes' ideal tables once."""
        config = self.config
        ranked = sorted(self.nodes, key=lambda n: n.id_int)
        ints = [n.id_int for n in ranked]
        per_bucket = min(config.fill or config.k, config.k)
        chosen: list[set[int]] = []
        for node in self.nodes:
            positions = ideal_table(node.id_int, ints, config.k, per_bucket, self.rng)
            chosen.append({ranked[p].index for p in positions})
        handshakes = 0
        for node, peers in zip(self.nodes, chosen, strict=False):
            # A pair that chose each other is introduced once, by the lower index.
            node.fill_targets = sorted(p for p in peers if p > node.index or node.index not in chosen[p])
            node.fill_pending = set(node.fill_targets)
            handshakes += len(node.fill_targets)
        return handshakes

    def _new_lookup(self) -> _Lookup:
        source = self.rng.choice(self.live)
        key = self.rng.randbytes(32)
        key_int = int.from_bytes(key, "big")
        truth = min((n for n in self.live if n is not source), key=lambda n: n.id_int ^ key_int)
        return _Lookup(source.index, key, truth.public_key.node_id)

    # ---- running ---------------------------------------------------------------------------

    def run(self) -> SimReport:
        began = time.perf_counter()
        trio.run(self._main, clock=trio.testing.MockClock(autojump_threshold=0))
        ended = time.perf_counter()
        setup = self._prepare_seconds + (self._lookups_began or ended) - began
        wall = self._prepare_seconds + ended - began
        return self._report(setup, wall, ended - (self._lookups_began or ended))

    async def _main(self) -> None:
        config = self.config
        network = MemoryNetwork(seed=config.seed, latency=config.latency[0], loss=config.loss, queue_size=10_000)
        self.network = network
        self._wakeup = trio.Event()
        now = trio.current_time()
        async with trio.open_nursery() as nursery:
            for node in self.nodes:
                host = network.add_host([node.endpoint[0]], ports=[PORT], latency=self._latencies[node.index])
                node.host = host
                node.engine.set_local_endpoints(host.local_endpoints(), now)
                self._schedule_node(node)
                nursery.start_soon(self._receive, node.index, host)
            spread = config.fill_spread
            for node in self.nodes:
                self._at(now + _on_grid(spread * node.index / config.nodes), _FILL, node.index)
            self._at(now + _on_grid(spread + self._round_trip()), _CHECK, 0)
            await self._loop()
            nursery.cancel_scope.cancel()

    def _round_trip(self) -> float:
        """Time to wait for an answer: the largest round trip, plus a margin."""
        return 2 * max(self._latencies) + 0.1

    async def _receive(self, index: int, host: MemoryHost) -> None:
        while True:
            datagram = await host.receive()
            self._inbox.append((index, datagram))
            assert self._wakeup is not None
            self._wakeup.set()

    def _at(self, when: float, kind: int, argument: int) -> None:
        self._order += 1
        heapq.heappush(self._timers, (when, kind, self._order, argument))

    async def _loop(self) -> None:
        """Process deliveries and timers, one moment at a time, until the last lookup is done."""
        timers = self._timers
        by_host = operator.itemgetter(0)
        while True:
            # Let the network hand out everything due now before looking at it.
            await trio.testing.wait_all_tasks_blocked()
            now = trio.current_time()
            while True:
                if self._inbox:
                    batch, self._inbox = self._inbox, []
                    batch.sort(key=by_host)  # stable: each host's datagrams stay in arrival order
                    for index, datagram in batch:
                        node = self.nodes[index]
                        if node.alive:
                            node.engine.receive_datagram(datagram.data, datagram.source, datagram.local, now)
                            await self._settle(node, now)
                elif timers and timers[0][0] <= now:
                    _, kind, _, argument = heapq.heappop(timers)
                    await self._fire(kind, argument, now)
                else:
                    break
                if self._done():
                    return
            self._wakeup = trio.Event()
            if self._inbox:
                continue
            with trio.move_on_at(timers[0][0] if timers else math.inf):
                await self._wakeup.wait()

    def _done(self) -> bool:
        return self._remaining == 0 and "lookups" in self.timeline

    async def _fire(self, kind: int, argument: int, now: float) -> None:
        if kind == _ENGINE:
            node = self.nodes[argument]
            if node.alive and node.engine_at == now:
                node.engine_at = None
                node.engine.handle_timer(now)
                await self._settle(node, now)
        elif kind == _DRIVER:
            node = self.nodes[argument]
            if node.alive and node.driver is not None and node.driver_at == now:
                node.driver_at = None
                node.driver.handle_timer(now)
                await self._settle(node, now)
        elif kind == _FILL:
            node = self.nodes[argument]
            self._shake_hands(node, node.fill_targets, now)
            await self._settle(node, now)
        elif kind == _CHECK:
            await self._check_fill(now)
        elif kind == _CHURN:
            self._churn(now)
        else:
            await self._start_lookup(argument, now)

    def _shake_hands(self, node: _Node, targets: list[int] | set[int], now: float) -> None:
        engine = node.engine
        announcement = Announcement(features=engine.features, user_agent=USER_AGENT)
        for index in sorted(targets):
            other = self.nodes[index]
            engine.request(
                other.public_key, announcement, now, endpoints=[other.endpoint], tag=FILL, timeout=FILL_TIMEOUT
            )

    async def _check_fill(self, now: float) -> None:
        """A fill round is over: retry the handshakes that got no answer, or move on."""
        pending = [node for node in self.nodes if node.fill_pending]
        if pending and self._fill_round < self.config.fill_rounds:
            self._fill_round += 1
            for node in pending:
                self._shake_hands(node, node.fill_pending, now)
                await self._settle(node, now)
            self._at(now + _on_grid(self._round_trip()), _CHECK, 0)
            return
        assert self.network is not None
        self.fill_missing = sum(len(node.fill_pending) for node in self.nodes)
        for node in self.nodes:
            node.fill_pending = set()
            node.fill_targets = []
        self.timeline["filled"] = now
        self.packets["fill"] = self.network.statistics().sent
        self._lookups_began = time.perf_counter()
        self._at(now, _CHURN, 0)
        spread = self.config.lookup_spread
        for number in range(len(self._lookups)):
            self._at(now + _on_grid(spread * number / len(self._lookups)), _LOOKUP, number)
        self.timeline["lookups"] = now

    def _churn(self, now: float) -> None:
        assert self.network is not None
        for index in self._leaving:
            node = self.nodes[index]
            node.alive = False
            assert node.host is not None
            self.network.remove_host(node.host)

    async def _start_lookup(self, number: int, now: float) -> None:
        config = self.config
        lookup = self._lookups[number]
        node = self.nodes[lookup.source]
        if node.driver is None:
            node.driver = LookupDriver(
                node.engine,
                self_id=node.public_key.node_id,
                k=config.k,
                alpha=config.alpha,
                request_timeout=config.request_timeout,
                attempts=config.attempts,
                lookup_timeout=config.lookup_timeout,
            )
        lookup.started = now
        initial = [Remote(key) for key in node.table.closest(lookup.key, config.k)]
        lookup_id = node.driver.start(lookup.key, initial, now)
        if lookup_id is None:
            raise RuntimeError("too many lookups at one node: lower --lookups or raise --lookup-spread")
        self._running[(node.index, lookup_id)] = number
        await self._settle(node, now)

    async def _settle(self, node: _Node, now: float) -> None:
        """After the engine or the driver acted: events, datagrams out, timers, finished lookups."""
        engine = node.engine
        for event in engine.events():
            self._on_event(node, event, now)
        host = node.host
        assert host is not None
        for outgoing in engine.datagrams_to_send():
            await host.send(outgoing.data, outgoing.destination, outgoing.local)
        self._schedule_node(node)
        if node.driver is not None:
            for done in node.driver.finished():
                self._finish(node, done)

    def _on_event(self, node: _Node, event: EngineEvent, now: float) -> None:
        if isinstance(event, ResponseReceived):
            node.table.add(event.peer, now, rtt=event.rtt)
            if event.tag == FILL:
                node.fill_pending.discard(self._by_key.get(event.peer, -1))
            elif node.driver is not None and node.driver.handle_event(event, now):
                self._answers += 1
        elif isinstance(event, PeerConnected):
            node.table.add(event.peer, now)
        elif isinstance(event, RequestTimedOut):
            if event.tag != FILL and node.driver is not None and node.driver.handle_event(event, now):
                node.table.record_failure(event.peer.node_id)
        elif isinstance(event, PeerRemoved):
            node.table.remove(event.peer.node_id)
        elif isinstance(event, PongReceived):
            self._pongs += 1  # only keep-alive pings are sent here

    def _schedule_node(self, node: _Node) -> None:
        deadline = node.engine.next_deadline()
        if deadline is not None and (node.engine_at is None or deadline < node.engine_at):
            node.engine_at = deadline
            self._at(deadline, _ENGINE, node.index)
        if node.driver is not None:
            deadline = node.driver.next_deadline()
            if deadline is not None and (node.driver_at is None or deadline < node.driver_at):
                node.driver_at = deadline
                self._at(deadline, _DRIVER, node.index)

    def _finish(self, node: _Node, done: LookupDone) -> None:
        number = self._running.pop((node.index, done.lookup_id))
        lookup = self._lookups[number]
        result = done.result
        self._records[number] = LookupRecord(
            success=bool(result.closest) and result.closest[0].node_id == lookup.truth,
            hops=result.hops,
            requests=result.requests_sent,
            status=result.status,
            duration=done.finished - lookup.started,
        )
        self._remaining -= 1
        if self._remaining == 0:
            now = done.finished
            self.timeline["end"] = now
            assert self.network is not None
            self.packets["lookups"] = self.network.statistics().sent - self.packets["fill"]

    # ---- reporting -------------------------------------------------------------------------

    def _report(self, setup: float, wall: float, lookup_wall: float) -> SimReport:
        records = tuple(r for r in self._records if r is not None)
        assert len(records) == self.config.lookups
        requests = sum(n.driver.requests_sent for n in self.nodes if n.driver is not None)
        lookups = max(len(records), 1)
        tables = [len(n.table) for n in self.live]
        peers = [len(n.engine) for n in self.live]
        assert self.network is not None
        statistics = self.network.statistics()
        filled = self.timeline.get("filled", 0.0)
        end = self.timeline.get("end", filled)
        extra = {
            "fill_handshakes": self.fill_handshakes,
            "fill_missing": self.fill_missing,
            "fill_rounds": self._fill_round,
            "fill_packets": self.packets.get("fill", 0),
            "packets_per_lookup": round(self.packets.get("lookups", 0) / lookups, 1),
            "keepalive_pongs": self._pongs,
            "packets_lost": statistics.lost,
            "packets_unroutable": statistics.unroutable,
            "table_size_mean": round(sum(tables) / len(tables), 1),
            "engine_peers_mean": round(sum(peers) / len(peers), 1),
            "simulated_seconds_fill": round(filled, 3),
            "simulated_seconds_lookups": round(end - filled, 3),
            "lookup_wall_seconds": round(lookup_wall, 3),
            "cpu_seconds": round(time.process_time() - self._cpu_began, 3),
            "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        return SimReport(
            self.config,
            records,
            requests + self._answers,
            "FIND_PEER requests the lookups sent plus the Responses that reached them",
            setup,
            wall,
            extra,
        )
