"""Errors of the NAT layer.

Malformed replies from a router are remote errors: every decoder raises only
:class:`~peernet_proto.DecodeError` subclasses. A well-formed refusal (a result code or a UPnP
fault) is a :class:`MappingRefusedError`.
"""

from __future__ import annotations

from peernet_proto import DecodeError, InvalidFieldError, PeernetError, RemoteProtocolError

__all__ = [
    "GatewayNotFoundError",
    "HttpError",
    "MappingRefusedError",
    "NonceMismatchError",
    "UnexpectedOpcodeError",
    "UnsafeXmlError",
    "UnsupportedVersionError",
]


class UnsafeXmlError(DecodeError):
    """XML that is too large, declares a DOCTYPE or entities, or is not well formed."""


class UnexpectedOpcodeError(InvalidFieldError):
    """A reply answers another request than the one we sent."""


class NonceMismatchError(InvalidFieldError):
    """A PCP reply carries a nonce other than the request's (stale or spoofed)."""


class UnsupportedVersionError(InvalidFieldError):
    """A reply of another protocol version (e.g. a NAT-PMP server answering a PCP request)."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version


class HttpError(DecodeError):
    """An HTTP reply that is malformed, too large, or not a success status."""


class MappingRefusedError(RemoteProtocolError):
    """The gateway understood the request and refused it (result code or UPnP fault)."""

    def __init__(self, method: str, code: int, description: str = "") -> None:
        super().__init__(f"{method} refused: {code} {description}".rstrip())
        self.method = method
        self.code = code
        self.description = description


class GatewayNotFoundError(PeernetError):
    """No gateway answered for a protocol within the time allowed."""
