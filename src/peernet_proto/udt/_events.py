"""What a UDT connection reports to its owner."""

from __future__ import annotations

import enum

import attrs

__all__ = ["UdtBroken", "UdtConnected", "UdtDataReceived", "UdtEvent", "UdtState", "UdtStreamEnded"]


class UdtState(enum.Enum):
    """Life cycle of a connection."""

    LISTENING = "listening"  # listener waiting for the dialer's handshake
    CONNECTING = "connecting"  # dialer sending handshakes
    CONNECTED = "connected"
    CLOSED = "closed"  # both directions finished (or closed locally)
    BROKEN = "broken"  # the peer vanished or the handshake failed


@attrs.frozen
class UdtConnected:
    """The handshake completed."""

    peer_socket_id: int


@attrs.frozen
class UdtDataReceived:
    """In-order bytes became readable (reported when the readable count leaves zero); ``available`` is how many."""

    available: int


@attrs.frozen
class UdtStreamEnded:
    """The peer sent Shutdown after all its data: ``read`` returns what is left, then nothing more comes."""


@attrs.frozen
class UdtBroken:
    """The connection failed; ``reason`` says why. Nothing more will be sent or delivered."""

    reason: str


UdtEvent = UdtConnected | UdtDataReceived | UdtStreamEnded | UdtBroken
