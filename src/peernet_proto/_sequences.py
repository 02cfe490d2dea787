"""Outstanding request sequences, keyed by (remote key, sequence) (spec wire.md §8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._keys import PublicKey

if TYPE_CHECKING:
    from ._behaviour import Behaviour

__all__ = ["PendingRequest", "SequenceTable"]

REPLY_TIMEOUT = 20.0
CONTINUATION_TIMEOUT = 10.0  # after a non-last Response


@attrs.define(slots=True)
class PendingRequest:
    """A request awaiting its answer; ``owner`` gets the answer (None: the application) and
    ``prefix`` is the source prefix it counts under (None: none)."""

    peer: PublicKey
    sequence: int
    command: int
    sent_at: float
    expires: float
    answered: bool = False
    owner: Behaviour | None = None
    prefix: str | None = None


class SequenceTable:
    """Bounded: at most ``per_peer`` outstanding requests per remote key and ``total`` overall.
    When full, new requests are refused (the caller does not send them)."""

    def __init__(self, total: int = 8192, per_peer: int = 256) -> None:
        self._entries: dict[tuple[PublicKey, int], PendingRequest] = {}
        self._per_peer: dict[PublicKey, int] = {}
        self._total = total
        self._per_peer_limit = per_peer

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, request: PendingRequest) -> bool:
        key = (request.peer, request.sequence)
        if key in self._entries:
            self._remove(key)
        count = self._per_peer.get(request.peer, 0)
        if len(self._entries) >= self._total or count >= self._per_peer_limit:
            return False
        self._entries[key] = request
        self._per_peer[request.peer] = count + 1
        return True

    def match(self, peer: PublicKey, sequence: int, now: float, *, last: bool = True) -> PendingRequest | None:
        """The request a reply answers, or None if unknown or expired. A last reply removes it;
        a non-last one extends it for the follow-up packets."""
        key = (peer, sequence)
        request = self._entries.get(key)
        if request is None or request.expires <= now:
            return None
        if last:
            self._remove(key)
        else:
            request.expires = now + CONTINUATION_TIMEOUT
        return request

    def expire(self, now: float) -> list[PendingRequest]:
        expired = [key for key, request in self._entries.items() if request.expires <= now]
        return [self._remove(key) for key in expired]

    def pending_to(self, peer: PublicKey) -> int:
        """How many requests to ``peer`` await their answer."""
        return self._per_peer.get(peer, 0)

    def in_use(self, peer: PublicKey, sequence: int) -> bool:
        return (peer, sequence) in self._entries

    def get(self, peer: PublicKey, sequence: int) -> PendingRequest | None:
        """The request awaiting ``(peer, sequence)``, expired or not."""
        return self._entries.get((peer, sequence))

    def _remove(self, key: tuple[PublicKey, int]) -> PendingRequest:
        request = self._entries.pop(key)
        remaining = self._per_peer[request.peer] - 1
        if remaining:
            self._per_peer[request.peer] = remaining
        else:
            del self._per_peer[request.peer]
        return request
