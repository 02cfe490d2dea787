"""A Kademlia simulator for researchers: sans-IO routing tables and lookups over a simulated network.

    python -m peernet_dht.sim --nodes 10000 --lookups 1000 --seed 1 [--loss 0.1] [--churn 0.3] --json

Everything runs in one process on simulated time: messages are Python values delivered after a
random latency or lost with probability ``loss``. :class:`SimNetwork` is the transport; a lookup
only talks to it through ``send`` / ``next_event_time`` / ``pop``, so the real engine (or the
in-memory network of peernet_proto) can take its place later.

Routing tables are filled the way a long-running network would have them: every node knows up to
k random peers of each of its buckets. ``churn`` then removes a fraction of nodes without notice
(they stay in everybody's tables). A lookup succeeds when its result holds the live node truly
closest to the key (computed by brute force).
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import importlib
import json
import logging
import random
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs
from peernet_proto import PrivateKey

from ._contact import Contact
from ._lookup import ALPHA, Lookup, LookupStatus
from ._routing import K, RoutingTable

__all__ = [
    "FindRequest",
    "FindResponse",
    "LookupRecord",
    "SimConfig",
    "SimNetwork",
    "SimNode",
    "SimReport",
    "Simulator",
    "main",
    "simulate",
    "write_hops_plot",
]

log = logging.getLogger(__name__)


@attrs.frozen
class SimConfig:
    nodes: int
    lookups: int
    seed: int = 0
    loss: float = 0.0  # probability that any single message is lost
    churn: float = 0.0  # fraction of nodes that leave without notice before the lookups
    k: int = K
    alpha: int = ALPHA
    latency: tuple[float, float] = (0.01, 0.15)  # one-way, seconds, uniform
    request_timeout: float = 0.5  # ~1.7 × the largest simulated round trip
    attempts: int = 4  # 10 % loss per message loses ~19 % of round trips
    lookup_timeout: float = 10.0


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
    __slots__ = ("index", "contact", "table", "alive")

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


@attrs.frozen
class LookupRecord:
    success: bool
    hops: int
    messages: int
    status: LookupStatus
    duration: float


@attrs.frozen
class SimReport:
    config: SimConfig
    records: tuple[LookupRecord, ...]
    setup_seconds: float
    wall_seconds: float

    def as_dict(self) -> dict[str, Any]:
        hops = sorted(r.hops for r in self.records) or [0]
        n = max(len(self.records), 1)
        return {
            "nodes": self.config.nodes,
            "lookups": len(self.records),
            "seed": self.config.seed,
            "loss": self.config.loss,
            "churn": self.config.churn,
            "k": self.config.k,
            "alpha": self.config.alpha,
            "success_rate": sum(r.success for r in self.records) / n,
            "hops_median": statistics.median(hops),
            "hops_p95": hops[min(len(hops) - 1, int(0.95 * len(hops)))],
            "messages_per_lookup": sum(r.messages for r in self.records) / n,
            "simulated_seconds_median": statistics.median([r.duration for r in self.records] or [0.0]),
            "deadline_hits": sum(r.status is LookupStatus.DEADLINE for r in self.records),
            "setup_seconds": round(self.setup_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
        }


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        if config.nodes < 2 or not 0 <= config.loss < 1 or not 0 <= config.churn < 1:
            raise ValueError("need at least 2 nodes, loss and churn in [0, 1)")
        self.config = config
        self.rng = random.Random(config.seed)
        self.network = SimNetwork(random.Random(self.rng.getrandbits(64)), config.loss, config.latency)
        self.now = 0.0
        self.nodes = [SimNode(i, Contact(self._new_key()), config.k) for i in range(config.nodes)]
        self._fill_tables()
        for node in self.rng.sample(self.nodes, int(config.churn * config.nodes)):
            node.alive = False
        self.live = [n for n in self.nodes if n.alive]

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
        for node in self.nodes:
            own = int.from_bytes(node.contact.node_id, "big")
            for bucket in range(255, -1, -1):
                # Peers of this bucket share our top 255-bucket bits and differ at bit `bucket`.
                start = ((own >> bucket) ^ 1) << bucket
                lo, hi = bisect.bisect_left(ints, start), bisect.bisect_left(ints, start + (1 << bucket))
                for i in self.rng.sample(range(lo, hi), min(self.config.k, hi - lo)):
                    node.table.add(ranked[i].contact, 0.0, rtt=2 * self.rng.uniform(low, high))
                own_group = ((own >> bucket) << bucket, ((own >> bucket) + 1) << bucket)
                if bisect.bisect_left(ints, own_group[1]) - bisect.bisect_left(ints, own_group[0]) <= 1:
                    break  # nobody else shares our prefix: all nearer buckets are empty

    def true_closest(self, key: bytes, exclude: SimNode) -> bytes:
        key_int = int.from_bytes(key, "big")
        best = min(
            (n for n in self.live if n is not exclude),
            key=lambda n: int.from_bytes(n.contact.node_id, "big") ^ key_int,
        )
        return best.contact.node_id

    def run_lookup(self, source: SimNode, key: bytes) -> LookupRecord:
        config = self.config
        by_id = {n.contact.node_id: n for n in self.nodes}
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
                target = by_id[request.peer.node_id]
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
        return LookupRecord(
            success=any(c.node_id == truth for c in result.closest),
            hops=result.hops,
            messages=self.network.sent - sent_before,
            status=result.status,
            duration=self.now - started,
        )

    def _deliver(
        self, message: Message, source: SimNode, lookup: Lookup[Contact], sent_at: dict[int, float]
    ) -> Any:
        if isinstance(message, FindRequest):
            responder = self.nodes[message.target]
            if responder.alive:
                self.network.send(self.now, responder.answer(message, source.contact, self.now))
            return lookup.handle_timer(self.now)
        responder = self.nodes[message.source]
        rtt = self.now - sent_at.get(responder.index, self.now)
        source.table.add(responder.contact, self.now, rtt=rtt)
        return lookup.on_response(responder.contact, message.contacts, self.now)

    def run(self, setup_seconds: float = 0.0) -> SimReport:
        began = time.perf_counter()
        records = []
        for _ in range(self.config.lookups):
            source = self.rng.choice(self.live)
            key = self.rng.randbytes(32)
            records.append(self.run_lookup(source, key))
        return SimReport(self.config, tuple(records), setup_seconds, setup_seconds + time.perf_counter() - began)


def simulate(config: SimConfig) -> SimReport:
    began = time.perf_counter()
    simulator = Simulator(config)
    return simulator.run(setup_seconds=time.perf_counter() - began)


def write_hops_plot(report: SimReport, path: str) -> bool:
    """A histogram of hops per lookup as PNG; False if matplotlib is not installed."""
    try:  # optional: matplotlib is not a dependency
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return False
    hops = [r.hops for r in report.records]
    figure, axes = plt.subplots()
    axes.hist(hops, bins=range(0, max(hops, default=0) + 2), align="left", rwidth=0.8)
    axes.set_xlabel("hops")
    axes.set_ylabel("lookups")
    axes.set_title(f"{report.config.nodes} nodes, loss {report.config.loss}, churn {report.config.churn}")
    figure.savefig(path)
    plt.close(figure)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peernet_dht.sim", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--lookups", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--churn", type=float, default=0.0)
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--alpha", type=int, default=ALPHA)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", metavar="PNG", help="write a hops histogram (needs matplotlib)")
    args = parser.parse_args(argv)
    try:
        config = SimConfig(
            nodes=args.nodes, lookups=args.lookups, seed=args.seed, loss=args.loss, churn=args.churn,
            k=args.k, alpha=args.alpha,
        )
        report = simulate(config)
    except ValueError as exc:
        parser.error(str(exc))
    summary = report.as_dict()
    if args.plot and not write_hops_plot(report, args.plot):
        print("matplotlib is not installed: no plot written", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        for name, value in summary.items():
            print(f"{name:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
