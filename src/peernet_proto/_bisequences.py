"""Bidirectional sequences of transfers (spec wire.md §8.2): the requester allocates one when it
sends REQUEST_START, the data owner registers it when it accepts one; every other Transfer or
GetBlock message needs a live entry, and the ones that end a transfer remove it.

File transfers stay valid 60 s after their last message, block transfers 10 s. Bounded per peer
and in total; the oldest entry of a full table gives way.
"""

from __future__ import annotations

from collections.abc import Callable

from ._keys import PublicKey
from ._messages import Message
from ._transfer import GetBlock, GetBlockControl, Transfer, TransferControl

__all__ = ["BLOCK_SEQUENCE_TIMEOUT", "FILE_SEQUENCE_TIMEOUT", "BiSequences", "is_request_start"]

FILE_SEQUENCE_TIMEOUT = 60.0
BLOCK_SEQUENCE_TIMEOUT = 10.0


def is_request_start(message: Message) -> bool:
    """Whether ``message`` starts a transfer (and so needs no existing sequence)."""
    if isinstance(message, Transfer):
        return message.control == TransferControl.REQUEST_START
    return isinstance(message, GetBlock) and message.control == GetBlockControl.REQUEST_START


def _timeout(message: Message) -> float:
    return BLOCK_SEQUENCE_TIMEOUT if isinstance(message, GetBlock) else FILE_SEQUENCE_TIMEOUT


class BiSequences:
    """(peer, sequence) → (expiry, timeout) of transfers in progress."""

    def __init__(self, max_total: int = 8192, max_per_peer: int = 256) -> None:
        self.max_total = max_total
        self.max_per_peer = max_per_peer
        self._entries: dict[tuple[PublicKey, int], tuple[float, float]] = {}
        self._per_peer: dict[PublicKey, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def in_use(self, peer: PublicKey, sequence: int, now: float) -> bool:
        """Whether ``(peer, sequence)`` is a live transfer sequence."""
        entry = self._entries.get((peer, sequence))
        return entry is not None and entry[0] > now

    def register(self, peer: PublicKey, sequence: int, message: Message, now: float) -> None:
        """Start (or restart) the sequence of a transfer ``message`` begins."""
        key = (peer, sequence)
        if key not in self._entries:
            if self._per_peer.get(peer, 0) >= self.max_per_peer:
                self._evict(lambda k: k[0] == peer)
            if len(self._entries) >= self.max_total:
                self._evict(lambda k: True)
            self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
        timeout = _timeout(message)
        self._entries[key] = (now + timeout, timeout)

    def accept(self, peer: PublicKey, sequence: int, message: Message, now: float) -> bool:
        """Whether a received (or sent) non-start transfer message belongs to a live sequence;
        refreshes it, or removes it when the message ends the transfer."""
        key = (peer, sequence)
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            if entry is not None:
                self._remove(key)
            return False
        if isinstance(message, Transfer | GetBlock) and message.ends_transfer:
            self._remove(key)
        else:
            self._entries[key] = (now + entry[1], entry[1])
        return True

    def purge(self, now: float) -> None:
        """Drop expired entries."""
        for key in [k for k, (expiry, _) in self._entries.items() if expiry <= now]:
            self._remove(key)

    def forget_peer(self, peer: PublicKey) -> None:
        """Drop every entry of a removed peer."""
        for key in [k for k in self._entries if k[0] == peer]:
            self._remove(key)

    def _evict(self, which: Callable[[tuple[PublicKey, int]], bool]) -> None:
        candidates = [k for k in self._entries if which(k)]
        if candidates:
            self._remove(min(candidates, key=lambda k: self._entries[k][0]))

    def _remove(self, key: tuple[PublicKey, int]) -> None:
        if self._entries.pop(key, None) is not None:
            left = self._per_peer.get(key[0], 1) - 1
            if left > 0:
                self._per_peer[key[0]] = left
            else:
                self._per_peer.pop(key[0], None)
