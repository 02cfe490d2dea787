"""Application byte streams in lite sessions (LiteStreams) between two nodes of the in-memory host."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from peernet_proto.transfer import LiteStreams
from peernet_proto.udt import UdtConfig, UdtStream

from .host import MemoryHost, Network

CONFIG = UdtConfig(peer_timeout=2.0, idle_timeout=5.0)


Nodes = list[tuple[MemoryHost, LiteStreams]]


@asynccontextmanager
async def _nodes(loss: float = 0.0) -> AsyncIterator[tuple[trio.Nursery, Network, Nodes]]:
    net = Network(seed=9, loss=loss)
    net.clock = trio.current_time
    wake = trio.Event()

    def poke() -> None:
        wake.set()

    net.wake = poke
    nodes = []
    for seed in (1, 2):
        host, _ = net.add_node(seed)
        streams = LiteStreams(CONFIG)
        host.register(streams)
        nodes.append((host, streams))

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
        yield nursery, net, nodes
        nursery.cancel_scope.cancel()


def _open(nursery: trio.Nursery, nodes: list[tuple[MemoryHost, LiteStreams]]) -> tuple[UdtStream, UdtStream]:
    (host_a, a), (host_b, b) = nodes
    session = uuid.uuid4()
    now = trio.current_time()
    dialer = a.open(host_b.key, session, dialer=True, now=now)
    listener = b.open(host_a.key, session, dialer=False, now=now)
    for owner, stream in ((a, dialer), (b, listener)):

        async def run(owner: LiteStreams = owner, stream: UdtStream = stream) -> None:
            try:
                await stream.run()
            finally:
                owner.release(session)

        nursery.start_soon(run)
    return dialer, listener


async def test_lite_stream_conformance(autojump_clock: trio.testing.MockClock) -> None:
    async with _nodes() as (nursery, _, nodes):

        async def maker() -> tuple[UdtStream, UdtStream]:
            return _open(nursery, nodes)

        await trio.testing.check_half_closeable_stream(maker, None)


async def test_lite_stream_bulk_with_loss(autojump_clock: trio.testing.MockClock) -> None:
    data = os.urandom(500_000)
    async with _nodes(loss=0.05) as (nursery, _, nodes):
        a, b = _open(nursery, nodes)

        async def send() -> None:
            await a.send_all(data)
            await a.send_eof()

        nursery.start_soon(send)
        got = bytearray()
        while chunk := await b.receive_some():
            got += chunk
        assert bytes(got) == data


async def test_peer_removed_breaks_streams(autojump_clock: trio.testing.MockClock) -> None:
    async with _nodes() as (nursery, _, nodes):
        a, b = _open(nursery, nodes)
        await a.send_all(b"hello")
        assert await b.receive_some() == b"hello"
        (host_a, streams_a), (host_b, _) = nodes
        host_a.remove_peer(host_b.key)
        assert not streams_a.streams and not host_a.lite
        with pytest.raises(trio.BrokenResourceError):
            await a.receive_some()
        with pytest.raises(trio.BrokenResourceError):
            await b.receive_some()  # the other side notices the silence
