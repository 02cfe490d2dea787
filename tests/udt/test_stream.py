"""trio's own stream conformance checks against UdtStream, over two connections wired in memory."""

from __future__ import annotations

import os
import random

import trio
import trio.testing

from peernet_proto.udt import UdtConfig, UdtConnection, UdtStream

CONFIG = UdtConfig(peer_timeout=2.0, idle_timeout=5.0, send_buffer=16 * 1198, flow_window=16)


def _pair(nursery: trio.Nursery, loss: float = 0.0, seed: int = 0) -> tuple[UdtStream, UdtStream]:
    rng = random.Random(seed)
    now = trio.current_time()
    dialer = UdtConnection.dial(rng.getrandbits(32), rng.getrandbits(31), now, CONFIG)
    listener = UdtConnection.listen(rng.getrandbits(32), now, CONFIG)
    streams: list[UdtStream] = []

    def link(index: int) -> object:
        def transmit(frame: bytes) -> None:
            if rng.random() >= loss:
                nursery.start_soon(_deliver, streams[index], frame)

        return transmit

    streams.append(UdtStream(dialer, link(1)))
    streams.append(UdtStream(listener, link(0)))
    for stream in streams:
        nursery.start_soon(stream.run)
    return streams[0], streams[1]


async def _deliver(stream: UdtStream, frame: bytes) -> None:
    await trio.sleep(0.0005)
    stream.feed(frame)


async def test_half_closeable_stream_conformance(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:

        async def maker() -> tuple[UdtStream, UdtStream]:
            return _pair(nursery)

        await trio.testing.check_half_closeable_stream(maker, None)
        nursery.cancel_scope.cancel()


async def test_bulk_both_ways_with_loss(autojump_clock: trio.testing.MockClock) -> None:
    up, down = os.urandom(300_000), os.urandom(200_000)
    async with trio.open_nursery() as nursery:
        a, b = _pair(nursery, loss=0.05, seed=3)

        async def send(stream: UdtStream, data: bytes) -> None:
            for i in range(0, len(data), 7000):
                await stream.send_all(data[i : i + 7000])
            await stream.send_eof()

        async def receive(stream: UdtStream, expected: bytes) -> None:
            got = bytearray()
            while chunk := await stream.receive_some():
                got += chunk
            assert bytes(got) == expected

        async with trio.open_nursery() as inner:
            inner.start_soon(send, a, up)
            inner.start_soon(send, b, down)
            inner.start_soon(receive, b, up)
            inner.start_soon(receive, a, down)
        await a.aclose()
        await b.aclose()
