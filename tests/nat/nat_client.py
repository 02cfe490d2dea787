"""A node's port mapping, run inside a lab namespace: keeps a UDP echo on PORT mapped with
METHOD and prints one JSON line per event; SIGTERM stops it (mappings are deleted on the way out).

    nat_client.py METHOD PORT LIFETIME [EXTERNAL_PORT]
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import time

import trio

from peernet_nat import MappingEvent, MappingMethod, MappingRequest, PortMapper, TransportProtocol


def emit(kind: str, **fields: object) -> None:
    print(json.dumps({"event": kind, "t": time.monotonic(), **fields}), flush=True)


def on_event(event: MappingEvent) -> None:
    mapping = event.mapping
    emit(
        event.kind.value,
        method=mapping.method.value if mapping else None,
        external_ip=str(mapping.external_ip) if mapping else None,
        external_port=mapping.external_port if mapping else None,
        lifetime=mapping.lifetime if mapping else None,
        detail=event.detail,
    )


async def echo(port: int) -> None:
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind(("0.0.0.0", port))
        while True:
            data, address = await sock.recvfrom(2048)
            await sock.sendto(data, address)


async def main(method: str, port: int, lifetime: int, external_port: int) -> None:
    mapper = PortMapper(
        [MappingRequest(TransportProtocol.UDP, port, external_port)],
        methods=[MappingMethod(method)], lifetime=lifetime, on_event=on_event,
    )
    with trio.move_on_after(600):  # never outlives a test run
        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo, port)
            emit("start")
            await nursery.start(mapper.run)
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    break
            nursery.cancel_scope.cancel()
    emit("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    external = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    trio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), external)
