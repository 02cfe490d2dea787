"""The node's own web UI: one HTML page and its static assets, served in front of the local API.

The page and assets are public (they hold no secret) and are served without the API key; every other
path goes to the wrapped API, which keeps its own key check. The key reaches the page in the URL
fragment (``http://127.0.0.1:PORT/#key=KEY``, see :func:`ui_link`), which browsers never send to the
server; the page moves it into ``sessionStorage`` and sends it as ``x-api-key`` on every API call.

Mounting is one call around the guarded API app::

    app = with_ui(ApiGuard(api, key, hosts), hosts=hosts)
"""

from __future__ import annotations

import html
import mimetypes
import os
import tempfile
from collections.abc import Collection
from importlib.resources import files
from pathlib import Path
from typing import Final
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASSET_PREFIX", "LAUNCH_PAGE", "SECURITY_HEADERS", "STATIC_DIR", "UiRouter", "ui_link", "with_ui",
           "write_launch_page"]

STATIC_DIR: Final = Path(str(files(__name__) / "static"))
"""The page and its assets (shipped inside the ``peernet`` distribution)."""

ASSET_PREFIX: Final = "/ui/"
"""Path prefix of the assets; the page itself is ``/``. No route of the local API starts with it."""

SECURITY_HEADERS: Final = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
"""Sent with the page and every asset: scripts only from the node itself, no framing, no referrer."""

LAUNCH_PAGE: Final = "ui.html"
"""File name of the page in the data directory that forwards a web browser to the UI link."""

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

mimetypes.add_type("text/javascript", ".js")  # some systems map .js to text/plain, which module scripts refuse


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def ui_link(host: str, port: int, key: str) -> str:
    """The address that opens the UI of the node at ``host:port`` with ``key`` in the fragment."""
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{name}:{port}/#key={quote(key, safe='-')}"


def write_launch_page(data_dir: Path, link: str) -> Path:
    """Write a page (mode 0600, atomically) into the private ``data_dir`` that forwards to ``link``.

    Opening this file instead of the link keeps the key out of the web browser's command line, which
    other local users can read; the data directory already holds the key in ``api.json``.
    """
    escaped = html.escape(link, quote=True)
    page = (f'<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="refresh" content="0;url={escaped}"><title>Peernet</title>'
            f'<p><a href="{escaped}">Open the Peernet node</a></p>\n')
    fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".ui-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        path = Path(data_dir) / LAUNCH_PAGE
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


class UiRouter:
    """Pure ASGI app: ``GET``/``HEAD`` of ``/`` and ``/ui/*`` serve the UI, everything else goes to ``api``.

    Requests for the UI whose ``Host`` is neither a loopback name nor one of ``hosts`` get 403, as the
    local API does (DNS rebinding).
    """

    def __init__(self, api: ASGIApp, hosts: Collection[str] = ()) -> None:
        self.api = api
        self._hosts = _LOOPBACK_HOSTS | {h.lower() for h in hosts}
        self._assets = StaticFiles(directory=STATIC_DIR)

    def _is_ui(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        return path == "/" or path.startswith(ASSET_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._is_ui(scope):
            await self.api(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host and _host_name(host) not in self._hosts:
            await PlainTextResponse("", status_code=403)(scope, receive, send)
            return
        path = "/index.html" if scope["path"] == "/" else scope["path"][len(ASSET_PREFIX) - 1:]
        inner = dict(scope, path=path, root_path="")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        try:
            await self._assets(inner, receive, send_secured)
        except HTTPException as error:  # raised before the response starts (missing file, path outside)
            await PlainTextResponse("", status_code=error.status_code)(inner, receive, send_secured)


def with_ui(api: ASGIApp, *, hosts: Collection[str] = ()) -> ASGIApp:
    """``api`` with the web UI in front: the page at ``/`` and its assets under ``/ui/``.

    ``hosts``: ``Host`` names accepted besides the loopback names (the API's listen addresses).
    """
    return UiRouter(api, hosts)
