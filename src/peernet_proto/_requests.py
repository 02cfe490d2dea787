"""Outstanding requests: sequences, timeouts, and who gets each answer.

A request is registered with its owner (a behaviour, or one of the engine's own components);
its Response, Pong or timeout is delivered to that owner only. Requests without an owner are
reported as the application's events. Send times are stamped when the datagrams actually leave
(:meth:`Requests.stamp_sent`), not when they were queued.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._keys import PublicKey
from ._sequences import REPLY_TIMEOUT, PendingRequest, SequenceTable
from ._stats import EngineCounters

if TYPE_CHECKING:
    from ._behaviour import Behaviour

__all__ = ["Requests"]

log = logging.getLogger(__name__)


class Requests:
    """The engine's :class:`SequenceTable` plus the owner of every request."""

    def __init__(self, total: int, per_peer: int, counters: EngineCounters) -> None:
        self._table = SequenceTable(total, per_peer)
        self._owners: dict[tuple[PublicKey, int], Behaviour] = {}
        self._unsent: list[PendingRequest] = []
        self._counters = counters

    def __len__(self) -> int:
        return len(self._table)

    def register(
        self,
        peer: PublicKey,
        sequence: int,
        command: int,
        now: float,
        *,
        owner: Behaviour | None = None,
        timeout: float = REPLY_TIMEOUT,
    ) -> bool:
        """Expect an answer to ``(peer, sequence)``; False (and nothing may be sent) when full."""
        request = PendingRequest(peer, sequence, command, now, now + timeout)
        if not self._table.register(request):
            self._counters.requests_refused += 1
            return False
        if owner is not None:
            self._owners[(peer, sequence)] = owner
        else:
            self._owners.pop((peer, sequence), None)
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
        owner = self._owners.pop((peer, sequence), None) if last else self._owners.get((peer, sequence))
        return request, owner

    def expire(self, now: float) -> list[tuple[PendingRequest, Behaviour | None]]:
        """Requests whose time ran out, with their owners."""
        expired = []
        for request in self._table.expire(now):
            owner = self._owners.pop((request.peer, request.sequence), None)
            log.debug(
                "request %d (command %d) to %s timed out", request.sequence, request.command, request.peer.hex()[:16]
            )
            self._counters.requests_timed_out += 1
            expired.append((request, owner))
        return expired

    def in_use(self, peer: PublicKey, sequence: int) -> bool:
        """Whether ``(peer, sequence)`` still awaits an answer."""
        return self._table.in_use(peer, sequence)
