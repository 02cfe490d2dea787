"""The abstract simulator model: sans-IO routing tables and lookups over an idealised network.

Messages are Python values delivered after a random latency or lost with probability ``loss``;
there is no wire format, no engine and no crypto, so it is fast (10 000 nodes in seconds). Routing
tables are filled the way a long-running network would have them: every node knows up to k random
peers of each of its buckets. ``churn`` then removes a fraction of nodes without notice (they stay
in everybody's tables). Lookups run one after the other.
"""

from __future__ import annotations

import bisect
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
from ._sim_report import LookupRecord, SimConfig, SimReport

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
    __slots__ = ("alive", "contact", "index", "table")

    def __init__(self, index: int, contact: Contact, k: int) -> None:
        self.index = index
        self.contact = contact
        self.table: RoutingTable[Contact] = RoutingTable(contact.node_id, k=k)
        self.alive = True

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


def ideal_table(
    own: int, ranked: list[int], k: int, per_bucket: int, rng: random.Random
) -> list[int]:
    """Positions in ``ranked`` (all node IDs as integers, sorted) of the peers a settled node
    ``own`` knows: every member of a bucket with at most ``k`` members, else ``per_bucket``
    random ones."""
    chosen: list[int] = []
    for bucket in range(255, -1, -1):
        # Peers of this bucket share our top 255-bucket bits and differ at bit `bucket`.
        start = ((own >> bucket) ^ 1) << bucket
        lo, hi = bisect.bisect_left(ranked, start), bisect.bisect_left(ranked, start + (1 << bucket))
        if hi - lo <= k:
            chosen.extend(range(lo, hi))
        else:
            chosen.extend(rng.sample(range(lo, hi), per_bucket))
        group = (own >> bucket) << bucket
        if bisect.bisect_left(ranked, group + (1 << bucket)) - bisect.bisect_left(ranked, group) <= 1:
            break  # nobody else shares our prefix: all nearer buckets are empty
    return chosen


class AbstractSimulator:
    def __init__(self, config: SimConfig) -> None:
        config.check()
        began = time.perf_counter()
        self._cpu_began = time.process_time()
        self.config = config
        self.rng = random.Random(config.seed)
        self.network = SimNetwork(random.Random(self.rng.getrandbits(64)), config.loss, config.latency)
        self.now = 0.0
        self.nodes = [SimNode(i, Contact(self._new_key()), config.k) for i in range(config.nodes)]
        self._fill_tables()
        for node in self.rng.sample(self.nodes, int(config.churn * config.nodes)):
            node.alive = False
        self.live = [n for n in self.nodes if n.alive]
        self.setup_seconds = time.perf_counter() - began

    def _new_key(self) -> Any:
        while True:
            try:
                return PrivateKey(self.rng.randbytes(32)).public_key
            except ValueError:  # out of the curve's range: astronomically rare
                continue

    def _fill_tables(self) -> None:
        """Give every node up to k random peers per bucket, as a settled network would."""
        ranked = sorted(self.nodes, key=lambda n: n.contact.node_id)
        ints = [int.from_bytes(n.contact.node_id, "big") for n in ranked]
        low, high = self.config.latency
        per_bucket = self.config.fill_per_bucket or self.config.k
        for node in self.nodes:
            own = int.from_bytes(node.contact.node_id, "big")
            for i in ideal_table(own, ints, self.config.k, min(per_bucket, self.config.k), self.rng):
                node.table.add(ranked[i].contact, 0.0, rtt=2 * self.rng.uniform(low, high))

    def true_closest(self, key: bytes, exclude: SimNode) -> bytes:
        key_int = int.from_bytes(key, "big")
        best = min(
            (n for n in self.live if n is not exclude),
            key=lambda n: int.from_bytes(n.contact.node_id, "big") ^ key_int,
        )
        return best.contact.node_id

    def run_lookup(self, source: SimNode, key: bytes) -> tuple[LookupRecord, int]:
        """One lookup to its end; returns its record and the messages it caused."""
        config = self.config
        lookup: Lookup[Contact] = Lookup(
            key,
            source.table.closest(key, config.k),
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
        tables = [len(n.table) for n in self.nodes]
        extra = {
            "table_size_mean": round(sum(tables) / len(tables), 1),
            "cpu_seconds": round(time.process_time() - self._cpu_began, 3),
            "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
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
