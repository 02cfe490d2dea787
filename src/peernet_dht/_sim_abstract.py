"""The abstract simulator model: sans-IO routing tables and lookups over an idealised network.

Messages are Python values delivered after a random latency or lost with probability ``loss``;
there is no wire format, no engine and no crypto, so it is fast (10 000 nodes in seconds). Routing
tables are filled the way a long-running network would have them: every node knows up to k random
peers of each of its buckets. ``churn`` then removes a fraction of nodes without notice (they stay
in everybody's tables). Lookups run one after the other.
"""

from __future__ import annotations

import heapq
import random
import resource
import time
from typing import Any

import attrs

from peernet_proto import PrivateKey

from ._contact import Contact
from ._lookup import Lookup, LookupStep
from ._routing import RoutingTable
from ._sim_ideal import ideal_table, xor_closest
from ._sim_report import LookupRecord, SimConfig, SimReport, current_rss_bytes

__all__ = ["AbstractSimulator", "FindRequest", "FindResponse", "SimNetwork", "SimNode", "ideal_table"]


@attrs.frozen(slots=True)
class FindRequest:
    source: int  # node index
    target: int
    key: bytes


@attrs.frozen(slots=True)
class FindResponse:
    source: int
    target: int
    contacts: tuple[Contact, ...]


Message = FindRequest | FindResponse


class SimNode:
    """One node; its routing table is built on first use (see :meth:`AbstractSimulator.table_of`)."""

    __slots__ = ("_table", "alive", "contact", "index")

    def __init__(self, index: int, contact: Contact) -> None:
        self.index = index
        self.contact = contact
        self._table: RoutingTable[Contact] | None = None
        self.alive = True

    @property
    def table(self) -> RoutingTable[Contact]:
        """The routing table (built by the simulator before anything reads it)."""
        assert self._table is not None, "the simulator builds a table before its first use"
        return self._table

    def answer(self, request: FindRequest, requester: Contact, now: float) -> FindResponse:
        """What a Python responder does for FIND_PEER: remember the requester, return the k closest."""
        self.table.add(requester, now)
        closest = self.table.closest(request.key, self.table.k, exclude=requester)
        return FindResponse(source=self.index, target=request.source, contacts=tuple(closest))


class SimNetwork:
    """Simulated datagram transport: per-message latency and loss, dead nodes drop everything."""

    def __init__(self, rng: random.Random, loss: float, latency: tuple[float, float]) -> None:
        self._rng, self._loss, self._latency = rng, loss, latency
        self._queue: list[tuple[float, int, Message]] = []
        self._sequence = 0
        self.sent = 0

    def send(self, now: float, message: Message) -> None:
        self.sent += 1
        if self._rng.random() < self._loss:
            return
        self._sequence += 1
        heapq.heappush(self._queue, (now + self._rng.uniform(*self._latency), self._sequence, message))

    def next_event_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def pop(self) -> tuple[float, Message]:
        when, _, message = heapq.heappop(self._queue)
        return when, message

    def clear(self) -> None:
        self._queue.clear()


