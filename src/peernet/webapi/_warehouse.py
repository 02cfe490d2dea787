"""``/warehouse/*`` (spec webapi.md §2.8): create by upload (multipart ``File`` + ``id``, or a raw
body) or from a local path, upload tracking, read, save to a path, delete."""

from __future__ import annotations

import logging
import os
from typing import Final

import trio
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from peernet_chain import WarehouseError

from ._backend import ApiBackend
from ._docs import HEX32, PATH, UUID, ok, params
from ._encoding import (
    BadRequestError,
    GoJSONResponse,
    b64,
    parse_uuid,
    query,
    query_bool,
    query_hash,
    query_int,
    query_uuid,
)
from ._models import UploadStatus, WarehouseResult
from ._paths import PathRefusedError, checked_path
from ._stream import ByteWindow, file_chunks
from ._upload import STATUS_ACTIVE, STATUS_FINISHED, UploadError, UploadTracker, multipart_boundary, receive_upload

__all__ = ["warehouse_router"]

log = logging.getLogger(__name__)

_OPEN, _NOT_FOUND, _DELETE, _TARGET_EXISTS, _CREATE_TARGET, _IN_USE = 7, 9, 10, 13, 14, 10
_NIL_UPLOAD: Final = {"apistatus": 1, "id": "00000000-0000-0000-0000-000000000000", "uploadstatus": 0,
                      "progress": {"totalsize": 0, "uploadedsize": 0, "percentage": 0}}
