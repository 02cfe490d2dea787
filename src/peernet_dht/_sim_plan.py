"""The engine simulator's plan: everything about a run that follows from the seed alone.

Keys, latencies, ideal tables, who introduces whom, which nodes leave and which lookups run are
drawn from random streams named after their purpose (and, per node, after its index), never from
one shared stream consumed in processing order. So a shard that simulates only some nodes still
sees exactly the plan the unsharded run sees.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections.abc import Iterator
from typing import Final

from peernet_proto import PrivateKey, PublicKey

from ._sim_ideal import ideal_table, xor_closest
from ._sim_nat import assign_nat
from ._sim_report import SimConfig

__all__ = ["GRID", "JOIN_SETTLE", "PORT", "FillEdge", "LookupPlan", "SimPlan", "address_of", "on_grid", "stream"]

GRID: Final = 1024  # time steps per second
PORT: Final = 112

# (time the packet arrives, sender = the peer the receiver learns, receiver, rtt or None)
FillEdge = tuple[float, int, int, float | None]
JOIN_SETTLE: Final = 1.0  # seconds after joining from which a node may start lookups
_NODE_BITS = 22  # packed edges per time step: sender | receiver | learns from a Response (1 bit)


def on_grid(seconds: float) -> float:
    """``seconds`` rounded up to the 1/1024 s grid (many events share a time step)."""
    return math.ceil(seconds * GRID - 1e-9) / GRID


def stream(seed: int, purpose: str, index: int = -1) -> random.Random:
    """A random stream for one purpose (and one node): independent of processing order."""
    return random.Random(f"{seed}:{purpose}:{index}")


def address_of(index: int) -> str:
    """A public IPv4 address per node, each in its own /24 as on the Internet (records of private
    addresses are not shared; the engine shares its table per source prefix)."""
    return f"{11 + index // 62500}.{index // 250 % 250}.{index % 250}.1"


class LookupPlan:
    """One lookup: where it starts, when, for which key, and the live node truly closest."""

    __slots__ = ("key", "source", "start", "target", "truth")

    def __init__(self, source: int, key: bytes, truth: bytes, start: float, target: int = -1) -> None:
        self.source, self.key, self.truth, self.start = source, key, truth, start
        self.target = target  # the index of the truth node


class SimPlan:
    """Keys, latencies, tables to fill, churn and lookups of one run (identical in every shard)."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        seed = config.seed
        keys = stream(seed, "keys")
        self.private_keys = [_new_key(keys) for _ in range(config.nodes)]
        self.public_keys: list[PublicKey] = [key.public_key for key in self.private_keys]
        self.ids = [int.from_bytes(key.node_id, "big") for key in self.public_keys]
        low, high = config.latency
        latencies = stream(seed, "latency")
        self.latencies = [max(1, round(latencies.uniform(low, high) * GRID)) / GRID for _ in range(config.nodes)]
        self.min_latency = min(self.latencies)
        self.round_trip = 2 * max(self.latencies) + 0.1  # time to wait for an answer, with a margin
        churn = stream(seed, "churn")
        self.leaving = frozenset(churn.sample(range(config.nodes), int(config.churn * config.nodes)))
        self.leave_at = self._schedule_leaves()  # node -> seconds after the lookups begin (churn schedule)
        self.join_at = self._schedule_joins()  # node -> seconds after the lookups begin: offline until then
        present = (i for i in range(config.nodes) if i not in self.join_at)  # in the tables at the start
        self.order = sorted(present, key=self.ids.__getitem__)  # node indexes by ID
        self.ranked = [self.ids[i] for i in self.order]
        self.nat = assign_nat(config.nat, config.nodes, stream(seed, "nat"))  # NAT kind per node (_sim_nat)
        self.fill_time = on_grid(config.fill_spread + self.round_trip)  # when a clean handshake fill is over

    def _schedule_leaves(self) -> dict[int, float]:
        config = self.config
        rng = stream(config.seed, "churn schedule")
        up = sorted(set(range(config.nodes)) - self.leaving)
        leave_at: dict[int, float] = {}
        for at, fraction in sorted(self.config.leaves):
            gone = rng.sample(up, int(fraction * config.nodes))
            leave_at.update((index, on_grid(at)) for index in gone)
            up = sorted(set(up) - set(gone))
        return leave_at

    def _schedule_joins(self) -> dict[int, float]:
        """Nodes that join (drawn from those that never leave): offline, in no table, until then."""
        config = self.config
        rng = stream(config.seed, "join schedule")
        candidates = [i for i in range(config.nodes) if i not in self.leaving and i not in self.leave_at]
        join_at: dict[int, float] = {}
        for at, fraction in sorted(config.joins):
            joining = rng.sample(candidates, int(fraction * config.nodes))
            join_at.update((index, on_grid(at)) for index in joining)
            candidates = sorted(set(candidates) - set(joining))
        return join_at

    def up_at(self, moment: float) -> list[int]:
        """Nodes up ``moment`` seconds after the lookups begin (by index): not left, and joined."""
        leave_at, join_at = self.leave_at, self.join_at
        return [
            i for i in range(self.config.nodes)
            if i not in self.leaving and leave_at.get(i, math.inf) > moment and join_at.get(i, -math.inf) <= moment
        ]  # fmt: skip

    def stayers(self) -> list[int]:
        """Nodes up all the run (by index): the sources of stores and gets, and of lookups (with the
        nodes that joined at least :data:`JOIN_SETTLE` seconds before a lookup starts)."""
        join_at = self.join_at
        return [
            i for i in range(self.config.nodes) if i not in self.leaving and i not in self.leave_at and i not in join_at
        ]

    def join_root(self, index: int) -> int:
        """The node a joining node bootstraps through: one up all the run, without NAT if there is one."""
        stayers = self.stayers()
        public = [i for i in stayers if not self.nat[i]] or stayers
        return stream(self.config.seed, "join root", index).choice(public)

    def fill_start(self, index: int) -> float:
        """When node ``index`` starts shaking hands."""
        return on_grid(self.config.fill_spread * index / self.config.nodes)

    def ideal(self, index: int) -> array[int]:
        """Node indexes of the ideal table of ``index``, sorted."""
        config = self.config
        if index in self.join_at:
            return array("l")  # offline at the start: knows no one (and no one knows it)
        per_bucket = min(config.fill_per_bucket or config.k, config.k)
        positions = ideal_table(self.ids[index], self.ranked, config.k, per_bucket, stream(config.seed, "table", index))
        return array("l", sorted(self.order[p] for p in positions))

    def tables(self) -> list[array[int]]:
        """Every node's ideal table (a few bytes per entry)."""
        return [self.ideal(index) for index in range(self.config.nodes)]

    def fill_targets(self, tables: list[array[int]], index: int) -> list[int]:
        """Whom ``index`` shakes hands with: a pair that chose each other is introduced by the lower index."""
        return [p for p in tables[index] if p > index or not _contains(tables[p], index)]

    def fill_edges(self, tables: list[array[int]], owned: range | None = None) -> Iterator[FillEdge]:
        """What a clean handshake fill teaches the nodes in ``owned``, in the order they learn it
        (arrival time, then sender, as the event loop orders datagrams); see :data:`FillEdge`.
        The Response arriving teaches the initiator the target, with the round trip time; the
        target answers a stranger's Announcement without state and learns the initiator when the
        Response to its routability token arrives, one more round trip later. Kept as 64-bit
        integers per time step while sorting (millions of edges; one step's list at a time)."""
        owned = owned or range(self.config.nodes)
        if self.config.nodes >= 1 << _NODE_BITS:
            raise ValueError(f"at most {(1 << _NODE_BITS) - 1} nodes")
        by_step: dict[int, array[int]] = {}  # time step -> packed (sender, receiver, response): 8 bytes an edge
        latencies = self.latencies
        for index in range(self.config.nodes):
            start = self.fill_start(index)
            for target in self.fill_targets(tables, index):
                if target in owned:
                    self._pack(by_step, start + 2 * latencies[index] + latencies[target], index, target, 0)
                if index in owned:
                    self._pack(by_step, start + latencies[index] + latencies[target], target, index, 1)
        mask = (1 << _NODE_BITS) - 1
        rtts: dict[float, float] = {}  # one float object per round trip time, shared by all entries
        for step in sorted(by_step):
            moment = step / GRID
            for value in sorted(by_step.pop(step)):
                sender, receiver = value >> (_NODE_BITS + 1), value >> 1 & mask
                rtt = None
                if value & 1:
                    rtt = latencies[receiver] + latencies[sender]
                    rtt = rtts.setdefault(rtt, rtt)
                yield (moment, sender, receiver, rtt)

    @staticmethod
    def _pack(by_step: dict[int, array[int]], when: float, sender: int, receiver: int, response: int) -> None:
        steps = math.ceil(when * GRID - 1e-9)
        if steps >= 1 << 16:
            raise ValueError("the fill must end within 64 simulated seconds")
        group = by_step.get(steps)
        if group is None:
            group = by_step[steps] = array("q")
        group.append((sender << _NODE_BITS | receiver) << 1 | response)

    def lookups(self) -> list[LookupPlan]:
        """The lookups: random keys from random sources that stay up (joined nodes from
        :data:`JOIN_SETTLE` seconds after they joined), started over ``lookup_spread`` seconds; the
        truth is the node closest to the key among those up when the lookup starts."""
        config = self.config
        rng = stream(config.seed, "lookups")
        stayers = self.stayers()
        settled = {index: at + JOIN_SETTLE for index, at in self.join_at.items()}
        times = sorted(set(self.leave_at.values()) | set(self.join_at.values()) | set(settled.values()))
        epochs: dict[int, tuple[list[int], dict[int, int], list[int]]] = {}  # changes before the start -> who is up
        plans = []
        for number in range(config.lookups):
            start = on_grid(config.lookup_spread * number / max(config.lookups, 1))
            epoch = bisect.bisect_right(times, start)
            if epoch not in epochs:
                live = self.up_at(start)
                sources = sorted(stayers + [i for i, at in settled.items() if at <= start]) if settled else stayers
                epochs[epoch] = (sorted(self.ids[i] for i in live), {self.ids[i]: i for i in live}, sources)
            live_ranked, by_id, sources = epochs[epoch]
            source = rng.choice(sources)
            key = rng.randbytes(32)
            key_int = int.from_bytes(key, "big")
            best = live_ranked[xor_closest(live_ranked, key_int)]
            if best == self.ids[source]:
                others = [v for v in live_ranked if v != best]
                best = others[xor_closest(others, key_int)]
            plans.append(LookupPlan(source, key, self.public_keys[by_id[best]].node_id, start, by_id[best]))
        return plans


def _contains(table: array[int], value: int) -> bool:
    position = bisect.bisect_left(table, value)
    return position < len(table) and table[position] == value


def _new_key(rng: random.Random) -> PrivateKey:
    while True:
        try:
            return PrivateKey(rng.randbytes(32))
        except ValueError:  # out of the curve's range: astronomically rare
            continue
