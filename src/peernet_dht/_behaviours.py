"""The DHT plugged into the peer engine as behaviours.

* :class:`RoutingDirectory` answers the engine's "closest peers" question from the routing table.
* :class:`TableUpkeep` is what the engine's events tell a routing table (the node's behaviours and
  the simulator both use it): a peer that connected or answered is seen, with the answer's RTT; a
  peer the engine dropped leaves; a DHT request it left unanswered is a failure (the engine's own
  keep-alive decides liveness by itself and reports it as the peer dropped).
* :class:`DhtBehaviour` runs a :class:`DhtService`: the engine delivers it every event and the
  answers to the service's own requests, and drives its timers.
* :class:`BucketRefresh` keeps the routing table in step with the engine's peers and refreshes
  under-filled buckets: once the table holds a peer, three rounds one second apart, then one
  round every ``interval`` seconds with random jitter (so that nodes started together do not
  refresh at the same moment). A round asks the closest known peers for random targets in
  under-filled buckets (one Announcement carries up to four targets for the same peer) and
  contacts what they report for those targets, unless its bucket is full already; each contact
  is then asked for the same target, walking towards it hop by hop as an iterative lookup does.
  Only answers to the round's own requests are followed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Protocol

from peernet_proto import (
    CLOSEST_PER_KEY,
    Announcement,
    BaseBehaviour,
    Behaviour,
    EngineEvent,
    Feature,
    PeerConnected,
    PeerInfo,
    PeerRemoved,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    record_endpoints,
)

from ._routing import RoutingTable
from ._service import DhtResult, DhtService

__all__ = ["BucketRefresh", "DhtBehaviour", "RefreshHost", "RoutingDirectory", "TableUpkeep"]

log = logging.getLogger(__name__)

REFRESH_FANOUT: Final = 3  # peers asked per refresh target
SUBRANGE_BITS: Final = 3  # an under-filled bucket with an answer's worth of contacts is searched in 8 parts
RECORDS_FOLLOWED: Final = 5  # closest records contacted per answer, as the reference's bootstrap
MAX_FOLLOW_UPS: Final = 1024
TARGETS_PER_ANNOUNCEMENT: Final = 4  # FIND_PEER keys per refresh Announcement: their answer fits one packet
FIRST_ROUNDS: Final = 3  # rounds one second apart once the first peer is known
JITTER: Final = 0.1  # each later round comes up to this fraction of the interval early or late


class RoutingDirectory:
    """The engine's :class:`~peernet_proto.PeerDirectory` from a Kademlia routing table."""

    def __init__(self, table: RoutingTable[PublicKey]) -> None:
        self._table = table

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]:
        """Four times ``count``: the engine drops peers without a usable connection."""
        return self._table.closest(key, count * 4, exclude)


class TableUpkeep:
    """Keeps a routing table in step with the engine's events (see the module docstring).
    ``failures``: whether timeouts fed here count against the peer (those of DHT requests)."""

    def __init__(self, table: RoutingTable[PublicKey], *, failures: bool = True) -> None:
        self.table = table
        self.failures = failures

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Feed an event once: the table counts failures, so a timeout must not arrive twice."""
        if isinstance(event, ResponseReceived):
            self.table.add(event.peer, now, rtt=event.rtt)
        elif isinstance(event, PeerConnected):
            self.table.add(event.peer, now)
        elif isinstance(event, RequestTimedOut):
            if self.failures:
                self.table.record_failure(event.peer.node_id)
        elif isinstance(event, PeerRemoved):
            self.table.remove(event.peer.node_id)


class DhtBehaviour(BaseBehaviour):
    """A :class:`DhtService` as an engine behaviour; finished operations go to ``on_finished``.
    With ``table``, the answers to the service's requests (and their timeouts) update it."""

    commands: frozenset[int] = frozenset()

    def __init__(
        self,
        service: DhtService,
        *,
        keyword_search: bool = True,
        on_finished: Callable[[DhtResult], None],
        table: RoutingTable[PublicKey] | None = None,
    ) -> None:
        self.service = service
        self.feature_bits = Feature.KEYWORD_SEARCH if keyword_search else 0
        self._on_finished = on_finished
        self._upkeep = TableUpkeep(table) if table is not None else None
        owner: Behaviour = self
        service.owner = service.driver.owner = owner  # answers to the service's requests come here

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Every engine event and the answers to the service's requests."""
        ours = self.service.handle_event(event, now)
        if ours and self._upkeep is not None and isinstance(event, ResponseReceived | RequestTimedOut):
            self._upkeep.handle_event(event, now)  # only the service's: the engine's own reach BucketRefresh
        self.collect()

    def handle_timer(self, now: float) -> None:
        """The service's lookups, retries and housekeeping."""
        self.service.handle_timer(now)
        self.collect()

    def next_deadline(self) -> float | None:
        """The service's next deadline."""
        return self.service.next_deadline()

    def collect(self) -> None:
        """Hand finished operations over (also call after starting one: it may finish at once)."""
        for result in self.service.finished():
            self._on_finished(result)


