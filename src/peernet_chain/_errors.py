"""Errors of the chain layer, rooted in the peernet_proto hierarchy."""

from __future__ import annotations

from peernet_proto import DecodeError, PeernetError, RemoteProtocolError, SignatureError

__all__ = [
    "BlockDecodeError",
    "BlockNotFoundError",
    "BlockSignatureError",
    "ChainCorruptError",
    "ChainValidationError",
    "FetchError",
    "MerkleDecodeError",
    "WarehouseError",
    "WarehouseFileNotFoundError",
]


class BlockDecodeError(DecodeError):
    """Raw bytes are not a valid block (or a record inside it is invalid)."""


class BlockSignatureError(BlockDecodeError, SignatureError):
    """The block signature is malformed, non-canonical or recovers no key."""


class MerkleDecodeError(DecodeError):
    """A merkle companion file (export blob) is malformed."""


class ChainValidationError(RemoteProtocolError):
    """A chain received from the network breaks a chain rule.

    ``reason`` is a short machine-readable tag (``"owner"``, ``"number"``, ``"version"``, ``"link"``,
    ``"decode"``, ``"size"``, ``"count"``, ``"range"``...); ``number`` is the offending block number.
    """

    def __init__(self, reason: str, message: str, number: int | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.number = number


class FetchError(ChainValidationError):
    """The transfer layer delivered something the request did not ask for."""


class ChainCorruptError(PeernetError):
    """The local store holds data that does not form a valid chain (should never happen)."""


class BlockNotFoundError(PeernetError, LookupError):
    """No block with that number exists in the chain."""


class WarehouseError(PeernetError):
    """A warehouse operation failed."""


class WarehouseFileNotFoundError(WarehouseError, LookupError):
    """No file with that hash is stored in the warehouse."""
