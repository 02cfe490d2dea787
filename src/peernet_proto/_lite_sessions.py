"""The lite session table: which behaviour owns the lite packets of a session (spec wire.md §4).

Lite packets are unauthenticated: a datagram whose first 16 bytes name an open session is handed
to its owner only when it comes from an endpoint of the session's peer.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import attrs

from ._constants import LITE_HEADER_SIZE
from ._keys import PublicKey

if TYPE_CHECKING:
    from ._behaviour import Behaviour

__all__ = ["LiteSession", "LiteSessions"]


@attrs.frozen
class LiteSession:
    """An open session: its peer and the behaviour that gets its packets."""

    session_id: uuid.UUID
    peer: PublicKey
    owner: Behaviour


class LiteSessions:
    """Bounded: ``max_sessions`` in total and ``max_per_peer`` per peer."""

    def __init__(self, max_sessions: int, max_per_peer: int) -> None:
        self.max_sessions = max_sessions
        self.max_per_peer = max_per_peer
        self._sessions: dict[bytes, LiteSession] = {}
        self._per_peer: dict[PublicKey, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, session_id: uuid.UUID, peer: PublicKey, owner: Behaviour) -> bool:
        """Open (or re-own) a session; False when a limit refuses it."""
        raw = session_id.bytes
        if raw not in self._sessions:
            mine = self._per_peer.get(peer, set())
            if len(self._sessions) >= self.max_sessions or len(mine) >= self.max_per_peer:
                return False
        else:
            self.close(session_id)
        self._sessions[raw] = LiteSession(session_id, peer, owner)
        self._per_peer.setdefault(peer, set()).add(raw)
        return True

    def close(self, session_id: uuid.UUID) -> None:
        """Forget a session (nothing happens for an unknown one)."""
        session = self._sessions.pop(session_id.bytes, None)
        if session is not None:
            mine = self._per_peer[session.peer]
            mine.discard(session_id.bytes)
            if not mine:
                del self._per_peer[session.peer]

    def close_peer(self, peer: PublicKey) -> list[LiteSession]:
        """Close every session of ``peer``; returns them."""
        closed = [self._sessions.pop(raw) for raw in self._per_peer.pop(peer, set())]
        return closed

    def match(self, data: bytes) -> LiteSession | None:
        """The open session a datagram starts with, if any (checked before any decryption)."""
        if len(data) < LITE_HEADER_SIZE or not self._sessions:
            return None
        return self._sessions.get(bytes(data[:16]))
