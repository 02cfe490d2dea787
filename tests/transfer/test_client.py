"""Async downloads and ``fetch_chain`` through the transfer layer, on trio's MockClock."""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from peernet import _blocks
from peernet_chain import ZERO_HASH, Block, ChainCache, block_hash, encode_block, fetch_chain
from peernet_proto import PrivateKey
from peernet_proto.transfer import MemoryBlocks, MemoryFiles, TransferBehaviour, TransferClient, TransferError

from .host import Network
from .test_behaviour import FILE, FILE_HASH

OWNER = PrivateKey.from_bytes(bytes(31) + b"\x02")


def _chain(count: int) -> list[bytes]:
    raws: list[bytes] = []
    previous = ZERO_HASH
    for number in range(count):
        raw = encode_block(Block(OWNER.public_key, number, 1, previous, ()), OWNER)
        raws.append(raw)
        previous = block_hash(raw)
    return raws


@asynccontextmanager
async def _network(loss: float) -> AsyncIterator[tuple[Network, TransferClient, TransferBehaviour]]:
    net = Network(seed=5, loss=loss)
    net.clock = trio.current_time
    wake = trio.Event()

    def poke() -> None:
        wake.set()

    net.wake = poke
    owner = TransferBehaviour(MemoryFiles({FILE_HASH: FILE}), MemoryBlocks(OWNER.public_key, _chain(200)))
    net.add_node(2, owner)
    _, requester = net.add_node(1)

    async def drive() -> None:
        nonlocal wake
        while True:
            when = net.next_time()
            with trio.move_on_at(math.inf if when is None else when):
                await wake.wait()
            wake = trio.Event()
            net.advance(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drive)
        yield net, TransferClient(requester, poke=poke), owner
        nursery.cancel_scope.cancel()


async def test_download_file(autojump_clock: trio.testing.MockClock) -> None:
    async with _network(loss=0.03) as (_, client, _):
        data = b"".join([chunk async for chunk in client.download(OWNER.public_key, FILE_HASH, 10, 500_000)])
        assert data == FILE[10:500_010]
        with pytest.raises(TransferError):
            async for _ in client.download(OWNER.public_key, os.urandom(32)):
                pass


async def test_fetch_chain_of_200_blocks(autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
    async with _network(loss=0.05) as (_, client, _):
        source = _blocks.TransferBlockSource(client)
        with ChainCache(tmp_path / "cache", map_size=1 << 26) as cache:
            result = await fetch_chain(source, cache, OWNER.public_key, 1, 200)
            assert result.complete and result.fetched == 200
            assert result.chain is not None and result.chain.stored == 200
    assert trio.current_time() < 30
