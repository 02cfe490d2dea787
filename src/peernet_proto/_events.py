"""Events the peer engine reports to the application."""

from __future__ import annotations

import attrs

from ._keys import PublicKey
from ._messages import Message
from ._response import Response
from ._transport import Endpoint

__all__ = [
    "AddressObserved",
    "EngineEvent",
    "MessageReceived",
    "PeerConnected",
    "PeerRemoved",
    "PongReceived",
    "RequestTimedOut",
    "ResponseReceived",
]


@attrs.frozen
class PeerConnected:
    """A peer was seen for the first time."""

    peer: PublicKey
    remote: Endpoint
    user_agent: str


@attrs.frozen
class PeerRemoved:
    """A peer lost its last connection (or was evicted)."""

    peer: PublicKey
    reason: str


@attrs.frozen
class ResponseReceived:
    """A Response packet to one of our Announcements. It goes to the behaviour that sent the
    request (its owner), or to the application, which knows it by ``(peer, sequence)``."""

    peer: PublicKey
    response: Response
    sequence: int
    rtt: float


@attrs.frozen
class AddressObserved:
    """``peer`` saw our packets, sent from the socket ``local``, arrive from ``observed``;
    ``reporter_at`` is where the report came from (votes are shared per source prefix)."""

    peer: PublicKey
    observed: Endpoint
    local: Endpoint
    reporter_at: Endpoint | None = None


@attrs.frozen
class PongReceived:
    """A Pong answered our Ping from ``peer``; ``rtt`` is the round trip in seconds."""
    peer: PublicKey
    rtt: float


@attrs.frozen
class RequestTimedOut:
    """A request to ``peer`` got no (or no final) Response in time.

    ``command`` is the request's command byte.
    """
    peer: PublicKey
    sequence: int
    command: int
    answered: bool  # True when some (but not the last) Response packets arrived


@attrs.frozen
class MessageReceived:
    """Any other message for the application: Announcement (after the engine answered it),
    Traverse, Transfer, GetBlock, Chat."""

    peer: PublicKey
    message: Message
    sequence: int
    remote: Endpoint
    local: Endpoint


#: Anything :meth:`PeerEngine.events` yields.
EngineEvent = (
    AddressObserved | PeerConnected | PeerRemoved | ResponseReceived | PongReceived | RequestTimedOut | MessageReceived
)
