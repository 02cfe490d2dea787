"""What both simulator models share: the configuration, one record per lookup, the report."""

from __future__ import annotations

import resource
import statistics
from typing import Any, Literal

import attrs

from ._lookup import ALPHA, LookupStatus
from ._routing import K

__all__ = [
    "FILLS", "MODELS", "NAT_KINDS", "PACKETS", "Fill", "LookupRecord", "Model", "Packets", "SimConfig", "SimReport",
    "current_rss_bytes",
]  # fmt: skip

Model = Literal["engine", "abstract"]
MODELS: tuple[Model, ...] = ("engine", "abstract")
Fill = Literal["direct", "handshake"]
FILLS: tuple[Fill, ...] = ("direct", "handshake")
Packets = Literal["trusted", "signed"]
PACKETS: tuple[Packets, ...] = ("trusted", "signed")
NAT_KINDS: tuple[str, ...] = ("none", "full_cone", "restricted", "symmetric")  # see peernet_dht._sim_nat


def _mix(value: Any) -> tuple[tuple[str, float], ...]:
    """A NAT mix as (kind, fraction) pairs in the order of :data:`NAT_KINDS` (from a dict or pairs)."""
    pairs = value.items() if isinstance(value, dict) else value
    rank = {kind: position for position, kind in enumerate(NAT_KINDS)}
    return tuple(sorted(((str(kind), float(fraction)) for kind, fraction in pairs), key=lambda p: rank.get(p[0], 99)))


def _pairs(value: Any) -> tuple[tuple[float, float], ...]:
    """A churn schedule as a tuple of (time, fraction) pairs (lists from JSON or attrs.asdict too)."""
    return tuple((float(at), float(fraction)) for at, fraction in value)


