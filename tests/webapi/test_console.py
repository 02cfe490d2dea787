"""``/console`` over a real websocket (wsproto client): key by ``k``, text frames both ways."""

from __future__ import annotations

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Event, RejectConnection, Request, TextMessage

from tests.webapi.conftest import Api, running_api


async def _events(stream: trio.SocketStream, ws: WSConnection) -> list[Event]:
    with trio.fail_after(10):
        while True:
            data = await stream.receive_some(65536)
            ws.receive_data(data or None)
            events = list(ws.events())
            if events or not data:
                return events


async def _open(api: Api, target: str) -> tuple[trio.SocketStream, WSConnection, list[Event]]:
    stream = await trio.open_tcp_stream(api.host, api.port)
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="127.0.0.1", target=target)))
    return stream, ws, await _events(stream, ws)


async def _text(stream: trio.SocketStream, ws: WSConnection, pending: list[Event]) -> str:
    while not any(isinstance(event, TextMessage) for event in pending):
        pending += await _events(stream, ws)
    return "".join(str(event.data) for event in pending if isinstance(event, TextMessage))


async def test_console_commands(tmp_path):
    async with running_api(tmp_path) as api:
        stream, ws, events = await _open(api, f"/console?k={api.key}")
        assert isinstance(events[0], AcceptConnection)
        assert "help" in await _text(stream, ws, events[1:])
        await stream.send_all(ws.send(TextMessage(data="status")))
        assert api.backend.key.public_key.hex() in await _text(stream, ws, [])
        await stream.send_all(ws.send(TextMessage(data="peer list")))
        assert "0 peers" in await _text(stream, ws, [])
        await stream.send_all(ws.send(TextMessage(data="exit")))
        assert "Unknown command" in await _text(stream, ws, [])
        await stream.aclose()
        stream, ws, events = await _open(api, "/console")
        assert isinstance(events[0], RejectConnection)
        await stream.aclose()
