"""The API key and Host checks, in front of routing (spec webapi.md §1.2, §6 S2/S3).

Every request must carry the key in the ``x-api-key`` header; ``/file/read``, ``/file/view`` and
``/console`` also take it as the ``k`` query parameter when the header is absent or unparsable
(media players and websocket clients cannot set headers). Failures get 401 with an empty body,
for every path, known or not. A ``Host`` that is neither a loopback name nor a listen address
gets 403 (DNS rebinding).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Collection, MutableMapping
from functools import partial
from typing import Any, Final
from urllib.parse import parse_qs

import trio
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["KEY_IN_QUERY_PATHS", "ApiGuard"]

KEY_IN_QUERY_PATHS: Final = frozenset({"/file/read", "/file/view", "/console"})
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _parse_key(text: str | None) -> uuid.UUID | None:
    if not text:
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class ApiGuard:
    """Pure ASGI middleware: authenticates HTTP and websocket requests before the app sees them."""

    def __init__(self, app: ASGIApp, key: uuid.UUID, hosts: Collection[str] = ()) -> None:
        self.app = app
        self._key = key.bytes
        self._hosts = _LOOPBACK_HOSTS | {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        host = headers.get(b"host", b"").decode("latin-1").lower()
        app = self.app
        if host and _host_name(host) not in self._hosts:
            app = partial(self._refuse, 403)
        elif not self._authorised(scope, headers):
            app = partial(self._refuse, 401)
        if scope["type"] == "websocket":
            await app(scope, receive, send)
            return
        await self._release_unread_body(app, scope, receive, send)

    @staticmethod
    async def _release_unread_body(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Refusals (4xx/5xx) often leave a request body unread. The server then queues its chunks
        for the app, and its "disconnect" message waits behind them while the app sends the final
        part of the answer: the connection would stay open, the client stuck writing. A drain
        task takes those messages (discarding them) while the answer goes out; the connection is
        then closed."""
        status = 0

        async def drain() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        async with trio.open_nursery() as nursery:

            async def tracked_send(message: MutableMapping[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                elif message["type"] == "http.response.body" and not message.get("more_body") and status >= 400:
                    nursery.start_soon(drain)
                await send(message)

            await app(scope, receive, tracked_send)
            nursery.cancel_scope.cancel()

    def _authorised(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        raw = headers.get(b"x-api-key")
        given = _parse_key(raw.decode("latin-1")) if raw is not None else None
        if given is None and scope["path"] in KEY_IN_QUERY_PATHS:
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("k")
            given = _parse_key(values[0]) if values else None
        return given is not None and hmac.compare_digest(given.bytes, self._key)

    @staticmethod
    async def _refuse(status: int, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-length", b"0"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
