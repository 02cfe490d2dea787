"""``/download/*`` (spec webapi.md §2.7, §5.1). Files of the own node are copied from the
warehouse; files of other nodes are fetched from peers by the node's download manager (verified
pieces, resumed after a restart); failures end with status 4, as the reference reports them.
Targets are created exclusively (never overwritten) inside the allowed folders; entries are
forgotten an hour after they end."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

import attrs
import trio
from fastapi import APIRouter, Request

from peernet_proto import PeernetError

from ..downloads import DownloadStatus
from ._apifile import file_to_api
from ._backend import ApiBackend
from ._docs import HEX32, PATH, UUID, params
from ._encoding import BadRequestError, GoJSONResponse, query, query_hash, query_int, query_uuid
from ._paths import PathRefusedError, checked_path

__all__ = ["download_router"]

log = logging.getLogger(__name__)

WAIT_METADATA, ACTIVE, PAUSED, CANCELED, FINISHED = 0, 2, 3, 4, 5
_OK, _NOT_FOUND, _FILE_INVALID, _ACTION_INVALID = 0, 1, 2, 4
_KEEP: Final = 3600.0
_LIMIT: Final = 1024
_ZERO_FILE: Final = {"id": str(uuid.UUID(int=0)), "hash": None, "type": 0, "format": 0, "size": 0, "folder": "",
                     "name": "", "description": "", "date": "0001-01-01T00:00:00Z", "nodeid": None, "metadata": None,
                     "username": ""}


@attrs.define
class _Download:
    id: uuid.UUID
    status: int = WAIT_METADATA
    file: dict[str, Any] = attrs.field(factory=lambda: dict(_ZERO_FILE))
    total: int = 0
    done: int = 0
    ended: float | None = None

    def to_api(self) -> dict[str, Any]:
        percentage = round(100 * self.done / self.total, 2) if self.total else (100 if self.status == FINISHED else 0)
        return {"apistatus": _OK, "id": str(self.id), "downloadstatus": self.status, "file": self.file,
                "progress": {"totalsize": self.total, "downloadedsize": self.done, "percentage": percentage},
                "swarm": {"countpeers": 0}}


def _answer(apistatus: int, download_id: uuid.UUID | None = None) -> GoJSONResponse:
    return GoJSONResponse({"apistatus": apistatus, "id": str(download_id or uuid.UUID(int=0)), "downloadstatus": 0,
                           "file": _ZERO_FILE, "progress": {"totalsize": 0, "downloadedsize": 0, "percentage": 0},
                           "swarm": {"countpeers": 0}})


def _copy(source: Path, target: Path, entry: _Download) -> None:
    """Copy into a new file; pause waits, cancel stops and removes the partial file."""
    out = open(target, "xb")  # noqa: SIM115 - ours from here on; closed below
    try:
        with out, open(source, "rb") as data:
            while chunk := data.read(1 << 20):
                while entry.status == PAUSED:
                    time.sleep(0.05)
                if entry.status == CANCELED:
                    raise InterruptedError("canceled")
                out.write(chunk)
                entry.done += len(chunk)
    except OSError:
        target.unlink(missing_ok=True)
        raise


async def _from_peers(backend: ApiBackend, entry: _Download, file_hash: bytes, node: bytes, target: Path) -> None:
    """Through the node's download manager: verified pieces from the peers whose chains publish
    the file; pause, resume and cancel are passed on."""
    service = backend.service
    if service is None:
        raise FileNotFoundError("not in the own warehouse; fetching from peers is not available")
    manager = service.downloads
    try:
        download_id = await service.start_download(file_hash, node, target.parent, target.name)
    except (PeernetError, ValueError) as exc:
        raise FileNotFoundError(str(exc)) from exc
    found = service.find_file(file_hash, node)
    if found:
        entry.file = file_to_api(found[0].record, node)
    while (info := manager.info(download_id)) is not None:
        entry.total, entry.done = info.progress.total, info.progress.done
        if info.status >= DownloadStatus.CANCELED:
            entry.status = FINISHED if info.status == DownloadStatus.FINISHED else CANCELED
            return
        if entry.status == CANCELED:
            manager.cancel(download_id)
        elif entry.status == PAUSED and info.status != DownloadStatus.PAUSE:
            manager.pause(download_id)
        elif entry.status != PAUSED:
            if info.status == DownloadStatus.PAUSE:
                manager.resume(download_id)
            entry.status = ACTIVE if info.status == DownloadStatus.ACTIVE else int(info.status)
        with trio.move_on_after(0.25):
            await manager.wait_changed()


async def _run(backend: ApiBackend, entry: _Download, file_hash: bytes, node: bytes, target: Path) -> None:
    warehouse = backend.content.warehouse
    size = warehouse.size(file_hash)
    try:
        if node != backend.key.public_key.node_id or size is None:
            await _from_peers(backend, entry, file_hash, node, target)
            return
        for record in backend.content.chain.files():
            if record.hash == file_hash:
                entry.file = file_to_api(record, node)
                break
        entry.total, entry.status = size, ACTIVE
        await trio.to_thread.run_sync(_copy, warehouse.path_for(file_hash), target, entry)
        entry.status = FINISHED
    except FileExistsError:
        entry.status = CANCELED  # appeared meanwhile: never overwritten
    except (OSError, trio.Cancelled) as exc:
        log.info("download %s failed: %s", entry.id, exc)
        entry.status = CANCELED
        if isinstance(exc, trio.Cancelled):
            raise
    finally:
        entry.ended = time.monotonic()


def download_router(backend: ApiBackend) -> APIRouter:
    """Download routes."""
    router = APIRouter()
    downloads: OrderedDict[uuid.UUID, _Download] = OrderedDict()

    def expire() -> None:
        now = time.monotonic()
        for key in [k for k, d in downloads.items() if d.ended is not None and now - d.ended > _KEEP]:
            del downloads[key]

    @router.get("/download/start", openapi_extra=params(("path", PATH, True), ("hash", HEX32, True),
                                                         ("node", HEX32, True)))
    async def start(request: Request) -> GoJSONResponse:
        """Start a download into a new file at ``path``."""
        file_hash, node, text = query_hash(request, "hash"), query_hash(request, "node"), query(request, "path")
        if not text:
            raise BadRequestError
        expire()
        try:
            target = checked_path(text, backend.allowed_roots, backend.content.data_dir)
        except PathRefusedError:
            return _answer(_FILE_INVALID)
        if os.path.lexists(target) or not target.parent.is_dir() or len(downloads) >= _LIMIT:
            return _answer(_FILE_INVALID)
        entry = _Download(uuid.uuid4())
        downloads[entry.id] = entry
        request.app.state.nursery.start_soon(_run, backend, entry, file_hash, node, target)
        return GoJSONResponse(entry.to_api())

    @router.get("/download/status", openapi_extra=params(("id", UUID, True)))
    async def status(request: Request) -> GoJSONResponse:
        """Progress of a download."""
        download_id = query_uuid(request, "id")
        expire()
        entry = downloads.get(download_id)
        return GoJSONResponse(entry.to_api()) if entry is not None else _answer(_NOT_FOUND)

    @router.get("/download/action", openapi_extra=params(("id", UUID, True),
                                                          ("action", {"type": "integer", "enum": [0, 1, 2]}, True)))
    async def action(request: Request) -> GoJSONResponse:
        """Pause (0), resume (1) or cancel (2)."""
        download_id, kind = query_uuid(request, "id"), query_int(request, "action")
        if kind not in (0, 1, 2):
            raise BadRequestError
        entry = downloads.get(download_id)
        if entry is None:
            return _answer(_NOT_FOUND)
        allowed = {0: entry.status == ACTIVE, 1: entry.status == PAUSED, 2: entry.status < CANCELED}[kind]
        if not allowed:
            return _answer(_ACTION_INVALID, entry.id)
        entry.status = {0: PAUSED, 1: ACTIVE, 2: CANCELED}[kind]
        return _answer(_OK, entry.id)

    return router
