"""Hostile clients over real sockets: resets before the answer, slowloris, 1,000 idle
connections, oversized headers and bodies. A good client is served all along."""

from __future__ import annotations

import contextlib
import socket
import struct

import trio

from peernet.webapi import ApiLimits
from tests.webapi.conftest import Api, running_api


async def good_client_is_served(api: Api) -> None:
    with trio.fail_after(10):
        response = await api.client.get("/status")
    assert response.status_code == 200 and response.json()["status"] == 0


def request(api: Api, path: str = "/status", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {api.key}\r\n{extra}\r\n".encode()


async def reset_connection(api: Api, payload: bytes) -> None:
    stream = await trio.open_tcp_stream(api.host, api.port)
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await stream.send_all(payload)
    stream.socket.close()  # RST instead of FIN


async def test_resets_before_the_answer(tmp_path):
    async with running_api(tmp_path) as api:
        data = bytes(range(256)) * 40000
        file_hash = (await api.client.post("/warehouse/create", content=data)).json()["hash"]
        hexhash = __import__("base64").b64decode(file_hash).hex()
        for _ in range(50):
            await reset_connection(api, request(api))
            await reset_connection(api, request(api, f"/file/read?hash={hexhash}&node={'00' * 32}"))
            await reset_connection(api, b"POST /warehouse/create HTTP/1.1\r\nHost: x\r\nx-api-key: " + api.key.encode()
                                   + b"\r\nContent-Length: 1000000\r\n\r\n" + bytes(5000))
        await trio.sleep(0.2)
        await good_client_is_served(api)
        assert [p.name for p in (api.backend.content.warehouse.root / "_Temp").iterdir()] == []


async def test_slowloris_and_idle_connections(tmp_path):
    async with running_api(tmp_path) as api:
        streams = []
        for _ in range(1000):
            streams.append(await trio.open_tcp_stream(api.host, api.port))
        for stream in streams[:50]:  # half a request, one byte now and then
            await stream.send_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(3):
            for stream in streams[:50]:
                await stream.send_all(b"X")
            await good_client_is_served(api)
            await trio.sleep(0.1)
        for stream in streams:
            await stream.aclose()
        await good_client_is_served(api)


async def test_oversized_headers_and_bodies(tmp_path):
    async with running_api(tmp_path, limits=ApiLimits(upload_size=1 << 20)) as api:
        stream = await trio.open_tcp_stream(api.host, api.port)
        huge = "X-Filler: " + "a" * (64 << 10) + "\r\n"
        with contextlib.suppress(trio.BrokenResourceError):
            await stream.send_all(request(api, extra=huge))
        with trio.fail_after(10):
            answer = b""
            try:
                while chunk := await stream.receive_some(65536):
                    answer += chunk
            except trio.BrokenResourceError:
                pass
        assert not answer.startswith(b"HTTP/1.1 200")
        await stream.aclose()
        await good_client_is_served(api)
        # a body far over the JSON limit is refused and the connection closed while it still arrives
        stream = await trio.open_tcp_stream(api.host, api.port)
        await stream.send_all(b"POST /profile/write HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + api.key.encode()
                              + b"\r\nContent-Length: 100000000\r\n\r\n")
        sent = 0
        with trio.fail_after(10):
            try:
                while sent < 100_000_000:
                    await stream.send_all(bytes(1 << 16))
                    sent += 1 << 16
            except trio.BrokenResourceError:
                pass
        assert sent < 10_000_000
        await good_client_is_served(api)