@attrs.frozen
class SimConfig:
    """One simulation run.

    ``model``: ``"engine"`` runs every node as a real :class:`peernet_proto.PeerEngine` in a
    discrete-event loop (real packets and codecs, simulated time; crypto with ``packets="signed"``);
    ``"abstract"`` exchanges Python values on an idealised network (fast, no wire format).

    ``latency`` is the one-way delay range in seconds: per message in the abstract model, per
    sending host in the engine model (each host draws its delay once, on a 1/1024 s grid).
    ``fill_per_bucket`` is how many random peers of a bucket with more than k candidates a node
    knows (None: k). Engine model: ``fill`` ``"direct"`` installs the tables a clean handshake
    fill would leave, ``"handshake"`` shakes hands for real (retrying lost ones ``fill_rounds``
    times); ``packets`` ``"trusted"`` skips signatures and encryption, ``"signed"`` is the wire
    format (same results for the same seed); ``workers`` > 1 splits the nodes over that many
    processes (Ray; ``ray_address`` names a cluster), with the same results. ``leaves`` is a
    churn schedule (engine model): at each given time after the lookups begin, that fraction of
    all nodes (drawn from those still up) leaves without notice; a lookup's truth is the node
    closest to its key among those up when it starts. ``stores`` and ``searches``: values stored
    and fetched again, files published and searched for, through every node's
    :class:`DhtService` (see :mod:`peernet_dht._sim_workload`). ``joins`` (engine model): at each
    given time after the lookups begin, that fraction of all nodes (drawn from those that never
    leave; offline until then, in no table) comes up and bootstraps through a root node with a
    real handshake; the engine's bootstrap then walks towards its own ID. ``nat`` is a NAT mix (engine
    model): (kind, fraction of all nodes) pairs of :data:`NAT_KINDS` (a dict is accepted too); the
    rest of the nodes have no NAT (see :mod:`peernet_dht._sim_nat`).
    """

    nodes: int
    lookups: int
    seed: int = 0
    loss: float = 0.0  # probability that any single datagram / message is lost
    churn: float = 0.0  # fraction of nodes that leave without notice before the lookups
    model: Model = "engine"
    k: int = K
    alpha: int = ALPHA
    latency: tuple[float, float] = (0.01, 0.15)
    request_timeout: float = 0.5  # > the largest simulated round trip (0.3 s)
    attempts: int = 4  # 10 % loss per datagram loses ~19 % of round trips
    lookup_timeout: float = 6.0  # keeps an engine run under the 10 s keep-alive threshold (see _sim_engine)
    fill_per_bucket: int | None = None
    fill_rounds: int = 4
    fill: Fill = "direct"
    packets: Packets = "trusted"
    workers: int = 1
    ray_address: str | None = None
    fill_spread: float = 1.0  # seconds over which the nodes start filling their tables
    lookup_spread: float = 1.0  # seconds over which the lookups start
    stores: int = 0  # values stored (each fetched once by another node), engine model, one process
    searches: int = 0  # files published (each searched for once by another node), likewise
    leaves: tuple[tuple[float, float], ...] = attrs.field(default=(), converter=_pairs)  # (seconds after the
    # lookups begin, fraction of all nodes), the churn schedule
    joins: tuple[tuple[float, float], ...] = attrs.field(default=(), converter=_pairs)  # (seconds after the
    # lookups begin, fraction of all nodes): nodes offline until then, that join through a root
    nat: tuple[tuple[str, float], ...] = attrs.field(default=(), converter=_mix)  # (kind, fraction of all nodes);
    # the rest have none (engine model, see peernet_dht._sim_nat)

    def check(self) -> None:
        """Raise ValueError for settings that make no sense."""
        if self.nodes < 2:
            raise ValueError("need at least 2 nodes")
        if self.lookups < 0:
            raise ValueError("the number of lookups cannot be negative")
        if not 0 <= self.loss < 1 or not 0 <= self.churn < 1:
            raise ValueError("loss and churn must be in [0, 1)")
        if self.nodes - int(self.churn * self.nodes) < 2:
            raise ValueError("churn leaves fewer than 2 nodes")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}")
        if self.k < 1 or self.alpha < 1 or self.attempts < 1:
            raise ValueError("k, alpha and attempts must be positive")
        low, high = self.latency
        if not 0 < low <= high:
            raise ValueError("latency must be a range 0 < low <= high")
        if self.request_timeout <= 0 or self.lookup_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.fill_per_bucket is not None and self.fill_per_bucket < 1:
            raise ValueError("fill per bucket must be positive")
        if self.fill not in FILLS or self.packets not in PACKETS:
            raise ValueError(f"fill must be one of {', '.join(FILLS)}; packets one of {', '.join(PACKETS)}")
        if self.workers < 1:
            raise ValueError("workers must be positive")
        if self.workers > 1 and (self.fill != "direct" or self.model != "engine"):
            raise ValueError("sharded runs (workers > 1) need the engine model and direct fill")
        if self.fill_rounds < 0 or self.fill_spread < 0 or self.lookup_spread < 0:
            raise ValueError("fill rounds and spreads cannot be negative")
        self._check_leaves()
        self._check_joins()
        self._check_nat()
        if self.stores < 0 or self.searches < 0:
            raise ValueError("the number of stores or searches cannot be negative")
        if (self.stores or self.searches) and (self.model != "engine" or self.workers > 1):
            raise ValueError("stores and searches need the engine model in one process (workers = 1)")

    def _check_leaves(self) -> None:
        if not self.leaves:
            return
        if self.model != "engine":
            raise ValueError("a churn schedule needs the engine model")
        if any(at < 0 or not 0 < fraction < 1 for at, fraction in self.leaves):
            raise ValueError("churn schedule: times must be >= 0 and fractions in (0, 1)")
        leaving = int(self.churn * self.nodes) + sum(int(fraction * self.nodes) for _, fraction in self.leaves)
        if self.nodes - leaving < 2:
            raise ValueError("the churn schedule leaves fewer than 2 nodes")

    def _check_joins(self) -> None:
        if not self.joins:
            return
        if self.model != "engine":
            raise ValueError("joining nodes need the engine model")
        if any(at < 0 or not 0 < fraction < 1 for at, fraction in self.joins):
            raise ValueError("joins: times must be >= 0 and fractions in (0, 1)")
        schedule = (*self.leaves, *self.joins)
        away = int(self.churn * self.nodes) + sum(int(fraction * self.nodes) for _, fraction in schedule)
        if self.nodes - away < 2:
            raise ValueError("leaving and joining nodes leave fewer than 2 nodes up all the run")

    def _check_nat(self) -> None:
        if not self.nat:
            return
        if self.model != "engine":
            raise ValueError("a NAT mix needs the engine model")
        kinds = [kind for kind, _ in self.nat]
        if any(kind not in NAT_KINDS for kind in kinds) or len(set(kinds)) != len(kinds):
            raise ValueError(f"NAT mix: kinds must be distinct, of {', '.join(NAT_KINDS)}; not {', '.join(kinds)}")
        if any(not 0 <= fraction <= 1 for _, fraction in self.nat) or sum(f for _, f in self.nat) > 1 + 1e-9:
            raise ValueError("NAT mix: fractions must be in [0, 1] and add up to at most 1")

    def nat_mix(self) -> dict[str, float]:
        """The fraction of nodes behind each kind of NAT (``none``: the rest)."""
        mix = {kind: fraction for kind, fraction in self.nat if kind != "none"}
        return {"none": round(max(1.0 - sum(mix.values()), 0.0), 6), **mix}


