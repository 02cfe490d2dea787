"""Two UDT streams over real UDP sockets on loopback, one frame per lite packet."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid

import trio

from peernet_proto.udt import UdtConfig, UdtConnection, UdtStream
from peernet_proto.wire import decode_lite_packet, encode_lite_packet


async def _pump(sock: socket.socket, stream: UdtStream, session: uuid.UUID) -> None:
    while True:
        await trio.lowlevel.wait_readable(sock)
        while True:
            try:
                raw = sock.recv(2048)
            except BlockingIOError:
                break
            packet = decode_lite_packet(raw)
            if packet.session_id == session:
                stream.feed(packet.data)


def _sender(sock: socket.socket, session: uuid.UUID) -> object:
    def transmit(frame: bytes) -> None:
        with contextlib.suppress(BlockingIOError):  # a full socket buffer is a lost datagram
            sock.send(encode_lite_packet(session, frame))

    return transmit


async def test_stream_over_udp_loopback() -> None:
    session = uuid.uuid4()
    data = os.urandom(2 << 20)
    a_sock, b_sock = socket.socket(type=socket.SOCK_DGRAM), socket.socket(type=socket.SOCK_DGRAM)
    for sock in (a_sock, b_sock):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
    a_sock.connect(b_sock.getsockname())
    b_sock.connect(a_sock.getsockname())
    now = trio.current_time()
    config = UdtConfig()
    a = UdtStream(UdtConnection.dial(1, 77, now, config), _sender(a_sock, session))
    b = UdtStream(UdtConnection.listen(2, now, config), _sender(b_sock, session))
    with a_sock, b_sock:
        async with trio.open_nursery() as nursery:
            for stream, sock in ((a, a_sock), (b, b_sock)):
                nursery.start_soon(stream.run)
                nursery.start_soon(_pump, sock, stream, session)

            async def send() -> None:
                await a.send_all(data)
                await a.send_eof()

            nursery.start_soon(send)
            got = bytearray()
            with trio.fail_after(30):
                while chunk := await b.receive_some():
                    got += chunk
            assert bytes(got) == data
            nursery.cancel_scope.cancel()
