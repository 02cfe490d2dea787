"""The chain layer's :class:`~peernet_chain.BlockSource` over the transfer layer's GetBlock downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from peernet_chain import FetchRange as BlockRange
from peernet_proto import PublicKey
from peernet_proto.transfer import TransferClient
from peernet_proto.wire import BlockRange as WireBlockRange

__all__ = ["TransferBlockSource"]


class TransferBlockSource:
    """Fetches a chain from its owner (the peer with the owner's key) with GetBlock."""

    def __init__(self, client: TransferClient) -> None:
        self.client = client

    def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[BlockRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        """See :class:`peernet_chain.BlockSource`."""
        wire_ranges = [WireBlockRange(r.first, r.count) for r in ranges]
        return self.client.fetch_blocks(owner, owner, wire_ranges, max_block_size, limit_count)