def current_rss_bytes() -> int:
    """This process's resident memory now (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


@attrs.frozen
class LookupRecord:
    success: bool  # the result's nearest peer is the live node truly closest to the key
    hops: int  # LookupResult.hops: discovery depth of the nearest answering peer (own table = 1)
    requests: int  # requests this lookup sent, retries included
    status: LookupStatus
    duration: float  # simulated seconds from start to result


@attrs.frozen
class SimReport:
    config: SimConfig
    records: tuple[LookupRecord, ...]
    messages: int  # lookup messages in total (see ``messages_counted``)
    messages_counted: str  # what ``messages`` counts, in words
    setup_seconds: float  # wall seconds before the first lookup (building and filling the network)
    wall_seconds: float  # wall seconds in total
    extra: dict[str, Any] = attrs.field(factory=dict)  # model-specific figures
    loads: tuple[int, ...] = ()  # per live node: messages received during the lookups (sorted)

    @property
    def success_rate(self) -> float:
        return sum(r.success for r in self.records) / max(len(self.records), 1)

    def as_dict(self) -> dict[str, Any]:
        hops = sorted(r.hops for r in self.records) or [0]
        n = max(len(self.records), 1)
        config = self.config
        return {
            "model": config.model,
            "nodes": config.nodes,
            "lookups": len(self.records),
            "seed": config.seed,
            "loss": config.loss,
            "churn": config.churn,
            "k": config.k,
            "alpha": config.alpha,
            "success_rate": self.success_rate,
            "hops_median": statistics.median(hops),
            "hops_p95": hops[min(len(hops) - 1, int(0.95 * len(hops)))],
            "messages_per_lookup": self.messages / n,
            "messages_counted": self.messages_counted,
            "requests_per_lookup": sum(r.requests for r in self.records) / n,
            "simulated_seconds_median": statistics.median([r.duration for r in self.records] or [0.0]),
            "deadline_hits": sum(r.status is LookupStatus.DEADLINE for r in self.records),
            "setup_seconds": round(self.setup_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            **self.extra,
            **self._load_figures(),
        }

    def _load_figures(self) -> dict[str, float]:
        loads = self.loads
        if not loads:
            return {}
        return {
            "load_mean": round(sum(loads) / len(loads), 2),
            "load_p99": loads[min(len(loads) - 1, int(0.99 * len(loads)))],
            "load_max": loads[-1],
        }