_UPLOAD_DOC: Final = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["File"], "properties": {
        "File": {"type": "string", "format": "binary"}, "id": {"type": "string", "format": "uuid"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def _copy_out(source: os.PathLike[str], target: os.PathLike[str], window: ByteWindow) -> int:
    """Write the window into a new file (never over an existing one); a warehouse status."""
    try:
        out = open(target, "xb")  # noqa: SIM115 - closed below
    except FileExistsError:
        return _TARGET_EXISTS
    except OSError:
        return _CREATE_TARGET
    with out, open(source, "rb") as data:
        data.seek(window.start)
        left = window.length
        while left > 0:
            chunk = data.read(min(1 << 20, left))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)
    return 0


def warehouse_router(backend: ApiBackend) -> APIRouter:
    """Routes of the warehouse."""
    router = APIRouter()
    tracker = UploadTracker(backend.limits.upload_records, backend.limits.upload_record_ttl)
    _upload_routes(router, backend, tracker)
    _path_routes(router, backend)
    _read_routes(router, backend)
    return router


def _upload_routes(router: APIRouter, backend: ApiBackend, tracker: UploadTracker) -> None:
    @router.post("/warehouse/create", responses={**ok(WarehouseResult, 400, 413)}, openapi_extra=_UPLOAD_DOC)
    async def create(request: Request) -> GoJSONResponse:
        """Store the upload; the ``id`` part (or query parameter) names a tracking record."""
        return await _create(request, backend, tracker)

    @router.get("/warehouse/create/uploadID", responses=ok(UploadStatus))
    async def upload_id() -> GoJSONResponse:
        """A new tracking record."""
        return GoJSONResponse(tracker.create().to_api())

    @router.get("/warehouse/create/track/uploadID", responses=ok(UploadStatus), openapi_extra=params(
        ("id", UUID, True)))
    async def track(request: Request) -> GoJSONResponse:
        """Progress of a tracked upload (status 2 while storing, 5 once stored)."""
        upload = query_uuid(request, "id")
        record = tracker.get(upload)
        if record is not None:
            return GoJSONResponse(record.to_api())
        if tracker.receiving:  # the id part may still be on its way (it follows the File part)
            return GoJSONResponse({**_NIL_UPLOAD, "apistatus": 0, "id": str(upload)})
        return GoJSONResponse(_NIL_UPLOAD)



def _path_routes(router: APIRouter, backend: ApiBackend) -> None:
    content = backend.content
    warehouse = content.warehouse

    @router.get("/warehouse/create/path", responses=ok(WarehouseResult), openapi_extra=params(
        ("path", PATH, True)))
    async def create_path(request: Request) -> GoJSONResponse:
        """Import a local file (only from the allowed folders)."""
        text = query(request, "path")
        if not text:
            raise BadRequestError
        try:
            path = checked_path(text, backend.allowed_roots, content.data_dir)
        except PathRefusedError:
            return GoJSONResponse({"status": _OPEN, "hash": None})
        if not path.is_file():
            return GoJSONResponse({"status": _NOT_FOUND, "hash": None})
        try:
            stored = await trio.to_thread.run_sync(warehouse.import_path, path)
        except (OSError, WarehouseError):
            return GoJSONResponse({"status": _OPEN, "hash": None})
        return GoJSONResponse({"status": 0, "hash": b64(stored.hash)})

    @router.get("/warehouse/delete", responses=ok(WarehouseResult), openapi_extra=params(
        ("hash", HEX32, True), ("force", "string", False)))
    async def delete(request: Request) -> GoJSONResponse:
        """Delete stored data; refused (status 10) while an own file references it, unless ``force=1``."""
        file_hash = query_hash(request, "hash")
        async with content.lock:
            if warehouse.size(file_hash) is None:
                return GoJSONResponse({"status": _NOT_FOUND, "hash": b64(file_hash)})
            if not query_bool(request, "force") and file_hash in content.referenced_hashes():
                return GoJSONResponse({"status": _IN_USE, "hash": b64(file_hash)})
            found = warehouse.delete(file_hash)
        return GoJSONResponse({"status": 0 if found else _NOT_FOUND, "hash": b64(file_hash)})



def _read_routes(router: APIRouter, backend: ApiBackend) -> None:
    content = backend.content
    warehouse = content.warehouse

    @router.get("/warehouse/read", responses={200: {"content": {"application/octet-stream": {}}}, 404: {}},
                openapi_extra=params(("hash", HEX32, True), ("offset", "integer", False),
                                     ("limit", "integer", False)))
    async def read(request: Request) -> Response:
        """The stored bytes from ``offset`` for ``limit`` bytes (both optional)."""
        file_hash = query_hash(request, "hash")
        size = warehouse.size(file_hash)
        if size is None:
            return Response(status_code=404)
        offset = min(size, max(0, query_int(request, "offset") or 0))
        limit = max(0, query_int(request, "limit") or 0)
        window = ByteWindow(offset, min(limit, size - offset) if limit else size - offset, size)
        return StreamingResponse(file_chunks(warehouse.path_for(file_hash), window),
                                 media_type="application/octet-stream", headers={"Content-Length": str(window.length)})

    @router.get("/warehouse/read/path", responses=ok(WarehouseResult), openapi_extra=params(
        ("hash", HEX32, True), ("path", PATH, True), ("offset", "integer", False), ("limit", "integer", False)))
    async def read_path(request: Request) -> GoJSONResponse:
        """Save a stored file to a new local file (status 13 when it exists)."""
        file_hash = query_hash(request, "hash")
        answer = {"hash": b64(file_hash)}
        size = warehouse.size(file_hash)
        if size is None:
            return GoJSONResponse({"status": _NOT_FOUND, **answer})
        try:
            target = checked_path(query(request, "path") or "", backend.allowed_roots, content.data_dir)
        except PathRefusedError:
            return GoJSONResponse({"status": _CREATE_TARGET, **answer})
        offset = min(size, max(0, query_int(request, "offset") or 0))
        limit = max(0, query_int(request, "limit") or 0)
        window = ByteWindow(offset, min(limit, size - offset) if limit else size - offset, size)
        status = await trio.to_thread.run_sync(_copy_out, warehouse.path_for(file_hash), target, window)
        return GoJSONResponse({"status": status, **answer})


async def _create(request: Request, backend: ApiBackend, tracker: UploadTracker) -> GoJSONResponse:
    """Store the upload; the ``id`` part (or query parameter) names a tracking record."""
    limits = backend.limits
    boundary = multipart_boundary(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length", "")
    size_hint = int(declared) if declared.isdigit() else 0
    records = []

    def on_id(text: bytes) -> None:
        parsed = parse_uuid(text.decode(errors="replace"))
        if parsed is None:
            raise BadRequestError("invalid id")
        record = tracker.create(parsed)
        record.total, record.status = max(record.total, size_hint), STATUS_ACTIVE
        records.append(record)

    if boundary is None and query(request, "id"):
        on_id((query(request, "id") or "").encode())

    def on_progress(count: int) -> None:
        for record in records:
            record.uploaded = count

    tracker.receiving += 1
    try:
        stored = await receive_upload(backend.content.warehouse, request.stream(), boundary=boundary,
                                      size_hint=size_hint, limit=limits.upload_size, reserve=limits.free_space_reserve,
                                      on_id=on_id, on_progress=on_progress)
    except UploadError as exc:
        log.warning("upload not stored: %s", exc)
        return GoJSONResponse({"status": exc.status, "hash": None})
    finally:
        tracker.receiving -= 1
    for record in records:
        record.total = record.uploaded = stored.size
        record.status = STATUS_FINISHED
    return GoJSONResponse({"status": 0, "hash": b64(stored.hash)})

