"""Lookups over the peer engine, sans-IO: Lookup requests become FIND_PEER / FIND_VALUE
Announcements, engine events become Lookup input.

The engine is reached through :class:`RequestSender` (``PeerEngine`` implements it), so this
module needs nothing of the engine but its request call and its events::

    driver = LookupDriver(engine, self_id=engine.public_key.node_id)
    lookup_id = driver.start(key, [Remote(k) for k in table.closest(key, 20)], now)
    ... for every engine event: driver.handle_event(event, now)
    ... at driver.next_deadline(): driver.handle_timer(now)
    ... driver.finished() -> [LookupDone(...)]

Peers reported in Responses are asked at the addresses of their records; when a record looks
firewalled or NATed (``needs_traverse``) the request goes with a Traverse through the peer that
reported it, which is how Go peers reach peers behind NAT (spec wire.md §11).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import attrs

from peernet_proto import (
    Announcement,
    Behaviour,
    Endpoint,
    EngineEvent,
    PeerRecord,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    encode_extensions,
    needs_traverse,
    record_endpoints,
)

from ._lookup import ALPHA, Lookup, LookupResult, LookupStep

__all__ = ["LookupDone", "LookupDriver", "Remote", "RequestSender", "remote_from_record"]

log = logging.getLogger(__name__)

MAX_LOOKUPS: Final = 256  # lookups running at once; more are refused


class RequestSender(Protocol):
    """The part of the peer engine lookups use."""

    @property
    def features(self) -> int: ...

    def request(
        self,
        peer_key: PublicKey,
        announcement: Announcement,
        now: float,
        *,
        endpoints: Sequence[Endpoint] = (),
        relay: PublicKey | None = None,
        owner: Behaviour | None = None,
        timeout: float = 20.0,
    ) -> int | None: ...


@attrs.frozen(slots=True)
class Remote:
    """A peer a lookup may ask: connected (no endpoints needed) or known from a peer record."""

    public_key: PublicKey
    endpoints: tuple[Endpoint, ...] = ()
    relay: PublicKey | None = None  # the peer that reported it, when it must be punched through

    @property
    def node_id(self) -> bytes:
        return self.public_key.node_id


def remote_from_record(record: PeerRecord, reporter: PublicKey) -> Remote:
    """How to reach the peer of ``record``: its endpoints, and ``reporter`` as relay when it needs a traverse."""
    return Remote(
        record.public_key,
        tuple(record_endpoints(record)),
        reporter if needs_traverse(record) else None,
    )


@attrs.frozen
class LookupDone:
    """A finished lookup of ``key`` (32 bytes): its result and its start and end times (seconds, the caller's clock)."""

    lookup_id: int
    key: bytes
    result: LookupResult[Remote]
    started: float
    finished: float
    # Extension items of the answers, per answering peer (for extensions riding on lookups).
    extensions: tuple[tuple[PublicKey, bytes], ...] = ()


class _Running:
    __slots__ = ("answers", "extension", "lookup", "started")

    def __init__(self, lookup: Lookup[Remote], started: float, extension: bytes) -> None:
        self.lookup = lookup
        self.started = started
        self.extension = extension
        self.answers: list[tuple[PublicKey, bytes]] = []


class LookupDriver:
    """Runs iterative lookups (α in flight, k results) through a :class:`RequestSender`."""

    def __init__(
        self,
        sender: RequestSender,
        *,
        self_id: bytes,
        k: int = 20,
        alpha: int = ALPHA,
        request_timeout: float = 2.0,
        attempts: int = 2,
        lookup_timeout: float = 20.0,
        punch_timeout: float = 5.0,
        max_lookups: int = MAX_LOOKUPS,
    ) -> None:
        self._sender = sender
        self._self_id = self_id
        self.k, self.alpha, self.attempts = k, alpha, attempts
        self.request_timeout, self.lookup_timeout, self.punch_timeout = request_timeout, lookup_timeout, punch_timeout
        self.max_lookups = max_lookups
        self._running: dict[int, _Running] = {}
        # (peer, sequence) of every request in flight -> its lookup; answers are matched here
        self._pending: dict[tuple[PublicKey, int], int] = {}
        self.owner: Behaviour | None = None  # the behaviour the engine delivers answers to
        self._done: list[LookupDone] = []
        self._next_id = 0
        self.requests_sent = 0

    def __len__(self) -> int:
        return len(self._running)

    def start(
        self,
        key: bytes,
        initial: Iterable[Remote],
        now: float,
        *,
        find_value: bool = False,
        stop_at_target: bool = False,
        extension_items: Mapping[int, bytes] | None = None,
    ) -> int | None:
        """Start a lookup for ``key``; None when too many are running."""
        if len(self._running) >= self.max_lookups:
            return None
        self._next_id += 1
        lookup_id = self._next_id
        lookup: Lookup[Remote] = Lookup(
            key,
            initial,
            self_id=self._self_id,
            k=self.k,
            alpha=self.alpha,
            request_timeout=self.request_timeout,
            attempts=self.attempts,
            lookup_timeout=self.lookup_timeout,
            find_value=find_value,
            stop_at_target=stop_at_target,
        )
        running = _Running(lookup, now, encode_extensions(extension_items or {}))
        self._running[lookup_id] = running
        self._apply(lookup_id, running, lookup.start(now), now)
        return lookup_id

    def handle_event(self, event: EngineEvent, now: float) -> bool:
        """Feed every engine event (or only the answers, when the engine delivers them to
        :attr:`owner`); returns True when it belonged to a lookup."""
        if not isinstance(event, ResponseReceived | RequestTimedOut):
            return False
        key = (event.peer, event.sequence)
        if isinstance(event, RequestTimedOut) or event.response.sequence_last:
            lookup_id = self._pending.pop(key, None)
        else:
            lookup_id = self._pending.get(key)
        if lookup_id is None:
            return False
        running = self._running.get(lookup_id)
        if running is None:
            return True  # a late answer to a finished lookup
        lookup = running.lookup
        if isinstance(event, RequestTimedOut):
            return True  # the lookup's own timers retry and give up
        remote = Remote(event.peer)
        response = event.response
        if response.extension:
            running.answers.append((event.peer, response.extension))
        step: LookupStep[Remote] | None = None
        if lookup.find_value:
            for file in response.embedded_files:
                if file.key == lookup.key:
                    step = lookup.on_value(remote, file.data, now)
                    break
        if step is None:
            contacts = [
                remote_from_record(record, event.peer)
                for entry in response.hash2peers
                if entry.key == lookup.key
                for record in (*entry.storing, *entry.closest)
            ]
            step = lookup.on_response(remote, contacts, now)
        self._apply(lookup_id, running, step, now)
        return True

    def handle_timer(self, now: float) -> None:
        for lookup_id, running in list(self._running.items()):
            deadline = running.lookup.next_deadline
            if deadline is not None and deadline <= now:
                self._apply(lookup_id, running, running.lookup.handle_timer(now), now)

    def next_deadline(self) -> float | None:
        deadlines = [d for r in self._running.values() if (d := r.lookup.next_deadline) is not None]
        return min(deadlines, default=None)

    def finished(self) -> list[LookupDone]:
        done, self._done = self._done, []
        return done

    def _apply(self, lookup_id: int, running: _Running, step: LookupStep[Remote], now: float) -> None:
        lookup = running.lookup
        failed: list[Remote] = []
        for request in step.requests:
            if not self._send(lookup_id, running, request.peer, now):
                failed.append(request.peer)
        for remote in failed:  # unreachable at once: let the lookup move on
            self._apply(lookup_id, running, lookup.on_failure(remote, now), now)
            if lookup_id not in self._running:
                return
        if lookup.done and lookup_id in self._running:
            del self._running[lookup_id]
            self._done.append(
                LookupDone(lookup_id, lookup.key, lookup.result, running.started, now, tuple(running.answers))
            )

    def _send(self, lookup_id: int, running: _Running, remote: Remote, now: float) -> bool:
        lookup = running.lookup
        key = lookup.key
        announcement = Announcement(
            features=self._sender.features,
            find_value=[key] if lookup.find_value else [],
            find_peer=[] if lookup.find_value else [key],
            extension=running.extension,
        )
        timeout = self.punch_timeout if remote.relay is not None else self.request_timeout
        sequence = self._sender.request(
            remote.public_key,
            announcement,
            now,
            endpoints=remote.endpoints,
            relay=remote.relay,
            owner=self.owner,
            timeout=timeout + 1.0,  # the lookup's own timer fires first and decides
        )
        if sequence is None:
            return False
        self._pending[(remote.public_key, sequence)] = lookup_id
        self.requests_sent += 1
        return True
