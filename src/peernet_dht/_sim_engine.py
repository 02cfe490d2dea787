"""The engine simulator model: real peer engines driven by a discrete-event loop in simulated time.

Every node is a :class:`peernet_proto.PeerEngine` (the reference's message codecs, the engine's
connection and request handling) with a :class:`RoutingTable` as its peer directory; lookups run
through :class:`LookupDriver`. The engines are sans-IO, so the simulator calls them directly: no
trio, no task or channel per datagram. A datagram sent at ``t`` by node ``s`` arrives at
``t + latency[s]`` (each node draws its one-way delay once, on a 1/1024 s grid), or is lost with
probability ``loss`` (drawn from the sender's own random stream).

Events are ordered by (time, node, kind, sender, sender's sequence): every node sees its events
in an order that does not depend on which other nodes share its process, so a run split into
shards (:class:`EngineShard` per shard, see :mod:`peernet_dht._sim_shards`) gives exactly the
results of the whole run. Time advances in windows no longer than the smallest latency; the run
ends with the window in which the last lookup ends.

Fill (``fill``): ``"direct"`` installs every node's table as a clean handshake fill would leave
it (:meth:`PeerEngine.install_peer`, same peers, same times, same RTTs, no packets);
``"handshake"`` shakes hands for real (Announcement, Response), retrying lost ones
``fill_rounds`` times. Packets (``packets``): ``"trusted"`` uses :class:`TrustedPacketCodec`
(no signature, no Salsa20, every message codec and engine path); ``"signed"`` the wire format.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any, Final

from peernet_proto import (
    Announcement,
    EngineConfig,
    EngineEvent,
    Feature,
    PacketCodec,
    PeerEngine,
    PongReceived,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    SignedPacketCodec,
    TrustedPacketCodec,
)

from ._behaviours import RoutingDirectory, TableUpkeep
from ._network import LookupDone, LookupDriver, Remote
from ._routing import AddOutcome, RoutingTable
from ._sim_nat import NatState
from ._sim_plan import PORT, SimPlan, address_of, on_grid, stream
from ._sim_report import LookupRecord
from ._sim_workload import Workload

__all__ = ["PUNCH_COUNTERS", "USER_AGENT", "EngineShard"]

USER_AGENT: Final = "peernet-sim/0.1"
FILL_TIMEOUT: Final = 2.0  # the engine forgets an unanswered fill handshake after this

# Event kinds, in the order they run when due at the same moment at the same node.
_DATAGRAM, _ENGINE, _DRIVER, _FILL, _LOOKUP, _SERVICE, _STORE, _GET, _JOIN = range(9)
_CHECK_NODE: Final = -1  # the fill check (handshake fill): before every node at its moment

# The engine's hole punching counters reported with a NAT mix (spec wire.md §11).
PUNCH_COUNTERS: Final = (
    "traverse_sent", "traverse_relayed", "traverse_answered", "punched", "traverse_ignored",
    "traverse_relay_refused", "traverse_relay_rate_limited", "traverse_relay_no_address",
)  # fmt: skip

_NONE_PENDING: Final[set[int]] = set()  # shared by every node with no fill handshake pending (never changed)

# (time, node, kind, a, b, data): a, b are (sender, sender's sequence) for a datagram, else (number, order)
Event = tuple[float, int, int, int, int, bytes | None]


class _Node:
    __slots__ = (
        "alive_from", "alive_until", "driver", "driver_at", "endpoint", "engine", "engine_at", "fill_pending", "index",
        "loss_rng", "order", "received", "sent", "service_at", "table", "upkeep",
    )  # fmt: skip

    def __init__(self, index: int, plan: SimPlan, codec: PacketCodec, config: EngineConfig) -> None:
        self.index = index
        public_key = plan.public_keys[index]
        self.table: RoutingTable[PublicKey] = RoutingTable(public_key.node_id, k=plan.config.k)
        self.upkeep = TableUpkeep(self.table)
        self.engine = PeerEngine(
            plan.private_keys[index], config, directory=RoutingDirectory(self.table),
            rng=stream(plan.config.seed, "engine", index), codec=codec,
        )  # fmt: skip
        self.endpoint = (address_of(index), PORT)
        self.engine.set_local_endpoints([self.endpoint], 0.0)
        if plan.nat[index]:
            self.engine.set_firewall(True)  # behind NAT: "reach me through a Traverse"
        self.driver: LookupDriver | None = None
        self.alive_until = float("inf")
        self.alive_from = float("inf") if index in plan.join_at else 0.0  # a joining node: offline until it joins
        self.engine_at: float | None = None
        self.driver_at: float | None = None
        self.service_at: float | None = None
        self.fill_pending: set[int] = _NONE_PENDING
        self.loss_rng = stream(plan.config.seed, "loss", index) if plan.config.loss else None
        self.sent = 0  # datagrams sent: their sequence
        self.received = 0  # datagrams received during the lookups (the load)
        self.order = 0  # timers set: their sequence


class EngineShard:
    """The nodes ``owned`` of a run (all by default) and their events; :meth:`advance` runs a window.

    Datagrams for nodes of other shards are kept in :attr:`outbox`, per shard (``shard_of``), for
    the caller to hand to :meth:`deliver` of their shard before the next window.
    """

    def __init__(self, plan: SimPlan, owned: range | None = None, shard_of: Callable[[int], int] | None = None) -> None:
        config = plan.config
        self.plan = plan
        self.config = config
        self.owned = owned or range(config.nodes)
        self._shard_of = shard_of
        self.outbox: dict[int, list[Event]] = {}
        if config.packets == "trusted":
            trusted = TrustedPacketCodec()
            for key in plan.public_keys:
                trusted.intern(key)
            codec: PacketCodec = trusted
        else:
            codec = SignedPacketCodec()
        engine_config = EngineConfig(user_agent=USER_AGENT, local_discovery=False)
        self.nodes: dict[int, _Node] = {i: _Node(i, plan, codec, engine_config) for i in self.owned}
        self._endpoints = [(address_of(i), PORT) for i in range(config.nodes)]
        self._by_endpoint = {endpoint: i for i, endpoint in enumerate(self._endpoints)}
        self.nat: NatState | None = None
        if config.nat:  # one node per address: the address names the node, NATs check the port
            self.nat = NatState(plan.nat, self.owned, [address for address, _ in self._endpoints], PORT)
            self._by_ip = {address: i for i, (address, _) in enumerate(self._endpoints)}
        self._by_key = {key: i for i, key in enumerate(plan.public_keys)}
        self._fill_requests: set[tuple[int, PublicKey, int]] = set()  # (node, peer, sequence) of fill handshakes
        self._events: list[Event] = []
        self.lookups = plan.lookups()
        self.records: dict[int, LookupRecord] = {}
        self._running: dict[tuple[int, int], int] = {}  # (node, lookup id) -> lookup number
        self.remaining = sum(1 for lookup in self.lookups if lookup.source in self.nodes)
        self.filled_at: float | None = None
        self.last_finish = 0.0
        self.fill_round = 0  # handshake retry rounds run
        self.fill_missing = 0  # handshakes never answered
        self.counts = {"sent_fill": 0, "sent_lookups": 0, "lost": 0, "unroutable": 0, "answers": 0, "pongs": 0}
        self.workload: Workload | None = None
        if config.stores or config.searches:
            self.workload = Workload(plan, {i: (node.engine, node.table) for i, node in self.nodes.items()})
        for node in self.nodes.values():
            if node.alive_from == 0.0:
                self._schedule(node)

    # ---- the plan into events ----------------------------------------------------------------

    def fill_direct(self, tables: Any, progress: Callable[[int], None] | None = None) -> int:
        """Install what a clean handshake fill would teach the owned nodes; returns the entries."""
        public_keys = self.plan.public_keys
        features = int(next(iter(self.nodes.values())).engine.features) & ~Feature.FIREWALL if self.nodes else 0
        nat, kinds = self.nat, self.plan.nat
        grid_times: dict[float, float] = {}  # one float object per time step, shared by all entries
        count = 0
        for count, (moment, peer, receiver, rtt) in enumerate(self.plan.fill_edges(tables, self.owned), 1):
            when = grid_times.setdefault(moment, moment)
            node = self.nodes[receiver]
            key = public_keys[peer]
            endpoint = self._endpoints[peer]
            if nat is not None:  # the pair has talked: both NATs hold pinholes for each other
                endpoint = nat.endpoint(peer, receiver)
                nat.open(receiver, peer, endpoint[1])
            flags = features | Feature.FIREWALL if kinds[peer] else features
            node.engine.install_peer(
                key, endpoint, when, user_agent=USER_AGENT, features=flags, port_internal=PORT, rtt=rtt
            )
            added = node.table.add(key, when, rtt=rtt)
            if rtt is not None and added.outcome is AddOutcome.CACHED:
                # As the handshake's Response does: ResponseReceived, then PeerConnected (which
                # changes nothing unless the first add left the peer in the replacement cache).
                node.table.add(key, when)
            if progress is not None and count % 4096 == 0:
                progress(count)
        self.start_lookups(self.plan.fill_time)
        return count

    def fill_handshake(self, tables: Any) -> int:
        """Schedule the real handshakes (the caller runs the fill check); returns how many."""
        handshakes = 0
        for index, node in self.nodes.items():
            if index in self.plan.join_at:
                continue  # offline until it joins
            node.fill_pending = set(self.plan.fill_targets(tables, index))
            handshakes += len(node.fill_pending)
            self._push((self.plan.fill_start(index), index, _FILL, 0, 0, None))
        heapq.heappush(self._events, (self.plan.fill_time, _CHECK_NODE, 0, 0, 0, None))
        return handshakes

    def start_lookups(self, filled: float) -> None:
        """The tables are filled at ``filled``: the leaving nodes leave, the lookups are scheduled."""
        self.filled_at = filled
        for index in self.plan.leaving:
            if index in self.nodes:
                self.nodes[index].alive_until = filled
        for index, at in self.plan.leave_at.items():
            if index in self.nodes:
                self.nodes[index].alive_until = filled + at
        for index, at in self.plan.join_at.items():
            if index in self.nodes:
                self.nodes[index].alive_from = filled + at
                self._push((filled + at, index, _JOIN, 0, 0, None))
        for number, lookup in enumerate(self.lookups):
            if lookup.source in self.nodes:
                self._push((filled + lookup.start, lookup.source, _LOOKUP, number, 0, None))
        if self.workload is not None:
            self.workload.start(filled, self._push_operation)

    def _push_operation(self, when: float, index: int, get: int, number: int) -> None:
        self._push((when, index, _GET if get else _STORE, number, 0, None))

    # ---- running -----------------------------------------------------------------------------

    def deliver(self, events: Iterable[Event]) -> None:
        """Datagrams from other shards (their order does not matter: events sort themselves)."""
        for event in events:
            heapq.heappush(self._events, event)

    def advance(self, until: float) -> None:
        """Run every event before ``until``."""
        events = self._events
        nodes = self.nodes
        while events and events[0][0] < until:
            now, index, kind, a, _, data = heapq.heappop(events)
            if index == _CHECK_NODE:
                self._check_fill(now)
                continue
            node = nodes[index]
            if now >= node.alive_until or now < node.alive_from:
                if kind == _DATAGRAM:
                    self.counts["unroutable"] += 1
                continue
            if kind == _DATAGRAM:
                assert data is not None
                source = self._endpoints[a]
                if self.nat is not None:
                    if self.filled_at is not None and not self.nat.admits(index, a):
                        continue  # filtered from the lookups on (a handshake fill introduces every pair)
                    source = self.nat.endpoint(a, index)
                if self.filled_at is not None and now >= self.filled_at:
                    node.received += 1
                node.engine.receive_datagram(data, source, node.endpoint, now)
            elif kind == _ENGINE:
                if node.engine_at != now:
                    continue
                node.engine_at = None
                node.engine.handle_timer(now)
            elif kind == _DRIVER:
                if node.driver is None or node.driver_at != now:
                    continue
                node.driver_at = None
                node.driver.handle_timer(now)
            elif kind == _FILL:
                self._shake_hands(node, node.fill_pending, now)
            elif kind == _LOOKUP:
                self._start_lookup(node, a, now)
            elif kind == _JOIN:
                self._join(node, now)
            elif not self._operate(node, kind, a, now):
                continue
            self._settle(node, now)

    def _operate(self, node: _Node, kind: int, number: int, now: float) -> bool:
        """A store, a get or the service's timer (False: a stale timer, nothing done)."""
        assert self.workload is not None
        if kind != _SERVICE:
            self.workload.run(node.index, kind == _GET, number, now)
        elif node.service_at != now:
            return False
        else:
            node.service_at = None
            self.workload.services[node.index].handle_timer(now)
        return True

    def next_time(self) -> float | None:
        """When the next event is due (None: nothing left)."""
        return self._events[0][0] if self._events else None

    def _push(self, event: Event) -> None:
        heapq.heappush(self._events, event)

    def _shake_hands(self, node: _Node, targets: Iterable[int], now: float) -> None:
        engine = node.engine
        announcement = Announcement(features=engine.features, user_agent=USER_AGENT)
        for index in sorted(targets):
            key = self.plan.public_keys[index]
            endpoints = [self._endpoints[index] if self.nat is None else self.nat.endpoint(index, node.index)]
            sequence = engine.request(key, announcement, now, endpoints=endpoints, timeout=FILL_TIMEOUT)
            if sequence is not None:
                self._fill_requests.add((node.index, key, sequence))

    def _join(self, node: _Node, now: float) -> None:
        """A joining node comes up: first contact with its root (Announcement with FIND_SELF); the
        engine's bootstrap contacts the closest peers each answer reports, and so walks towards its ID."""
        root = self.plan.join_root(node.index)
        endpoint = self._endpoints[root] if self.nat is None else self.nat.endpoint(root, node.index)
        node.engine.handle_timer(now)  # its clock starts now: the timers due while it was off run first
        node.engine.contact(self.plan.public_keys[root], [endpoint], now)

    def _check_fill(self, now: float) -> None:
        """A handshake round is over (unsharded runs only): retry what got no answer, or move on."""
        pending = [node for node in self.nodes.values() if node.fill_pending]
        if pending and self.fill_round < self.config.fill_rounds:
            self.fill_round += 1
            for node in pending:
                self._shake_hands(node, node.fill_pending, now)
                self._settle(node, now)
            heapq.heappush(self._events, (on_grid(now + self.plan.round_trip), _CHECK_NODE, 0, 0, 0, None))
            return
        self.fill_missing = sum(len(node.fill_pending) for node in self.nodes.values())
        for node in self.nodes.values():
            node.fill_pending = _NONE_PENDING
        self.start_lookups(now)

    def _start_lookup(self, node: _Node, number: int, now: float) -> None:
        config = self.config
        lookup = self.lookups[number]
        if node.driver is None:
            node.driver = LookupDriver(
                node.engine, self_id=self.plan.public_keys[node.index].node_id, k=config.k, alpha=config.alpha,
                request_timeout=config.request_timeout, attempts=config.attempts, lookup_timeout=config.lookup_timeout,
            )  # fmt: skip
        lookup.start = now
        initial = [Remote(key) for key in node.table.closest(lookup.key, config.k)]
        lookup_id = node.driver.start(lookup.key, initial, now)
        if lookup_id is None:
            raise RuntimeError("too many lookups at one node: lower the lookups or raise the lookup spread")
        self._running[(node.index, lookup_id)] = number

    def _settle(self, node: _Node, now: float) -> None:
        """After the engine or the driver acted: events, datagrams out, timers, finished lookups."""
        engine = node.engine
        for event in engine.events():
            self._on_event(node, event, now)
        outgoing = engine.datagrams_to_send()
        if outgoing:
            self._send(node, outgoing, now)
        self._schedule(node)
        if node.driver is not None:
            for done in node.driver.finished():
                self._finish(node, done)
        if self.workload is not None:
            self.workload.collect(node.index, now, self._push_operation)
            self._schedule_service(node)

    def _schedule_service(self, node: _Node) -> None:
        assert self.workload is not None
        deadline = self.workload.services[node.index].next_deadline()
        if deadline is not None and (node.service_at is None or deadline < node.service_at):
            node.service_at = deadline
            node.order += 1
            heapq.heappush(self._events, (deadline, node.index, _SERVICE, 0, node.order, None))

    def _send(self, node: _Node, outgoing: list[Any], now: float) -> None:
        counts = self.counts
        phase = "sent_lookups" if self.filled_at is not None and now >= self.filled_at else "sent_fill"
        arrival = now + self.plan.latencies[node.index]
        loss = self.config.loss
        for datagram in outgoing:
            counts[phase] += 1
            node.sent += 1
            if self.nat is None:
                receiver = self._by_endpoint.get(datagram.destination)
            else:
                receiver = self._by_ip.get(datagram.destination[0])
                if receiver is not None and not self.nat.send(node.index, receiver, datagram.destination[1]):
                    continue
            if receiver is None:
                counts["unroutable"] += 1
                continue
            if node.loss_rng is not None and node.loss_rng.random() < loss:
                counts["lost"] += 1
                continue
            event = (arrival, receiver, _DATAGRAM, node.index, node.sent, datagram.data)
            if receiver in self.nodes:
                heapq.heappush(self._events, event)
            else:
                assert self._shard_of is not None
                self.outbox.setdefault(self._shard_of(receiver), []).append(event)

    def _on_event(self, node: _Node, event: EngineEvent, now: float) -> None:
        """The node's table follows its events as a node's does (TableUpkeep: answers and peers
        joining or leaving, and the timeouts of the DHT's own requests, here the lookups' and the
        workload's); then the answers go to whoever asked."""
        if not isinstance(event, ResponseReceived | RequestTimedOut):
            node.upkeep.handle_event(event, now)
            if isinstance(event, PongReceived):
                self.counts["pongs"] += 1  # only keep-alive pings are sent here
            return
        if isinstance(event, ResponseReceived):
            node.upkeep.handle_event(event, now)
        fill = (node.index, event.peer, event.sequence)
        if fill in self._fill_requests:
            self._fill_requests.discard(fill)
            if isinstance(event, ResponseReceived):
                node.fill_pending.discard(self._by_key.get(event.peer, -1))
            return
        claimed = node.driver is not None and node.driver.handle_event(event, now)
        if claimed and isinstance(event, ResponseReceived):
            self.counts["answers"] += 1
        elif not claimed and self.workload is not None:
            claimed = self.workload.handle_event(node.index, event, now)
        if claimed and isinstance(event, RequestTimedOut):
            node.upkeep.handle_event(event, now)  # a lookup's or the workload's request went unanswered

    def _schedule(self, node: _Node) -> None:
        deadline = node.engine.next_deadline()
        if deadline is not None and (node.engine_at is None or deadline < node.engine_at):
            node.engine_at = deadline
            node.order += 1
            heapq.heappush(self._events, (deadline, node.index, _ENGINE, 0, node.order, None))
        if node.driver is not None:
            deadline = node.driver.next_deadline()
            if deadline is not None and (node.driver_at is None or deadline < node.driver_at):
                node.driver_at = deadline
                node.order += 1
                heapq.heappush(self._events, (deadline, node.index, _DRIVER, 0, node.order, None))

    def _finish(self, node: _Node, done: LookupDone) -> None:
        number = self._running.pop((node.index, done.lookup_id))
        lookup = self.lookups[number]
        result = done.result
        nearest = result.closest[0].public_key if result.closest else None
        self.records[number] = LookupRecord(
            success=nearest is not None and (nearest.node_id == lookup.truth or self._joined_closer(nearest, number)),
            hops=result.hops,
            requests=result.requests_sent,
            status=result.status,
            duration=done.finished - lookup.start,
        )
        self.remaining -= 1
        self.last_finish = max(self.last_finish, done.finished)

    def _joined_closer(self, nearest: PublicKey, number: int) -> bool:
        """Whether ``nearest`` joined after lookup ``number`` started and is closer to its key than
        the truth (the closest node up at the start): found, so a success too."""
        index = self._by_key.get(nearest, -1)
        if index not in self.plan.join_at or self.filled_at is None:
            return False
        lookup = self.lookups[number]
        key = int.from_bytes(lookup.key, "big")
        closer = int.from_bytes(nearest.node_id, "big") ^ key < int.from_bytes(lookup.truth, "big") ^ key
        return closer and self.filled_at + self.plan.join_at[index] > lookup.start

    # ---- figures -----------------------------------------------------------------------------

    def figures(self) -> dict[str, float]:
        """Sums for the report (add them up over shards)."""
        live = [n for n in self.nodes.values() if n.alive_until == float("inf")]
        figures: dict[str, float] = dict(self.counts)
        figures["requests"] = sum(n.driver.requests_sent for n in self.nodes.values() if n.driver is not None)
        figures["live"] = len(live)
        figures["left_during_lookups"] = sum(1 for index in self.plan.leave_at if index in self.nodes)
        figures["joined"] = sum(
            1 for index in self.plan.join_at if index in self.nodes and len(self.nodes[index].table)
        )
        figures["table_entries"] = sum(len(n.table) for n in live)
        figures["engine_peers"] = sum(len(n.engine) for n in live)
        if self.nat is not None:
            figures["nat_dropped"] = self.nat.dropped
            for name in PUNCH_COUNTERS:
                figures[name] = sum(getattr(n.engine.counters, name) for n in self.nodes.values())
        return figures

    def loads(self) -> list[int]:
        """Datagrams each live owned node received during the lookups."""
        return [n.received for n in self.nodes.values() if n.alive_until == float("inf")]
