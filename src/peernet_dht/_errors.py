"""Errors of the DHT layer, rooted in peernet_proto's hierarchy."""

from __future__ import annotations

from peernet_proto import InvalidFieldError, LocalProtocolError

__all__ = ["InvalidKeySizeError", "KeySizeError", "SearchPayloadError"]


class KeySizeError(LocalProtocolError, ValueError):
    """A caller passed a key or node ID that is not 32 bytes."""


class InvalidKeySizeError(InvalidFieldError):
    """A key or node ID received from the network is not 32 bytes."""


class SearchPayloadError(InvalidFieldError):
    """A network-search extension payload is malformed or exceeds its bounds."""
