"""Reachability: what kind of network the node sits in, learned from what peers report, sans-IO.

Feed it the endpoints peers saw us at (and our port mappings); it classifies the node as public,
behind a NAT with a consistent (endpoint-independent) mapping, behind a NAT with a random
(symmetric) mapping, or unknown. A change needs several agreeing evaluations in a row
(hysteresis), so the result does not flap. A working port mapping is first-hand evidence and
wins at once.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Hashable

import attrs

from ._types import IPAddress, PortMapping

__all__ = [
    "FEATURE_FIREWALL_BIT",
    "Endpoint",
    "Reachability",
    "ReachabilityChanged",
    "ReachabilityClass",
    "ReachabilityTracker",
]

FEATURE_FIREWALL_BIT = 2  # Announcement feature bit: "behind a firewall, not reachable directly"
#: An IP address and a port.
Endpoint = tuple[IPAddress, int]


class ReachabilityClass(enum.Enum):
    """How others can reach us, as judged from the addresses peers observe."""
    UNKNOWN = "unknown"
    PUBLIC = "public"
    NAT_CONSISTENT = "nat-consistent"  # cone: every peer sees the same external endpoint
    NAT_RANDOM = "nat-random"  # symmetric: a new external port per peer
    MAPPED = "mapped"  # behind NAT, but a port mapping forwards to us


@attrs.frozen
class Reachability:
    """Our reachability class and, when peers agree on it, our external endpoint."""
    classification: ReachabilityClass
    external_endpoint: Endpoint | None = None

    @property
    def firewalled(self) -> bool:
        """Whether to set the Announcement's FIREWALL feature bit (bit 2)."""
        return self.classification in (ReachabilityClass.NAT_CONSISTENT, ReachabilityClass.NAT_RANDOM)

    @property
    def external_port(self) -> int:
        """The external port to report in the Announcement (0 when unknown or random)."""
        if self.external_endpoint is None or self.classification is ReachabilityClass.NAT_RANDOM:
            return 0
        return self.external_endpoint[1]


@attrs.frozen
class ReachabilityChanged:
    """The reachability changed from ``old`` to ``new`` at time ``at`` (seconds, the tracker's clock)."""
    old: Reachability
    new: Reachability
    at: float


@attrs.frozen
class _Observation:
    observed: Endpoint
    local: Endpoint
    at: float
    group: Hashable = None  # reporters of one group (a source prefix) share one vote


@attrs.define
class ReachabilityTracker:
    """``observe`` what a peer reported, ``set_mapping`` when a mapping appears or goes; both
    return the change events (empty most of the time). ``current`` is the present result."""

    min_reporters: int = 3
    switch_after: int = 3  # agreeing evaluations needed to leave a known classification
    observation_ttl: float = 600.0
    max_reporters: int = 64
    agreement: float = 2 / 3  # share of reporters that must see the same endpoint for "consistent"
    max_per_group: int = 8  # reporters kept per group (the group's oldest report is dropped)
    current: Reachability = Reachability(ReachabilityClass.UNKNOWN)
    _observations: collections.OrderedDict[Hashable, _Observation] = attrs.field(
        factory=collections.OrderedDict
    )
    _mapping: PortMapping | None = None
    _candidate: Reachability | None = None
    _candidate_count: int = 0

    def observe(
        self, reporter: Hashable, observed: Endpoint, local: Endpoint, now: float, group: Hashable = None
    ) -> list[ReachabilityChanged]:
        """``reporter`` saw us at ``observed``. Reporters of one ``group`` (e.g. a source prefix:
        throwaway identities are free, addresses are not) share one vote and hold at most
        ``max_per_group`` of the ``max_reporters`` places."""
        self._observations.pop(reporter, None)
        same = [r for r, o in self._observations.items() if group is not None and o.group == group]
        for old in same[: max(0, len(same) - self.max_per_group + 1)]:
            del self._observations[old]
        self._observations[reporter] = _Observation(observed, local, now, group)
        while len(self._observations) > self.max_reporters:
            self._observations.popitem(last=False)
        return self._update(now, immediate=False)

    def set_mapping(self, mapping: PortMapping | None, now: float) -> list[ReachabilityChanged]:
        self._mapping = mapping
        return self._update(now, immediate=True)

    def tick(self, now: float) -> list[ReachabilityChanged]:
        """Let old observations and expired mappings age out."""
        return self._update(now, immediate=False)

    def classify(self, now: float) -> Reachability:
        """The classification the evidence supports right now (without hysteresis)."""
        mapping = self._mapping
        if mapping is not None and mapping.expires_at > now and mapping.external_ip is not None:
            return Reachability(ReachabilityClass.MAPPED, (mapping.external_ip, mapping.external_port))
        recent = [o for o in self._observations.values() if now - o.at <= self.observation_ttl]
        if len(recent) < self.min_reporters:
            return Reachability(ReachabilityClass.UNKNOWN)
        groups = collections.Counter(_group_of(reporter, o) for reporter, o in self._recent(now))
        counts: dict[Endpoint, float] = collections.defaultdict(float)
        for reporter, o in self._recent(now):
            counts[o.observed] += 1 / groups[_group_of(reporter, o)]  # one vote per group
        endpoint, votes = max(counts.items(), key=lambda item: item[1])
        if votes < self.agreement * len(groups) - 1e-9:
            return Reachability(ReachabilityClass.NAT_RANDOM, (endpoint[0], 0))
        if all(o.observed == o.local for o in recent if o.observed == endpoint):
            return Reachability(ReachabilityClass.PUBLIC, endpoint)
        return Reachability(ReachabilityClass.NAT_CONSISTENT, endpoint)

    def _update(self, now: float, *, immediate: bool) -> list[ReachabilityChanged]:
        self._expire(now)
        candidate = self.classify(now)
        if candidate == self.current:
            self._candidate, self._candidate_count = None, 0
            return []
        if candidate == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = candidate, 1
        leaving_unknown = self.current.classification is ReachabilityClass.UNKNOWN
        first_hand = ReachabilityClass.MAPPED in (
            candidate.classification, self.current.classification
        ) and immediate
        if not (leaving_unknown or first_hand or self._candidate_count >= self.switch_after):
            return []
        old, self.current = self.current, candidate
        self._candidate, self._candidate_count = None, 0
        return [ReachabilityChanged(old, candidate, now)]

    def _recent(self, now: float) -> list[tuple[Hashable, _Observation]]:
        return [(r, o) for r, o in self._observations.items() if now - o.at <= self.observation_ttl]

    def _expire(self, now: float) -> None:
        for reporter in [r for r, o in self._observations.items() if now - o.at > self.observation_ttl]:
            del self._observations[reporter]


def _group_of(reporter: Hashable, observation: _Observation) -> Hashable:
    """The group a report votes in: its own when it has none."""
    return ("reporter", reporter) if observation.group is None else ("group", observation.group)
