"""The engine behaviour contract, as this package uses it.

The engine exports ``Behaviour`` and ``EngineHost`` from ``peernet_proto``; these structural copies
carry exactly the fixed names of that contract so the transfer layer type-checks on its own. Any
object with these methods works (they are ``typing.Protocol`` classes).
"""

from __future__ import annotations

import uuid
from typing import Protocol

from .._engine import PeerInfo
from .._events import EngineEvent
from .._keys import PublicKey
from .._messages import Message

__all__ = ["BehaviourLike", "EngineHostLike"]


class EngineHostLike(Protocol):
    """What a behaviour may call on the engine."""

    def send_message(self, peer: PublicKey, message: Message, sequence: int = 0) -> bool:
        """Send a full packet to ``peer``; ``sequence`` 0 lets the engine start a new exchange."""
        ...

    def send_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes) -> bool:
        """Send one lite packet to ``peer`` over its current connection."""
        ...

    def open_lite_session(self, session_id: uuid.UUID, peer: PublicKey, owner: BehaviourLike) -> bool:
        """Register a lite session; False when a limit refuses it."""
        ...

    def close_lite_session(self, session_id: uuid.UUID) -> None:
        """Forget a lite session."""
        ...

    def peer(self, key: PublicKey) -> PeerInfo | None:
        """A snapshot of a known peer."""
        ...


class BehaviourLike(Protocol):
    """A protocol plugged into the engine."""

    feature_bits: int
    commands: frozenset[int]

    def attach(self, host: EngineHostLike, now: float) -> None:
        """Called once when the engine takes the behaviour."""
        ...

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        """A message whose command is in ``commands``."""
        ...

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        """The data of a lite packet for one of our sessions, from that session's peer."""
        ...

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Engine events (PeerConnected, PeerRemoved, ...)."""
        ...

    def handle_timer(self, now: float) -> None:
        """Called at (or after) :meth:`next_deadline`."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` is next needed."""
        ...