class AbstractSimulator:
    """The message-level model: ideal tables built on first use, lookups one after another."""

    def __init__(self, config: SimConfig) -> None:
        config.check()
        began = time.perf_counter()
        self._cpu_began = time.process_time()
        self._rss_began = current_rss_bytes()
        self.config = config
        self.rng = random.Random(config.seed)
        self.network = SimNetwork(random.Random(self.rng.getrandbits(64)), config.loss, config.latency)
        self.now = 0.0
        self.nodes = [SimNode(i, Contact(self._new_key())) for i in range(config.nodes)]
        ids = [int.from_bytes(n.contact.node_id, "big") for n in self.nodes]
        self._order = sorted(range(config.nodes), key=ids.__getitem__)
        self._ranked = [ids[i] for i in self._order]
        for node in self.rng.sample(self.nodes, int(config.churn * config.nodes)):
            node.alive = False
        self.live = [n for n in self.nodes if n.alive]
        self._live_ranked = sorted(ids[n.index] for n in self.live)
        self._by_int = {ids[n.index]: n for n in self.live}
        self.tables_built = 0
        self.setup_seconds = time.perf_counter() - began

    def _new_key(self) -> Any:
        while True:
            try:
                return PrivateKey(self.rng.randbytes(32)).public_key
            except ValueError:  # out of the curve's range: astronomically rare
                continue

    def table_of(self, node: SimNode) -> RoutingTable[Contact]:
        """``node``'s table: up to k random peers per bucket, as a settled network would give it,
        built from the node's own random stream the first time it is needed."""
        if node._table is None:
            config = self.config
            node._table = RoutingTable(node.contact.node_id, k=config.k)
            rng = random.Random(f"{config.seed}:table:{node.index}")
            per_bucket = min(config.fill_per_bucket or config.k, config.k)
            own = int.from_bytes(node.contact.node_id, "big")
            low, high = config.latency
            for i in ideal_table(own, self._ranked, config.k, per_bucket, rng):
                node._table.add(self.nodes[self._order[i]].contact, 0.0, rtt=2 * rng.uniform(low, high))
            self.tables_built += 1
        return node._table

    def true_closest(self, key: bytes, exclude: SimNode) -> bytes:
        """The live node closest to ``key`` other than ``exclude`` (a walk down the sorted IDs)."""
        key_int = int.from_bytes(key, "big")
        ranked = self._live_ranked
        best = ranked[xor_closest(ranked, key_int)]
        if self._by_int[best] is exclude:
            others = [v for v in ranked if v != best]
            best = others[xor_closest(others, key_int)]
        return self._by_int[best].contact.node_id

    def run_lookup(self, source: SimNode, key: bytes) -> tuple[LookupRecord, int]:
        """One lookup to its end; returns its record and the messages it caused."""
        config = self.config
        lookup: Lookup[Contact] = Lookup(
            key,
            self.table_of(source).closest(key, config.k),
            self_id=source.contact.node_id,
            k=config.k,
            alpha=config.alpha,
            request_timeout=config.request_timeout,
            attempts=config.attempts,
            lookup_timeout=config.lookup_timeout,
        )
        started = self.now
        sent_before = self.network.sent
        sent_at: dict[int, float] = {}
        step = lookup.start(self.now)
        while True:
            for request in step.requests:
                target = self._by_id[request.peer.node_id]
                sent_at[target.index] = self.now
                self.network.send(self.now, FindRequest(source.index, target.index, request.key))
            for peer in step.timed_out:
                source.table.record_failure(peer.node_id)
            if lookup.done:
                break
            event_time = self.network.next_event_time()
            deadline = step.deadline
            if event_time is None or (deadline is not None and deadline < event_time):
                assert deadline is not None
                self.now = deadline
                step = lookup.handle_timer(self.now)
                continue
            self.now, message = self.network.pop()
            step = self._deliver(message, source, lookup, sent_at)
        self.network.clear()
        result = lookup.result
        truth = self.true_closest(key, source)
        record = LookupRecord(
            success=bool(result.closest) and result.closest[0].node_id == truth,
            hops=result.hops,
            requests=result.requests_sent,
            status=result.status,
            duration=self.now - started,
        )
        return record, self.network.sent - sent_before

    def _deliver(
        self, message: Message, source: SimNode, lookup: Lookup[Contact], sent_at: dict[int, float]
    ) -> LookupStep[Contact]:
        if isinstance(message, FindRequest):
            responder = self.nodes[message.target]
            if responder.alive:
                self.table_of(responder)
                self.network.send(self.now, responder.answer(message, source.contact, self.now))
            return lookup.handle_timer(self.now)
        responder = self.nodes[message.source]
        rtt = self.now - sent_at.get(responder.index, self.now)
        source.table.add(responder.contact, self.now, rtt=rtt)
        return lookup.on_response(responder.contact, message.contacts, self.now)

    def run(self) -> SimReport:
        began = time.perf_counter()
        self._by_id = {n.contact.node_id: n for n in self.nodes}
        records = []
        messages = 0
        for _ in range(self.config.lookups):
            source = self.rng.choice(self.live)
            key = self.rng.randbytes(32)
            record, sent = self.run_lookup(source, key)
            records.append(record)
            messages += sent
        tables = [len(n.table) for n in self.nodes if n._table is not None]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        extra = {
            "table_size_mean": round(sum(tables) / max(len(tables), 1), 1),
            "tables_built": self.tables_built,
            "cpu_seconds": round(time.process_time() - self._cpu_began, 3),
            "peak_rss_bytes": peak,
            "memory_per_node_bytes": round((peak - self._rss_began) / self.config.nodes),
        }
        return SimReport(
            self.config,
            tuple(records),
            messages,
            "requests and answers sent (lost ones included)",
            self.setup_seconds,
            self.setup_seconds + time.perf_counter() - began,
            extra,
        )
