"""Adapters between the content library and the transfer layer (structural; no transfer import).

The transfer layer's client offers ``download(peer, file_hash, offset, limit)`` (an async iterator
of byte chunks) and ``fetch_blocks(peer, owner, ranges, max_block_size, limit_count)`` (an async
iterator of (number, raw block or None), ranges as ``peernet_proto.BlockRange(offset, limit)``);
its server reads from a ``FileSource`` (``file_size``, ``read_file``) and a ``BlockProvider``
(``public_key``, ``height()``, ``block(n)``). These adapters connect them to
:class:`~peernet.downloads.RangeSource`, :class:`~peernet_chain.BlockSource`, the warehouse and
the own chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import peernet_chain
from peernet_chain import BlockNotFoundError, LocalChain, MerkleTree, Warehouse
from peernet_proto import PublicKey
from peernet_proto.wire import BlockRange

from .downloads import SourceUnavailableError

__all__ = [
    "ChainBlockProvider",
    "PeerBlockSource",
    "TransferClientLike",
    "TransferRangeSource",
    "WarehouseFileSource",
]


class TransferClientLike(Protocol):
    """The part of the transfer client the adapters use."""

    def download(self, peer: PublicKey, file_hash: bytes, offset: int = 0, limit: int = 0) -> AsyncIterator[bytes]:
        """Bytes of ``file_hash`` from ``offset`` (``limit`` bytes; 0: to the end)."""
        ...

    def fetch_blocks(
        self, peer: PublicKey, owner: PublicKey, ranges: Sequence[BlockRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        """Blocks of ``owner``'s chain as ``peer`` holds them."""
        ...


class TransferRangeSource:
    """A :class:`~peernet.downloads.RangeSource` over the transfer client. ``trees``: how to get a
    peer's merkle tree (the merkle extension, once wired), or None."""

    def __init__(
        self,
        client: TransferClientLike,
        trees: Callable[[PublicKey, bytes], Awaitable[MerkleTree | None]] | None = None,
    ) -> None:
        self.client, self.trees = client, trees

    async def read_range(self, peer: PublicKey, file_hash: bytes, offset: int, length: int) -> bytes:
        """Exactly the requested bytes (fewer only at the end of the file); more is a protocol error."""
        if length <= 0:
            return b""
        parts: list[bytes] = []
        received = 0
        stream = self.client.download(peer, file_hash, offset, length)
        try:
            async for chunk in stream:
                received += len(chunk)
                if received > length:
                    raise SourceUnavailableError("the peer sent more than the requested range")
                parts.append(chunk)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return b"".join(parts)

    async def merkle_tree(self, peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        """The peer's tree through ``trees``, or None."""
        return None if self.trees is None else await self.trees(peer, file_hash)


class PeerBlockSource:
    """A :class:`~peernet_chain.BlockSource` fetching owners' chains from one peer."""

    def __init__(self, client: TransferClientLike, peer: PublicKey) -> None:
        self.client, self.peer = client, peer

    def fetch_blocks(
        self,
        owner: PublicKey,
        ranges: Sequence[peernet_chain.FetchRange],
        max_block_size: int,
        limit_count: int,
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        """Ask the peer for the ranges (converted to the wire's offset/limit form)."""
        wire = [BlockRange(r.first, r.count) for r in ranges]
        return self.client.fetch_blocks(self.peer, owner, wire, max_block_size, limit_count)


class WarehouseFileSource:
    """The transfer server's ``FileSource``: files in the warehouse (the reference serves any of them)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def file_size(self, file_hash: bytes) -> int | None:
        """Size of a warehouse file, or None."""
        return self.warehouse.size(file_hash) if len(file_hash) == 32 else None

    def read_file(self, file_hash: bytes, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset``."""
        return self.warehouse.read(file_hash, offset, size)


class ChainBlockProvider:
    """The transfer server's ``BlockProvider``: the own chain."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain

    @property
    def public_key(self) -> PublicKey:
        """The chain owner's key."""
        return self.chain.owner.public_key

    def height(self) -> int:
        """The number of blocks."""
        return self.chain.height

    def block(self, number: int) -> bytes | None:
        """A raw block, or None."""
        try:
            return self.chain.raw_block(number)
        except BlockNotFoundError:
            return None