class RefreshHost(Protocol):
    """What bucket refresh needs of the engine (``PeerEngine`` implements it)."""

    @property
    def public_key(self) -> PublicKey: ...

    @property
    def features(self) -> int: ...

    def peer(self, key: PublicKey) -> PeerInfo | None: ...

    def contact(
        self, public_key: PublicKey, endpoints: Iterable[tuple[str, int]], now: float, *, owner: Behaviour | None = None
    ) -> list[int]: ...

    def send_announcement(
        self, peer_key: PublicKey, announcement: Announcement, now: float, *, owner: Behaviour | None = None
    ) -> list[int]: ...


class BucketRefresh(BaseBehaviour):
    """Routing table upkeep and bucket refresh (see the module docstring)."""

    commands: frozenset[int] = frozenset()

    def __init__(
        self,
        engine: RefreshHost,
        table: RoutingTable[PublicKey],
        *,
        interval: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self._upkeep = TableUpkeep(table, failures=False)  # liveness is the engine's keep-alive
        self.interval = interval
        self._rng = rng or random.Random()
        self._follow_up: dict[PublicKey, bytes] = {}  # contacted peer -> the target to ask it for
        self._targets: set[bytes] = set()  # this round's targets: only answers for them are followed
        self._mine: set[tuple[PublicKey, int]] = set()  # this round's requests (answers to others' are not ours)
        self._next: float | None = None
        self._rounds = 0

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """The table follows the events this behaviour sees (its own answers, the engine's requests
        and peers connecting or leaving); answers to refresh requests are followed."""
        self._upkeep.handle_event(event, now)
        if isinstance(event, PeerConnected):
            target = self._follow_up.pop(event.peer, None)
            if target is not None:
                self._ask(event.peer, [target], now)
            if self._next is None:
                self._next = now  # refresh from the first contact on
        elif isinstance(event, ResponseReceived):
            self._follow(event, now)

    def next_deadline(self) -> float | None:
        """The next round."""
        return self._next

    def handle_timer(self, now: float) -> None:
        """A round, and the time of the next one."""
        if self._next is None or now < self._next:
            return
        self._rounds += 1
        if self._rounds < FIRST_ROUNDS:
            self._next = now + 1.0
        else:
            self._next = now + self.interval * (1.0 + self._rng.uniform(-JITTER, JITTER))
        self.refresh(now)

    def refresh(self, now: float) -> None:
        """One refresh round; FIND_SELF for our own ID is sent as FIND_PEER like any target."""
        self._follow_up.clear()  # contacts that never answered are forgotten each round
        self._targets.clear()
        self._mine.clear()
        asks: dict[PublicKey, list[bytes]] = {}  # a peer asked for several targets gets one Announcement
        for target in self.table.refresh_targets(self._rng):
            for peer in self.table.closest(target, REFRESH_FANOUT):
                asks.setdefault(peer, []).append(target)
        for target in self.table.subrange_targets(self._rng, split_bits=SUBRANGE_BITS, min_size=CLOSEST_PER_KEY):
            for peer in self.table.closest(target, 1):
                asks.setdefault(peer, []).append(target)
        for peer, targets in asks.items():
            self._targets.update(targets)
            for start in range(0, len(targets), TARGETS_PER_ANNOUNCEMENT):
                self._ask(peer, targets[start : start + TARGETS_PER_ANNOUNCEMENT], now)
        log.debug("bucket refresh round %d: %d peers in the table", self._rounds, len(self.table))

    def _ask(self, peer: PublicKey, targets: list[bytes], now: float) -> None:
        announcement = Announcement(features=self.engine.features, find_peer=targets)
        self._remember(peer, self.engine.send_announcement(peer, announcement, now, owner=self))

    def _remember(self, peer: PublicKey, sequences: list[int]) -> None:
        if len(self._mine) < MAX_FOLLOW_UPS * 4:
            self._mine.update((peer, sequence) for sequence in sequences)

    def _follow(self, event: ResponseReceived, now: float) -> None:
        """Contact what an answer to this round's requests reports for this round's targets (the
        FIND_SELF part of a contact's answer is the bootstrap's to follow, not ours)."""
        if (event.peer, event.sequence) not in self._mine:
            return
        me = self.engine.public_key
        for entry in event.response.hash2peers:
            if entry.key not in self._targets:
                continue
            for record in entry.closest[:RECORDS_FOLLOWED]:
                if record.public_key == me or record.public_key in self._follow_up:
                    continue  # contacted this round already (several answers at once report it)
                if self.engine.peer(record.public_key) is not None:
                    continue
                if self.table.bucket_full_for(record.public_key.node_id):
                    continue  # it cannot enter the table, nor lead to a target in an under-filled bucket
                endpoints = record_endpoints(record)
                if endpoints and len(self._follow_up) < MAX_FOLLOW_UPS:
                    self._follow_up[record.public_key] = entry.key
                    sequences = self.engine.contact(record.public_key, endpoints, now, owner=self)
                    self._remember(record.public_key, sequences)
