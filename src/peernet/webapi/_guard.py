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
from collections.abc import Collection
from typing import Final
from urllib.parse import parse_qs

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
        if host and _host_name(host) not in self._hosts:
            await self._refuse(scope, receive, send, 403)
            return
        if not self._authorised(scope, headers):
            await self._refuse(scope, receive, send, 401)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        raw = headers.get(b"x-api-key")
        given = _parse_key(raw.decode("latin-1")) if raw is not None else None
        if given is None and scope["path"] in KEY_IN_QUERY_PATHS:
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("k")
            given = _parse_key(values[0]) if values else None
        return given is not None and hmac.compare_digest(given.bytes, self._key)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int) -> None:
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
