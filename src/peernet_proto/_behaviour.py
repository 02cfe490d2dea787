"""Protocols plugged into the peer engine: :class:`Behaviour` and what it may call, :class:`EngineHost`.

A behaviour announces feature bits, takes the message commands it lists (instead of the generic
:class:`MessageReceived` event), gets the engine's events, the answers to its own requests, its
lite packets, and the time. The DHT, bucket refresh, reachability and the transfer layer are
behaviours; :class:`BaseBehaviour` gives do-nothing defaults.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

from ._events import EngineEvent
from ._keys import PublicKey
from ._messages import Message

if TYPE_CHECKING:
    from ._peertable import PeerInfo

__all__ = ["BaseBehaviour", "Behaviour", "EngineHost"]


class Behaviour(Protocol):
    """A protocol plugged into the engine at construction (``PeerEngine(..., behaviours=[...])``)
    or later with ``engine.register(b)``."""

    feature_bits: int
    commands: frozenset[int]

    def attach(self, host: EngineHost, now: float) -> None:
        """Called once when registered; ``host`` is the engine."""
        ...

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        """A message whose command is in :attr:`commands`."""
        ...

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        """A lite packet of a session this behaviour opened."""
        ...

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Every engine event, and the answers (ResponseReceived, RequestTimedOut, PongReceived)
        to requests this behaviour sent."""
        ...

    def handle_timer(self, now: float) -> None:
        """The time reached :meth:`next_deadline` (or later)."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` is next wanted; None for never."""
        ...


class EngineHost(Protocol):
    """What a behaviour may call on the engine."""

    def send_message(self, peer: PublicKey, message: Message, sequence: int = 0) -> bool:
        """Send any message to a known peer over its current connection."""
        ...

    def send_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes) -> bool:
        """Send a lite packet over the peer's current connection."""
        ...

    def open_lite_session(self, session_id: uuid.UUID, peer: PublicKey, owner: Behaviour) -> bool:
        """Route lite packets of ``session_id`` from ``peer`` to ``owner``; False when refused."""
        ...

    def close_lite_session(self, session_id: uuid.UUID) -> None:
        """Stop routing ``session_id``."""
        ...

    def peer(self, key: PublicKey) -> PeerInfo | None:
        """A snapshot of a known peer."""
        ...


class BaseBehaviour:
    """Do-nothing defaults of every :class:`Behaviour` method; subclasses override what they use."""

    feature_bits: int = 0
    commands: frozenset[int] = frozenset()

    def attach(self, host: EngineHost, now: float) -> None:
        """Keep nothing by default."""

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        """Ignore."""

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        """Ignore."""

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Ignore."""

    def handle_timer(self, now: float) -> None:
        """Nothing to do."""

    def next_deadline(self) -> float | None:
        """No timer."""
        return None
