"""A stand-in for the node's local API: the handful of routes the web UI calls (spec webapi.md), with
canned, spec-shaped answers and in-memory state, behind the same ``x-api-key`` check, served with the
UI in front (:func:`peernet.ui.with_ui`). Every API call is recorded in :attr:`StandIn.calls`.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from queue import Queue
from typing import Any

import blake3
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from peernet.ui import with_ui

__all__ = ["Call", "Server", "StandIn", "api_file", "b64"]

ZERO_ID = "00000000-0000-0000-0000-000000000000"
ZERO_DATE = "0001-01-01T00:00:00Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def api_file(name: str, content: bytes, owner: bytes, *, type_: int, format_: int, date: str,
             username: str = "", description: str = "", folder: str = "") -> dict[str, Any]:
    """An apiFile in network mode (spec §3.1), with the Shared-By-Count tag."""
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + owner.hex())), "hash": b64(blake3.blake3(content).digest()),
            "type": type_, "format": format_, "size": len(content), "folder": folder, "name": name,
            "description": description, "date": date, "nodeid": b64(owner),
            "metadata": [{"type": 5, "name": "Shared By Count", "text": "", "blob": None, "date": ZERO_DATE,
                          "number": 1}], "username": username}


@dataclass(frozen=True)
class Call:
    """One API request the page made."""

    method: str
    path: str
    params: dict[str, str]
    body: Any


@dataclass
class StandIn:
    """The canned node: two peers, three files in the network, own files, downloads and a profile."""

    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    calls: list[Call] = field(default_factory=list)
    own_node: bytes = bytes(range(32))
    peers: list[dict[str, Any]] = field(default_factory=list)
    network: list[dict[str, Any]] = field(default_factory=list)
    warehouse: dict[str, bytes] = field(default_factory=dict)
    own_files: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[int, dict[str, Any]] = field(default_factory=dict)
    downloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    searches: dict[str, dict[str, Any]] = field(default_factory=dict)
    download_size: int = 4_000_000
    download_step: int = 500_000
    port: int = 0
    quiet_polls: int = 1  # /search/result answers "none yet" (status 3) this many times before the files

    def __post_init__(self) -> None:
        alice, bob = bytes([0xA1] * 32), bytes([0xB0] * 32)
        self.peers = [
            {"peerid": b64(b"\x02" + alice), "nodeid": b64(alice), "geoip": "48.2082,16.3738",
             "useragent": "Peernet Cmd/Alpha 9", "isroot": True, "blockchainheight": 12, "blockchainversion": 0},
            {"peerid": b64(b"\x03" + bob), "nodeid": b64(bob), "geoip": "", "useragent": "peernet-py/0.1",
             "isroot": False, "blockchainheight": 3, "blockchainversion": 1},
        ]
        self.network = [
            api_file("holiday photos.zip", b"zip" * 1000, alice, type_=7, format_=8, date="2026-05-01T10:00:00Z",
                     username="Alice", description="Summer 2026"),
            api_file("holiday notes.txt", b"notes", bob, type_=1, format_=10, date="2026-06-02T08:30:00Z"),
            api_file("holiday film.mkv", b"film" * 5000, alice, type_=3, format_=7, date="2026-07-03T19:45:00Z",
                     username="Alice"),
        ]
        self.profile = {0: {"type": 0, "text": "Me", "blob": None}}

    # -- routes -------------------------------------------------------------------------------------
    async def status(self, request: Request) -> Response:
        return JSONResponse({"status": 0, "isconnected": True, "countpeerlist": len(self.peers),
                             "countnetwork": len(self.peers)})

    async def status_peers(self, request: Request) -> Response:
        return JSONResponse(self.peers)

    async def account_info(self, request: Request) -> Response:
        return JSONResponse({"peerid": "02" + self.own_node.hex(), "nodeid": self.own_node.hex()})

    async def search(self, request: Request) -> Response:
        body = await request.json()
        for old in body.get("terminate") or []:
            self.searches.pop(old, None)
        job = str(uuid.uuid4())
        term = str(body.get("term", "")).lower()
        self.searches[job] = {"files": [f for f in self.network if term in f["name"].lower()], "polls": 0,
                              "filter": {}, "cursor": 0}
        return JSONResponse({"id": job, "status": 0})

    async def search_result(self, request: Request) -> Response:
        job = self.searches.get(request.query_params.get("id", ""))
        if job is None:
            return JSONResponse({"status": 2, "files": None, "statistic": None})
        job["polls"] += 1
        if request.query_params.get("reset") in ("1", "true"):
            job["filter"] = dict(request.query_params)
            job["cursor"] = 0
        if job["polls"] <= self.quiet_polls:
            return JSONResponse({"status": 3, "files": [], "statistic": None})  # none yet, keep polling
        matching = [f for f in job["files"] if _matches(f, job["filter"])]
        limit = int(request.query_params.get("limit", "100"))
        page = matching[job["cursor"]: job["cursor"] + limit]
        job["cursor"] += len(page)
        return JSONResponse({"status": 0 if page else 1, "files": page, "statistic": None})

    async def search_terminate(self, request: Request) -> Response:
        if self.searches.pop(request.query_params.get("id", ""), None) is None:
            return Response("\n", status_code=404)
        return Response(status_code=204)

    async def download_start(self, request: Request) -> Response:
        query = request.query_params
        if len(query.get("hash", "")) != 64 or len(query.get("node", "")) != 64 or not query.get("path"):
            return Response("\n", status_code=400, media_type="text/plain")
        ident = str(uuid.uuid4())
        self.downloads[ident] = {"status": 2, "done": 0, "path": query["path"]}
        return JSONResponse(_download(ident, 0))

    async def download_status(self, request: Request) -> Response:
        ident = request.query_params.get("id", "")
        entry = self.downloads.get(ident)
        if entry is None:
            return JSONResponse({**_download(ZERO_ID, 0), "apistatus": 1})
        if entry["status"] == 2:
            entry["done"] = min(self.download_size, entry["done"] + self.download_step)
            if entry["done"] == self.download_size:
                entry["status"] = 5
        done, total = entry["done"], self.download_size
        return JSONResponse({**_download(ident, entry["status"]),
                             "progress": {"totalsize": total, "downloadedsize": done,
                                          "percentage": round(100 * done / total, 2)}})

    async def download_action(self, request: Request) -> Response:
        ident, action = request.query_params.get("id", ""), request.query_params.get("action", "")
        if action not in ("0", "1", "2"):
            return Response("\n", status_code=400, media_type="text/plain")
        entry = self.downloads.get(ident)
        if entry is None:
            return JSONResponse({**_download(ZERO_ID, 0), "apistatus": 1})
        allowed = {"0": entry["status"] == 2, "1": entry["status"] == 3, "2": entry["status"] < 4}[action]
        if not allowed:
            return JSONResponse({**_download(ident, entry["status"]), "apistatus": 4})
        entry["status"] = {"0": 3, "1": 2, "2": 4}[action]
        return JSONResponse(_download(ident, entry["status"]))

    async def warehouse_create(self, request: Request) -> Response:
        form = await request.form()
        part = form.get("File")
        if part is None or isinstance(part, str):
            return Response("\n", status_code=400, media_type="text/plain")
        data = await part.read()
        digest = blake3.blake3(data).digest()
        self.warehouse[digest.hex()] = data
        return JSONResponse({"status": 0, "hash": b64(digest)})

    async def file_add(self, request: Request) -> Response:
        body = await request.json()
        for item in body.get("files") or []:
            digest = base64.b64decode(item["hash"]).hex()
            if digest not in self.warehouse:
                return JSONResponse({"status": 5, "height": 0, "version": 0})
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.own_files.append({**item, "id": item.get("id") or str(uuid.uuid4()), "date": now,
                                   "size": len(self.warehouse[digest]), "nodeid": b64(self.own_node),
                                   "metadata": [], "username": ""})
        return JSONResponse({"status": 0, "height": len(self.own_files), "version": 0})

    async def file_list(self, request: Request) -> Response:
        return JSONResponse({"files": self.own_files, "status": 0})

    async def file_delete(self, request: Request) -> Response:
        ids = {item.get("id") for item in (await request.json()).get("files") or []}
        self.own_files = [f for f in self.own_files if f["id"] not in ids]
        return JSONResponse({"status": 0, "height": len(self.own_files), "version": 1})

    async def blockchain_view(self, request: Request) -> Response:
        node = request.query_params.get("node", "").lower()
        files = [f for f in self.network if base64.b64decode(f["nodeid"]).hex() == node]
        return JSONResponse({"status": 1, "files": files, "statistic": None})

    async def explore(self, request: Request) -> Response:
        return JSONResponse({"status": 1, "files": self.network[: int(request.query_params.get("limit", "100"))],
                             "statistic": None})

    async def profile_list(self, request: Request) -> Response:
        node = request.query_params.get("node", "").lower()
        if node and node != self.own_node.hex():
            name = "Alice" if node == "a1" * 32 else ""
            return JSONResponse({"fields": [{"type": 0, "text": name, "blob": None}] if name else [], "status": 0})
        return JSONResponse({"fields": list(self.profile.values()), "status": 0})

    async def profile_write(self, request: Request) -> Response:
        for item in (await request.json()).get("fields") or []:
            self.profile[int(item["type"])] = {"type": int(item["type"]), "text": item.get("text") or "",
                                               "blob": item.get("blob")}
        return JSONResponse({"status": 0, "height": 1, "version": 0})

    async def profile_delete(self, request: Request) -> Response:
        for item in (await request.json()).get("fields") or []:
            self.profile.pop(int(item["type"]), None)
        return JSONResponse({"status": 0, "height": 1, "version": 1})

    # -- the app ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
            ("GET", "/status", self.status), ("GET", "/status/peers", self.status_peers),
            ("GET", "/account/info", self.account_info), ("POST", "/search", self.search),
            ("GET", "/search/result", self.search_result), ("GET", "/search/terminate", self.search_terminate),
            ("GET", "/download/start", self.download_start), ("GET", "/download/status", self.download_status),
            ("GET", "/download/action", self.download_action), ("POST", "/warehouse/create", self.warehouse_create),
            ("POST", "/blockchain/file/add", self.file_add), ("GET", "/blockchain/file/list", self.file_list),
            ("POST", "/blockchain/file/delete", self.file_delete), ("GET", "/blockchain/view", self.blockchain_view),
            ("GET", "/explore", self.explore),
            ("GET", "/profile/list", self.profile_list), ("POST", "/profile/write", self.profile_write),
            ("POST", "/profile/delete", self.profile_delete),
        ]
        return [Route(path, self._recorded(handler), methods=[method]) for method, path, handler in table]

    def _recorded(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            kind = request.headers.get("content-type", "")
            body = json.loads(raw) if raw and kind.startswith("application/json") else (kind or None)
            self.calls.append(Call(request.method, request.url.path, dict(request.query_params), body))
            return await handler(request)

        return endpoint

    def app(self) -> ASGIApp:
        """The stand-in API behind the key check, with the UI in front: the same layering as the node."""
        return with_ui(_KeyCheck(Starlette(routes=self.routes()), self.key))

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]


def _download(ident: str, status: int) -> dict[str, Any]:
    zero_file = {"id": ZERO_ID, "hash": None, "type": 0, "format": 0, "size": 0, "folder": "", "name": "",
                 "description": "", "date": ZERO_DATE, "nodeid": None, "metadata": None, "username": ""}
    return {"apistatus": 0, "id": ident, "downloadstatus": status, "file": zero_file,
            "progress": {"totalsize": 0, "downloadedsize": 0, "percentage": 0}, "swarm": {"countpeers": 0}}


def _matches(file: dict[str, Any], query: dict[str, str]) -> bool:
    def number(name: str) -> int:
        try:
            return int(query.get(name, "-1"))
        except ValueError:
            return -1

    return ((number("filetype") < 0 or file["type"] == number("filetype"))
            and (number("fileformat") < 0 or file["format"] == number("fileformat"))
            and (number("sizemin") < 0 or file["size"] >= number("sizemin"))
            and (number("sizemax") < 0 or file["size"] <= number("sizemax")))


class _KeyCheck:
    """401 with an empty body unless ``x-api-key`` is the key (spec §1.2)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] == "http" and headers.get(b"x-api-key") != self.key:
            await Response(status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Server:
    """Serves an ASGI app with hypercorn on 127.0.0.1 (a free port) in a trio loop on its own thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.port = 0
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._ready: Queue[int | BaseException] = Queue()

    async def _main(self) -> None:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.graceful_timeout = 0.5
        self._token, self._stop = trio.lowlevel.current_trio_token(), trio.Event()
        try:
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(partial(serve, self.app, config, shutdown_trigger=self._stop.wait))
                self._ready.put(int(binds[0].rsplit(":", 1)[1]))
        except BaseException as error:
            self._ready.put(error)
            raise

    def __enter__(self) -> Server:
        self._thread.start()
        ready = self._ready.get(timeout=30)
        if isinstance(ready, BaseException):
            raise ready
        self.port = ready
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None and self._stop is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(timeout=10)
