"""Runs inside a network namespace for the discovery test: ``receive`` or ``send``.

``receive IP4 IP6 COUNT``: listen (with the discovery sockets), print ``{"ready": ...}``, then print
the first COUNT datagrams (or what came within 5 s). ``send IP4 IP6``: send one discovery
datagram from each main socket and print where they went.
"""

from __future__ import annotations

import json
import sys

import trio

from peernet_proto import UdpTransport


def emit(value: object) -> None:
    print(json.dumps(value), flush=True)


async def receive(ip4: str, ip6: str, count: int) -> None:
    async with UdpTransport.open([(ip4, 0), (ip6, 0)], discovery=True) as transport:
        emit({"ready": transport.local_endpoints(), "discovery": transport.discovery_endpoints()})
        received: list[object] = []
        with trio.move_on_after(5.0):
            while len(received) < count:
                datagram = await transport.receive()
                received.append([datagram.data.decode(), datagram.source, datagram.local])
        emit({"received": received})


async def send(ip4: str, ip6: str) -> None:
    async with UdpTransport.open([(ip4, 0), (ip6, 0)]) as transport:
        destinations = []
        for local in transport.local_endpoints():
            destinations.append(transport.discovery_destinations(local))
            await transport.send_discovery(f"hello from {local[0]}".encode(), local)
        statistics = transport.statistics()
        emit(
            {
                "endpoints": transport.local_endpoints(),
                "destinations": destinations,
                "sent": statistics.datagrams_sent,
                "errors": statistics.send_errors,
            }
        )


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        trio.run(receive, sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        trio.run(send, sys.argv[2], sys.argv[3])
