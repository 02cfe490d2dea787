"""Helpers of the content tests: chains served from memory like the GetBlock server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from peernet_chain import FetchRange as BlockRange
from peernet_chain import LocalChain
from peernet_proto import PrivateKey, PublicKey


def key(number: int) -> PrivateKey:
    """A fixed private key."""
    return PrivateKey.from_bytes(bytes(31) + bytes([number]))


def open_chain(path: Path, owner: PrivateKey) -> LocalChain:
    return LocalChain(path, owner, map_size=1 << 24)


class ChainServer:
    """A BlockSource serving raw blocks per owner; ``chains`` may be changed between fetches."""

    def __init__(self, chains: dict[PublicKey, list[bytes]] | None = None) -> None:
        self.chains: dict[PublicKey, list[bytes]] = chains if chains is not None else {}
        self.requests = 0

    def serve(self, chain: LocalChain) -> tuple[int, int]:
        """Serve ``chain``'s current blocks; returns its (version, height)."""
        state, raws = chain.snapshot()
        self.chains[chain.owner.public_key] = raws
        return state.version, state.height

    async def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[BlockRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        self.requests += 1
        chain = self.chains.get(owner, [])
        for block_range in ranges:
            for number in range(block_range.first, block_range.first + block_range.count):
                yield number, chain[number] if number < len(chain) else None
