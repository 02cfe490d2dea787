"""Datagram throughput of the transports, next to raw trio sockets in the same run.

    .venv/bin/python benchmarks/bench_transport.py [seconds-per-case]

One sender and one receiver task in one trio run, on loopback. The sender keeps at most WINDOW
datagrams unanswered by the receiver, so that the kernel's socket buffer never overflows and
the figure is delivered datagrams per second. MemoryNetwork runs with zero latency on the real
clock, so its figure is the cost of scheduling and delivering one datagram.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Awaitable, Callable

import trio

from peernet_proto import UdpTransport
from peernet_proto.testing import MemoryNetwork

WINDOW = 128
SIZES = (100, 1200)

Send = Callable[[bytes], Awaitable[object]]
Receive = Callable[[], Awaitable[object]]


async def measure(send: Send, receive: Receive, size: int, seconds: float) -> float:
    """Delivered datagrams per second for ``seconds``, with a window of WINDOW in flight."""
    payload = bytes(size)
    received = 0
    room = trio.Semaphore(WINDOW)
    stop_at = time.perf_counter() + seconds

    async def receiver() -> None:
        nonlocal received
        while True:
            await receive()
            received += 1
            room.release()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        start = time.perf_counter()
        while time.perf_counter() < stop_at:
            for _ in range(32):
                await room.acquire()
                await send(payload)
        while room.value < WINDOW:  # let the last window drain
            await trio.sleep(0.001)
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return received / elapsed


async def raw_trio(size: int, seconds: float) -> float:
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, trio.socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM
    ) as b:
        await a.bind(("127.0.0.1", 0))
        await b.bind(("127.0.0.1", 0))
        destination = b.getsockname()

        async def send(data: bytes) -> None:
            await a.sendto(data, destination)

        async def receive() -> None:
            await b.recvfrom(65536)

        return await measure(send, receive, size, seconds)


async def udp_transport(size: int, seconds: float) -> float:
    async with UdpTransport.open([("127.0.0.1", 0)]) as a, UdpTransport.open([("127.0.0.1", 0)]) as b:
        (local,) = a.local_endpoints()
        (destination,) = b.local_endpoints()

        async def send(data: bytes) -> None:
            await a.send(data, destination, local)

        rate = await measure(send, b.receive, size, seconds)
        assert b.statistics().dropped == 0
        return rate


async def memory_network(size: int, seconds: float) -> float:
    network = MemoryNetwork(latency=0.0)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"])
    (local,) = a.local_endpoints()
    (destination,) = b.local_endpoints()

    async def send(data: bytes) -> None:
        await a.send(data, destination, local)

    return await measure(send, b.receive, size, seconds)


async def main(seconds: float) -> None:
    print(f"{'size':>6} {'raw trio':>12} {'UdpTransport':>13} {'ratio':>6} {'MemoryNetwork':>14}")
    for size in SIZES:
        raw = await raw_trio(size, seconds)
        ours = await udp_transport(size, seconds)
        memory = await memory_network(size, seconds)
        print(f"{size:>6} {raw:>10.0f}/s {ours:>11.0f}/s {ours / raw:>6.2f} {memory:>12.0f}/s")


if __name__ == "__main__":
    trio.run(main, float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
