"""The transfer behaviour on the real engine: two PeerEngines with their runners, on real UDP on
loopback and on the in-memory network (loss, NATs), moving file ranges and a 200-block chain."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from peernet import _blocks
from peernet_chain import ChainCache, fetch_chain
from peernet_proto import DatagramTransport, EngineRunner, PeerEngine, PrivateKey, UdpTransport, hash_data
from peernet_proto.testing import MemoryNetwork
from peernet_proto.transfer import MemoryBlocks, MemoryFiles, TransferBehaviour, TransferClient, TransferError

from .test_client import OWNER, _chain

BIG = os.urandom(3_000_000)
BIG_HASH = hash_data(BIG)


class Side:
    """One node: engine, runner, transfer behaviour and client."""

    def __init__(self, key: PrivateKey, transport: DatagramTransport, behaviour: TransferBehaviour) -> None:
        self.engine = PeerEngine(key, behaviours=[behaviour])
        self.runner = EngineRunner(self.engine, transport)
        self.behaviour = behaviour
        self.client = TransferClient(behaviour, poke=self.runner.poke)
        self.transport = transport


@asynccontextmanager
async def _pair(owner_transport: DatagramTransport, requester_transport: DatagramTransport, *,
                owner_dials: bool = False) -> AsyncIterator[tuple[Side, Side]]:
    owner = Side(OWNER, owner_transport,
                 TransferBehaviour(MemoryFiles({BIG_HASH: BIG}), MemoryBlocks(OWNER.public_key, _chain(200))))
    requester = Side(PrivateKey.generate(), requester_transport, TransferBehaviour())
    async with trio.open_nursery() as nursery:
        await nursery.start(owner.runner.run)
        await nursery.start(requester.runner.run)
        dialer, target = (owner, requester) if owner_dials else (requester, owner)
        dialer.engine.contact(target.engine.public_key, target.transport.local_endpoints(), trio.current_time())
        dialer.runner.poke()
        with trio.fail_after(10):
            while requester.engine.peer(owner.engine.public_key) is None or owner.engine.peer(
                requester.engine.public_key
            ) is None:
                await trio.sleep(0.05)
        yield owner, requester
        nursery.cancel_scope.cancel()


async def _download(client: TransferClient, offset: int = 0, limit: int = 0) -> bytes:
    return b"".join([chunk async for chunk in client.download(OWNER.public_key, BIG_HASH, offset, limit)])


async def _check_chain(client: TransferClient, tmp_path: Path) -> None:
    with ChainCache(tmp_path / "cache", map_size=1 << 26) as cache:
        result = await fetch_chain(_blocks.TransferBlockSource(client), cache, OWNER.public_key, 1, 200)
        assert result.complete and result.fetched == 200
        assert result.chain is not None and result.chain.stored == 200


async def test_real_udp_file_range_and_chain(tmp_path: Path) -> None:
    async with (
        UdpTransport.open([("127.0.0.1", 0)]) as udp_owner,
        UdpTransport.open([("127.0.0.1", 0)]) as udp_requester,
        _pair(udp_owner, udp_requester) as (owner, requester),
    ):
        with trio.fail_after(30):
            assert await _download(requester.client) == BIG
            assert await _download(requester.client, 12_345, 1_000_000) == BIG[12_345:1_012_345]
            with pytest.raises(TransferError, match="not available"):
                async for _ in requester.client.download(OWNER.public_key, os.urandom(32)):
                    pass
            await _check_chain(requester.client, tmp_path)
        # The requests went with bidirectional sequences and every answer was matched.
        assert requester.engine.counters.unmatched_transfer == 0
        assert owner.engine.counters.lite_received > 0


async def test_memory_network_with_loss(autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
    network = MemoryNetwork(seed=11, latency=0.01, loss=0.05)
    async with _pair(network.add_host(["10.0.0.1"]), network.add_host(["10.0.0.2"])) as (_, requester):
        with trio.fail_after(120):
            assert await _download(requester.client, 1000, 1_500_000) == BIG[1000:1_501_000]
            await _check_chain(requester.client, tmp_path)


@pytest.mark.parametrize("kind", ["cone", "restricted", "port-restricted", "symmetric"])
@pytest.mark.parametrize("owner_behind_nat", [False, True])
async def test_memory_network_through_nat(
    autojump_clock: trio.testing.MockClock, kind: str, owner_behind_nat: bool
) -> None:
    """The side behind the NAT makes first contact; the transfer then flows both ways through it."""
    network = MemoryNetwork(seed=3, latency=0.02)
    nat = network.add_nat("198.51.100.1", kind)  # type: ignore[arg-type]
    public = network.add_host(["203.0.113.5"])
    private = network.add_host(["192.168.1.10"], nat=nat)
    owner_t, requester_t = (private, public) if owner_behind_nat else (public, private)
    async with _pair(owner_t, requester_t, owner_dials=owner_behind_nat) as (_, requester):
        with trio.fail_after(60):
            assert await _download(requester.client, 0, 400_000) == BIG[:400_000]
