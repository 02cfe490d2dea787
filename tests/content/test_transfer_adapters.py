"""The transfer adapters, joined by an in-memory client that serves like the transfer server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import trio

from peernet._chains import ChainPolicy, SyncOutcome, sync_chain
from peernet._library import ContentLibrary
from peernet._transfer_adapters import ChainBlockProvider, PeerBlockSource, TransferRangeSource, WarehouseFileSource
from peernet.downloads import DownloadManager, DownloadStatus, SourceUnavailableError
from peernet_chain import MINIMUM_FRAGMENT_SIZE, MerkleTree
from peernet_proto import PublicKey
from peernet_proto.wire import BlockRange

from ._helpers import key


class MemoryClient:
    """Serves each peer's FileSource and BlockProvider, in 64 KiB chunks."""

    def __init__(
        self, files: dict[PublicKey, WarehouseFileSource], chains: dict[PublicKey, ChainBlockProvider]
    ) -> None:
        self.files, self.chains = files, chains
        self.extra = b""

    async def download(
        self, peer: PublicKey, file_hash: bytes, offset: int = 0, limit: int = 0
    ) -> AsyncIterator[bytes]:
        source = self.files[peer]
        size = source.file_size(file_hash)
        if size is None:
            raise SourceUnavailableError("not found")
        end = size if limit == 0 else min(size, offset + limit)
        while offset < end:
            await trio.sleep(0)
            chunk = source.read_file(file_hash, offset, min(65536, end - offset))
            offset += len(chunk)
            yield chunk
        if self.extra:
            yield self.extra

    async def fetch_blocks(
        self, peer: PublicKey, owner: PublicKey, ranges: Sequence[BlockRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        provider = self.chains[peer]
        for block_range in ranges:
            for number in range(block_range.offset, block_range.offset + block_range.limit):
                await trio.sleep(0)
                yield number, provider.block(number) if owner == provider.public_key else None


async def test_download_and_chain_fetch_through_the_adapters(tmp_path: Path) -> None:
    alice = ContentLibrary(tmp_path / "alice", key(90))
    bob = ContentLibrary(tmp_path / "bob", key(91))
    content = os.urandom(2 * MINIMUM_FRAGMENT_SIZE + 99)
    (tmp_path / "data.bin").write_bytes(content)
    shared = alice.share(tmp_path / "data.bin", 10)
    client = MemoryClient(
        {alice.owner: WarehouseFileSource(alice.warehouse)}, {alice.owner: ChainBlockProvider(alice.chain)}
    )

    result = await sync_chain(PeerBlockSource(client, alice.owner), bob.cache, ChainPolicy(), alice.owner, 0, 1, 0.0)
    assert result.outcome is SyncOutcome.FETCHED and bob.files(alice.owner)[0].record.id == shared.record.id

    async def trees(peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        return alice.tree_of(file_hash)

    source = TransferRangeSource(client, trees)
    assert await source.read_range(alice.owner, shared.record.hash, 5, 100_000) == content[5:100_005]
    assert await source.read_range(alice.owner, shared.record.hash, len(content) - 3, 10) == content[-3:]
    manager = DownloadManager(source, tmp_path / "state.json")
    (tmp_path / "out").mkdir()
    record = shared.record
    download_id = manager.start(
        record.hash, record.size, [alice.owner], tmp_path / "out", "d.bin", merkle_root=record.merkle_root
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        with trio.fail_after(30):
            while (info := manager.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
                await manager.wait_changed()
        nursery.cancel_scope.cancel()
    assert (tmp_path / "out" / "d.bin").read_bytes() == content

    client.extra = b"x"  # a peer that sends more than asked
    with pytest.raises(SourceUnavailableError):
        await source.read_range(alice.owner, shared.record.hash, 0, 10)
    assert (
        ChainBlockProvider(alice.chain).block(5) is None
        and WarehouseFileSource(alice.warehouse).file_size(b"x") is None
    )
    alice.close()
    bob.close()
