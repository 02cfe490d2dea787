"""A minimal local API on loopback: ``GET /peers``, ``GET /status`` and ``GET /search?q=TEXT`` as
JSON, guarded by a key.

The port and key are written to ``api.json`` in the data directory (readable by the owner only), so
that ``peernet peers`` can find a running node.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import trio

from ._apifile import API_FILE, ApiInfo, read_api_file, remove_api_file, write_api_file

__all__ = ["API_FILE", "AsyncRoute", "query", "search_route", "serve_api"]

AsyncRoute = Callable[[Mapping[str, str]], Awaitable[Any]]  # query parameters -> JSON value

_MAX_REQUEST = 8192
log = logging.getLogger(__name__)


async def serve_api(
    data_dir: Path,
    routes: dict[str, Callable[[], Any]],
    *,
    async_routes: Mapping[str, AsyncRoute] | None = None,
    host: str = "127.0.0.1",
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    key = secrets.token_hex(16)
    listeners = await trio.open_tcp_listeners(0, host=host)
    port = listeners[0].socket.getsockname()[1]
    write_api_file(data_dir, ApiInfo(host, port, key))

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            request = b""
            with trio.move_on_after(5):
                while b"\r\n\r\n" not in request and len(request) < _MAX_REQUEST:
                    chunk = await stream.receive_some(_MAX_REQUEST)
                    if not chunk:
                        break
                    request += chunk
            status, body = await _respond(request, key, routes, async_routes or {})
            head = f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            await stream.send_all(head.encode() + body)

    try:
        task_status.started(port)
        await trio.serve_listeners(handle, listeners)
    finally:
        remove_api_file(data_dir, key)


async def _respond(
    request: bytes, key: str, routes: dict[str, Callable[[], Any]], async_routes: Mapping[str, AsyncRoute]
) -> tuple[str, bytes]:
    lines = request.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)}
    if len(parts) < 2 or parts[0] != "GET":
        return "405 Method Not Allowed", b'{"error": "only GET"}'
    if not secrets.compare_digest(headers.get("x-api-key", ""), key):
        return "403 Forbidden", b'{"error": "bad api key"}'
    target = urlsplit(parts[1])
    route = routes.get(target.path)
    if route is not None:
        return "200 OK", json.dumps(route()).encode()
    async_route = async_routes.get(target.path)
    if async_route is None:
        return "404 Not Found", b'{"error": "no such route"}'
    params = {name: values[0] for name, values in parse_qs(target.query).items()}
    try:
        return "200 OK", json.dumps(await async_route(params)).encode()
    except ValueError as error:
        return "400 Bad Request", json.dumps({"error": str(error)}).encode()


def search_route(text: str) -> str:
    return "/search?q=" + quote(text, safe="")


async def query(data_dir: Path, route: str) -> Any:
    info = read_api_file(data_dir)
    stream = await trio.open_tcp_stream(info.host, info.port)
    async with stream:
        await stream.send_all(f"GET {route} HTTP/1.0\r\nx-api-key: {info.key}\r\n\r\n".encode())
        response = b""
        while chunk := await stream.receive_some(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError(head.decode(errors="replace").splitlines()[0])
    return json.loads(body)
