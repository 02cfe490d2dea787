"""Iterative Kademlia lookups, sans-IO.

The caller feeds events in and sends what comes out::

    lookup = Lookup(key, table.closest(key, K))
    step = lookup.start(now)
    ... send a FIND_PEER / FIND_VALUE for step.requests, call handle_timer(now) at step.deadline,
    ... on_response(peer, contacts, now) / on_value(peer, data, now) / on_failure(peer, now)
    until lookup.done; then lookup.result.

Unlike the reference's breadth-first crawl (spec dht.md §7) candidates are kept sorted by XOR
distance to the key, ``alpha`` requests are in flight, and the lookup converges when the ``k``
closest live candidates have all answered. Each request has its own timeout and is retried up to
``attempts`` times (UDP loses packets); the whole lookup has a deadline. Lying or silent peers
cost at most their timeouts: contacts are ranked by distance, not by who reported them, each
reply contributes at most ``max_per_response`` contacts, and the candidate list is bounded.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from typing import Final, Generic

import attrs

from peernet_proto import hash_data, sort_by_distance

from ._contact import C
from ._distance import ID_SIZE, check_id

__all__ = ["ALPHA", "Lookup", "LookupResult", "LookupStatus", "LookupStep", "Request"]

#: Requests a lookup keeps in flight at once (Kademlia's α).
ALPHA: Final = 5


class LookupStatus(enum.Enum):
    """Where a lookup stands; every status but RUNNING is final."""
    RUNNING = "running"
    CONVERGED = "converged"  # the k closest live candidates answered
    FOUND_NODE = "found-node"  # a peer reported the target node itself (stop_at_target)
    FOUND_VALUE = "found-value"  # a peer returned data whose hash is the key
    EXHAUSTED = "exhausted"  # nobody answered and nobody is left to ask
    DEADLINE = "deadline"  # the overall time budget ran out


@attrs.frozen(slots=True)
class Request(Generic[C]):
    """Ask ``peer`` about ``key`` (FIND_NODE or FIND_VALUE, as the lookup was created)."""
    peer: C
    key: bytes


@attrs.frozen(slots=True)
class LookupStep(Generic[C]):
    """What a lookup wants done now: requests to send, peers that timed out, and when to call it again."""
    requests: tuple[Request[C], ...] = ()
    timed_out: tuple[C, ...] = ()  # peers that just missed a request timeout (for the routing table)
    deadline: float | None = None  # call handle_timer at this time; None once the lookup is done


@attrs.frozen(slots=True)
class LookupResult(Generic[C]):
    """The end of a lookup: its status, the closest peers that answered, and the value if one was found."""
    status: LookupStatus
    closest: tuple[C, ...]  # up to k peers that answered, nearest first
    value: bytes | None = None
    value_from: C | None = None
    hops: int = 0  # discovery depth of the nearest answering peer (own table = 1)
    requests_sent: int = 0


class _State(enum.Enum):
    NEW = 0
    WAITING = 1
    ANSWERED = 2
    FAILED = 3


class _Candidate(Generic[C]):
    __slots__ = ("attempts", "contact", "distance", "expires", "hop", "state")

    def __init__(self, contact: C, distance: int, hop: int) -> None:
        self.contact = contact
        self.distance = distance
        self.state = _State.NEW
        self.hop = hop
        self.attempts = 0
        self.expires = 0.0


class Lookup(Generic[C]):
    """One iterative FIND_PEER / FIND_VALUE lookup for ``key``."""

    def __init__(
        self,
        key: bytes,
        initial: Iterable[C],
        *,
        self_id: bytes | None = None,
        k: int = 20,
        alpha: int = ALPHA,
        request_timeout: float = 1.0,
        attempts: int = 3,
        lookup_timeout: float = 10.0,
        find_value: bool = False,
        stop_at_target: bool = False,
        max_per_response: int | None = None,
        max_candidates: int | None = None,
    ) -> None:
        if k < 1 or alpha < 1 or attempts < 1 or request_timeout <= 0 or lookup_timeout <= 0:
            raise ValueError("k, alpha, attempts and timeouts must be positive")
        self.key = check_id(key)
        self._key_int = int.from_bytes(self.key, "big")
        self._self_id = self_id
        self.k, self.alpha, self.attempts = k, alpha, attempts
        self.request_timeout, self.lookup_timeout = request_timeout, lookup_timeout
        self.find_value, self.stop_at_target = find_value, stop_at_target
        self.max_per_response = k if max_per_response is None else max_per_response
        self.max_candidates = 8 * k if max_candidates is None else max_candidates
        self._by_id: dict[bytes, _Candidate[C]] = {}
        self._order: list[int] = []  # distances of the candidates, ascending
        self._by_distance: dict[int, _Candidate[C]] = {}
        self._status = LookupStatus.RUNNING
        self._value: bytes | None = None
        self._value_from: C | None = None
        self._found: _Candidate[C] | None = None
        self._started_at: float | None = None
        self._requests_sent = 0
        for contact in initial:
            self._consider(contact, hop=1)

    # -- events --------------------------------------------------------------------------------

    def start(self, now: float) -> LookupStep[C]:
        if self._started_at is not None:
            raise RuntimeError("lookup already started")
        self._started_at = now
        return self._advance(now, ())

    def on_response(self, peer: C, contacts: Sequence[C], now: float) -> LookupStep[C]:
        """``peer`` answered with ``contacts`` (closest peers it knows; order is irrelevant)."""
        candidate = self._by_id.get(peer.node_id)
        if self.done or candidate is None or candidate.state is _State.NEW:
            return self._step(now, ())  # unsolicited, or after the end: ignore
        candidate.state = _State.ANSWERED
        valid = [c for c in contacts if len(c.node_id) == ID_SIZE]
        # The reply's order means nothing (Go sorts by raw ID): keep the nearest few.
        valid = sort_by_distance(valid, self.key)
        for contact in valid[: self.max_per_response]:
            fresh = self._consider(contact, hop=candidate.hop + 1)
            if self.stop_at_target and contact.node_id == self.key:
                self._found = fresh or self._by_id.get(contact.node_id)
                self._status = LookupStatus.FOUND_NODE
                return self._step(now, ())
        return self._advance(now, ())

    def on_value(self, peer: C, data: bytes, now: float) -> LookupStep[C]:
        """``peer`` returned a value. Data that does not hash to the key counts as a failure."""
        candidate = self._by_id.get(peer.node_id)
        if self.done or candidate is None or candidate.state is _State.NEW:
            return self._step(now, ())
        if not self.find_value or hash_data(data) != self.key:
            candidate.state = _State.FAILED
            return self._advance(now, ())
        candidate.state = _State.ANSWERED
        self._value, self._value_from = bytes(data), peer
        self._status = LookupStatus.FOUND_VALUE
        return self._step(now, ())

    def on_failure(self, peer: C, now: float) -> LookupStep[C]:
        """The request to ``peer`` cannot succeed (unreachable, refused): give up on it now."""
        candidate = self._by_id.get(peer.node_id)
        if not self.done and candidate is not None and candidate.state is _State.WAITING:
            candidate.state = _State.FAILED
        return self._advance(now, ())

    def handle_timer(self, now: float) -> LookupStep[C]:
        if self.done:
            return self._step(now, ())
        timed_out: list[C] = []
        for candidate in self._by_id.values():
            if candidate.state is _State.WAITING and candidate.expires <= now:
                timed_out.append(candidate.contact)
                # Retry: it is queued again as NEW unless its attempts are used up.
                candidate.state = _State.NEW if candidate.attempts < self.attempts else _State.FAILED
        return self._advance(now, tuple(timed_out))

    # -- state ---------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._status is not LookupStatus.RUNNING

    @property
    def next_deadline(self) -> float | None:
        if self.done or self._started_at is None:
            return None
        deadline = self._started_at + self.lookup_timeout
        for candidate in self._by_id.values():
            if candidate.state is _State.WAITING and candidate.expires < deadline:
                deadline = candidate.expires
        return deadline

    @property
    def result(self) -> LookupResult[C]:
        answered = [c for c in self._ranked() if c.state is _State.ANSWERED][: self.k]
        if self._found is not None and self._found not in answered:
            answered = [self._found, *answered][: self.k]
        return LookupResult(
            status=self._status,
            closest=tuple(c.contact for c in answered),
            value=self._value,
            value_from=self._value_from,
            hops=answered[0].hop if answered else 0,
            requests_sent=self._requests_sent,
        )

    # -- internals -----------------------------------------------------------------------------

    def _consider(self, contact: C, hop: int) -> _Candidate[C] | None:
        node_id = contact.node_id
        if node_id in self._by_id or node_id == self._self_id:
            return None
        distance = int.from_bytes(node_id, "big") ^ self._key_int
        if len(self._order) >= self.max_candidates and not self._make_room(distance):
            return None
        candidate = _Candidate(contact, distance, hop)
        self._by_id[node_id] = candidate
        self._by_distance[distance] = candidate
        bisect.insort(self._order, distance)
        return candidate

    def _make_room(self, distance: int) -> bool:
        """Drop the farthest candidate that is farther than ``distance`` and not awaiting an
        answer (new, answered or failed: beyond the k closest, it no longer matters). A full list
        must not refuse closer contacts, or a long lookup stalls short of the key."""
        for position in range(len(self._order) - 1, -1, -1):
            farthest = self._order[position]
            if farthest <= distance:
                return False
            victim = self._by_distance[farthest]
            if victim.state is not _State.WAITING:
                del self._order[position]
                del self._by_distance[farthest], self._by_id[victim.contact.node_id]
                return True
        return False

    def _ranked(self) -> list[_Candidate[C]]:
        return [self._by_distance[d] for d in self._order]

    def _advance(self, now: float, timed_out: tuple[C, ...]) -> LookupStep[C]:
        assert self._started_at is not None, "start() first"
        if now >= self._started_at + self.lookup_timeout:
            self._status = LookupStatus.DEADLINE
            return self._step(now, timed_out)
        # Retries of timed-out requests do not occupy one of the alpha slots: a silent peer must
        # not stall the lookup while it gets its further attempts.
        in_flight = sum(1 for c in self._by_id.values() if c.state is _State.WAITING and c.attempts == 1)
        requests: list[Request[C]] = []
        live = 0
        pending = False
        for candidate in self._ranked():
            if candidate.state is _State.FAILED:
                continue
            live += 1
            if live > self.k:
                break
            if candidate.state is _State.NEW and (candidate.attempts > 0 or in_flight < self.alpha):
                in_flight += candidate.attempts == 0
                candidate.state = _State.WAITING
                candidate.attempts += 1
                candidate.expires = now + self.request_timeout
                requests.append(Request(candidate.contact, self.key))
            pending = pending or candidate.state is not _State.ANSWERED
        self._requests_sent += len(requests)
        if not pending:  # every one of the k nearest live candidates has answered (or none is left)
            self._status = LookupStatus.CONVERGED if live else LookupStatus.EXHAUSTED
        return self._step(now, timed_out, tuple(requests))

    def _step(self, now: float, timed_out: tuple[C, ...], requests: tuple[Request[C], ...] = ()) -> LookupStep[C]:
        return LookupStep(requests=requests, timed_out=timed_out, deadline=self.next_deadline)
