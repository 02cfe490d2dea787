"""The error hierarchy of the Peernet libraries.

Two branches, as in h11: :class:`RemoteProtocolError` means a peer sent something invalid (drop it,
maybe penalise the peer); :class:`LocalProtocolError` means the caller asked for something the
protocol cannot express (a bug in the calling code). Decoders only ever raise :class:`DecodeError`
subclasses on bad input; encoders raise :class:`EncodeError` subclasses.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "EncodeError",
    "InvalidFieldError",
    "InvalidKeyError",
    "LocalProtocolError",
    "MessageTooLargeError",
    "PeernetError",
    "RemoteProtocolError",
    "SignatureError",
    "TruncatedError",
]


class PeernetError(Exception):
    """Base class of every error the Peernet libraries raise on purpose."""


class RemoteProtocolError(PeernetError):
    """Input that came from the network is invalid."""


class LocalProtocolError(PeernetError):
    """The caller asked for something the protocol cannot express."""


class DecodeError(RemoteProtocolError, ValueError):
    """Bytes could not be decoded. Raised by every decoder, and only this family."""


class TruncatedError(DecodeError):
    """The data ends before a field or a list that it announces."""


class InvalidFieldError(DecodeError):
    """A field holds a value the format does not allow (bad UTF-8, size mismatch, ...)."""


class InvalidKeyError(DecodeError):
    """Bytes are not a valid secp256k1 key."""


class SignatureError(DecodeError):
    """A signature cannot be parsed, or no public key can be recovered from it."""


class EncodeError(LocalProtocolError, ValueError):
    """A value cannot be encoded."""


class MessageTooLargeError(EncodeError):
    """A value does not fit into the size limits of the format."""
