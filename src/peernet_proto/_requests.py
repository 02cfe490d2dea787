"""Outstanding requests: sequences, timeouts, and who gets each answer.

A request is registered with its owner (a behaviour, or one of the engine's own components);
its Response, Pong or timeout is delivered to that owner only. Requests without an owner are
reported as the application's events. Send times are stamped when the datagrams actually leave
(:meth:`Requests.stamp_sent`), not when they were queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._keys import PublicKey
from ._sequences import REPLY_TIMEOUT, PendingRequest, SequenceTable
from ._stats import EngineCounters

if TYPE_CHECKING:
    from ._behaviour import Behaviour

__all__ = ["Requests"]

log = logging.getLogger(__name__)


class Requests:
    """The engine's :class:`SequenceTable` plus the owner of every request, shared fairly: once the
    table is half full, no source prefix may hold more than ``prefix_share`` of it (the prefix of a
    request is that of the peer's current connection, or of the address it is sent to)."""

    def __init__(
        self,
        total: int,
        per_peer: int,
        counters: EngineCounters,
        *,
        prefix_share: float = 1.0,
        locate: Callable[[PublicKey], str | None] = lambda _peer: None,
    ) -> None:
        self._table = SequenceTable(total, per_peer)
        self._unsent: list[PendingRequest] = []
        self._counters = counters
        self._total = total
        self._per_prefix = max(1, int(total * prefix_share))
        self._locate = locate  # a known peer's prefix key
        self._by_prefix: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._table)

    def busiest_prefix(self) -> int:
        """The most pending requests one source prefix holds."""
        return max(self._by_prefix.values(), default=0)

    def _fair(self, prefix: str | None) -> bool:
        """Whether a request to ``prefix`` fits its share (always while the table is half empty)."""
        if prefix is None or 2 * len(self._table) < self._total:
            return True
        return self._by_prefix.get(prefix, 0) < self._per_prefix

    def _count(self, prefix: str | None) -> None:
        if prefix is not None:
            self._by_prefix[prefix] = self._by_prefix.get(prefix, 0) + 1

    def _uncount(self, prefix: str | None) -> None:
        if prefix is not None:
            remaining = self._by_prefix[prefix] - 1
            if remaining:
                self._by_prefix[prefix] = remaining
            else:
                del self._by_prefix[prefix]

    def register(
        self,
        peer: PublicKey,
        sequence: int,
        command: int,
        now: float,
        *,
        owner: Behaviour | None = None,
        timeout: float = REPLY_TIMEOUT,
        prefix: str | None = None,
    ) -> bool:
        """Expect an answer to ``(peer, sequence)``; False (and nothing may be sent) when full or
        when the peer's source prefix (``prefix``, else the known peer's) holds its share."""
        prefix = prefix if prefix is not None else self._locate(peer)
        replaced = self._table.get(peer, sequence)
        if (replaced is None or replaced.prefix is None) and not self._fair(prefix):
            self._counters.pending_share_exceeded += 1
            return False
        if replaced is not None:
            self._uncount(replaced.prefix)  # the table drops it for the new one (or when refusing)
        request = PendingRequest(peer, sequence, command, now, now + timeout, owner=owner, prefix=prefix)
        if not self._table.register(request):
            self._counters.requests_refused += 1
            return False
        self._count(prefix)
        if len(self._unsent) < 4096:
            self._unsent.append(request)
        return True

    def stamp_sent(self, now: float | None) -> None:
        """The datagrams queued so far left at ``now`` (None: when they were queued): their
        round-trip times count from there."""
        if now is None:
            self._unsent.clear()
            return
        for request in self._unsent:
            if now > request.sent_at:
                request.expires += now - request.sent_at
                request.sent_at = now
        self._unsent.clear()

    def match(
        self, peer: PublicKey, sequence: int, now: float, *, last: bool = True
    ) -> tuple[PendingRequest, Behaviour | None] | None:
        """The request an answer belongs to and its owner; None when unknown or expired."""
        request = self._table.match(peer, sequence, now, last=last)
        if request is None:
            return None
        if last:
            self._uncount(request.prefix)
        return request, request.owner

    def expire(self, now: float) -> list[tuple[PendingRequest, Behaviour | None]]:
        """Requests whose time ran out, with their owners."""
        expired = []
        for request in self._table.expire(now):
            self._uncount(request.prefix)
            log.debug(
                "request %d (command %d) to %s timed out", request.sequence, request.command, request.peer.hex()[:16]
            )
            self._counters.requests_timed_out += 1
            expired.append((request, request.owner))
        return expired

    def pending_to(self, peer: PublicKey) -> int:
        """How many requests to ``peer`` await their answer."""
        return self._table.pending_to(peer)

    def in_use(self, peer: PublicKey, sequence: int) -> bool:
        """Whether ``(peer, sequence)`` still awaits an answer."""
        return self._table.in_use(peer, sequence)
