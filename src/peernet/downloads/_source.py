"""Where download bytes come from: the :class:`RangeSource` protocol and an in-memory source.

The transfer layer implements :class:`RangeSource` over Transfer/UDT streams. :class:`MemorySource`
serves real bytes from a dict (per peer: file hash → content); with ``forge`` a peer serves
altered bytes, to exercise verification.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import trio

from peernet_chain import MerkleTree, fragment_size
from peernet_proto import PublicKey, RemoteProtocolError

__all__ = ["MemorySource", "RangeSource", "SourceUnavailableError"]


class SourceUnavailableError(RemoteProtocolError):
    """The peer cannot serve the file (unknown file, unreachable, transfer failed)."""


class RangeSource(Protocol):
    """Byte ranges and merkle trees of files, fetched from peers."""

    async def read_range(self, peer: PublicKey, file_hash: bytes, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes from ``offset`` (fewer only at the end of the file);
        raises :class:`SourceUnavailableError` (or another RemoteProtocolError / OSError)."""
        ...

    async def merkle_tree(self, peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        """The file's merkle tree as the peer reports it, or None when it does not offer trees."""
        ...


class MemorySource:
    """A :class:`RangeSource` over in-memory files. ``forge``: peers whose bytes are altered
    (every byte XOR 0xFF at ``forge_offsets``, or everywhere when that is empty)."""

    def __init__(
        self,
        files: Mapping[PublicKey, Mapping[bytes, bytes]],
        *,
        forge: frozenset[PublicKey] = frozenset(),
        forge_offsets: frozenset[int] = frozenset(),
        trees: bool = True,
        delay: float = 0.0,
    ) -> None:
        self.files = {peer: dict(content) for peer, content in files.items()}
        self.forge, self.forge_offsets, self.trees, self.delay = forge, forge_offsets, trees, delay
        self.requests: list[tuple[PublicKey, int, int]] = []

    def _content(self, peer: PublicKey, file_hash: bytes) -> bytes:
        content = self.files.get(peer, {}).get(file_hash)
        if content is None:
            raise SourceUnavailableError(f"{peer.hex()[:16]} does not have {file_hash.hex()[:16]}")
        return content

    async def read_range(self, peer: PublicKey, file_hash: bytes, offset: int, length: int) -> bytes:
        """Serve from the dict (after ``delay``)."""
        await trio.sleep(self.delay)
        content = self._content(peer, file_hash)
        self.requests.append((peer, offset, length))
        data = bytearray(content[offset : offset + length])
        if peer in self.forge:
            for position in range(len(data)):
                if not self.forge_offsets or offset + position in self.forge_offsets:
                    data[position] ^= 0xFF
        return bytes(data)

    async def merkle_tree(self, peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        """The true tree of the stored content (when ``trees``)."""
        await trio.sleep(0)
        if not self.trees:
            return None
        content = self._content(peer, file_hash)
        return MerkleTree.from_bytes(content, fragment_size(len(content)))
