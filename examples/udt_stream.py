"""A UDT connection between two ends in memory, first sans-IO by hand, then as trio streams.

UDT is the reliable, congestion-controlled stream that carries file transfers; each frame travels
in one lite packet. Part 1 drives two ``UdtConnection`` state machines on a virtual clock and drops
every seventh frame to show retransmission. Part 2 wraps them in ``UdtStream`` (a trio
``HalfCloseableStream``) joined by a tiny in-memory carrier.

    python examples/udt_stream.py
"""

from __future__ import annotations

import hashlib

import trio
import trio.testing

from peernet_proto.udt import UdtConnected, UdtConnection, UdtStream

PAYLOAD = bytes(range(256)) * 1000  # 256 000 bytes


def sans_io() -> None:
    """Two connections, frames carried by hand with a 5 ms delay and every 7th frame lost."""
    now = 0.0
    dialer = UdtConnection.dial(socket_id=1, initial_sequence=1000, now=now)  # the data owner dials
    listener = UdtConnection.listen(socket_id=2, now=now)  # the requester listens
    in_flight: list[tuple[float, UdtConnection, bytes]] = []
    sent = lost = offset = 0
    received = bytearray()
    events: list[object] = []
    while len(received) < len(PAYLOAD) and now < 30:
        offset += dialer.send(PAYLOAD[offset:])  # accepted once connected, as the send buffer frees up
        for source, target in ((dialer, listener), (listener, dialer)):
            for frame in source.frames_to_send(now):
                sent += 1
                if sent % 7 == 0:
                    lost += 1
                    continue
                in_flight.append((now + 0.005, target, frame))
        received += listener.read()
        events += dialer.events() + listener.events()
        deadlines = [d for d in (dialer.next_deadline(), listener.next_deadline()) if d is not None]
        now = max(now, min([*deadlines, *(item[0] for item in in_flight)]))
        for item in [item for item in in_flight if item[0] <= now]:
            in_flight.remove(item)
            item[1].receive_frame(item[2], now)
    connected = sum(isinstance(event, UdtConnected) for event in events)
    print(f"sans-IO: {len(received)} bytes intact: {bytes(received) == PAYLOAD}, {connected} ends connected")
    print(f"sans-IO: {lost} of {sent} frames lost and recovered in {now:.2f} virtual seconds")


async def streams() -> None:
    """The same connection as trio streams; each side's ``transmit`` hands its frames to the other side."""
    now = trio.current_time()
    dialer: UdtStream = UdtStream(UdtConnection.dial(1, 7, now), lambda frame: listener.feed(frame))
    listener: UdtStream = UdtStream(UdtConnection.listen(2, now), lambda frame: dialer.feed(frame))

    async def upload() -> None:
        await dialer.send_all(PAYLOAD)
        await dialer.send_eof()  # a UDT Shutdown once every byte is acknowledged

    async with trio.open_nursery() as nursery:
        nursery.start_soon(dialer.run)  # run drives the timers for the stream's whole life
        nursery.start_soon(listener.run)
        nursery.start_soon(upload)
        digest, size = hashlib.blake2b(), 0
        while chunk := await listener.receive_some():  # b"" is the end of the stream
            digest.update(chunk)
            size += len(chunk)
        await listener.aclose()
        await dialer.aclose()
    print(f"streams: {size} bytes intact: {digest.digest() == hashlib.blake2b(PAYLOAD).digest()}, "
          f"ended by the sender's Shutdown: {listener.conn.peer_ended}")


if __name__ == "__main__":
    sans_io()
    trio.run(streams, clock=trio.testing.MockClock(autojump_threshold=0))
