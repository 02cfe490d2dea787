"""``/file/read``, ``/file/view`` and ``/file/format`` (spec webapi.md §2.9). Files are served
from the warehouse; files only other peers hold need the network (answered 502 until the node
can fetch them)."""

from __future__ import annotations

from typing import Any, Final

import trio
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from ._backend import ApiBackend
from ._detect import content_type, detect_extension, detect_prefix
from ._docs import HEX32, NODE, PATH, ok, params
from ._encoding import BadRequestError, GoJSONResponse, query, query_bool, query_hash, query_int
from ._models import FileFormat
from ._paths import PathRefusedError, checked_path
from ._stream import ByteWindow, RangeNotSatisfiableError, file_chunks, parse_range

__all__ = ["files_router"]

_VIDEO: Final = 14
_READ_PARAMS: Final = (("hash", HEX32, True), ("node", NODE, True), ("offset", "integer", False),
                       ("limit", "integer", False), ("timeout", "integer", False))
_BYTES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"application/octet-stream": {}}}, 206: {"description": "partial content"},
                 400: {"description": "bad input"}, 416: {"description": "range not satisfiable"},
                 502: {"description": "peer not reachable"}}


def _window(request: Request, size: int) -> tuple[ByteWindow, bool]:
    header = request.headers.get("range")
    if header is not None:
        return parse_range(header, size), True
    offset = max(0, query_int(request, "offset") or 0)
    limit = max(0, query_int(request, "limit") or 0)
    if limit and offset + limit > size:
        raise BadRequestError("invalid limit\n")
    if offset > size:
        raise BadRequestError("invalid offset\n")
    return ByteWindow(offset, limit or size - offset, size), False


def _published_format(backend: ApiBackend, file_hash: bytes) -> int | None:
    for record in backend.content.chain.files():
        if record.hash == file_hash:
            return record.file_format
    return None

async def _serve(request: Request, backend: ApiBackend, *, view: bool) -> Response:
    """A warehouse file (502 while files of other peers cannot be fetched)."""
    warehouse = backend.content.warehouse
    file_hash = query_hash(request, "hash")
    query_hash(request, "node", (32, 33))
    size = None if view and query_bool(request, "nocache") else warehouse.size(file_hash)
    if size is None:
        return Response(status_code=502)
    headers = {"Accept-Ranges": "bytes"} if view else {}
    try:
        window, ranged = _window(request, size)
    except RangeNotSatisfiableError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    path = warehouse.path_for(file_hash)
    async with await trio.open_file(path, "rb") as source:
        prefix = await source.read(512)
    kind = "video/mp4" if view and query_int(request, "format") == _VIDEO else None
    headers["Content-Type"] = kind or content_type(_published_format(backend, file_hash), prefix)
    headers["Content-Length"] = str(window.length)
    if ranged:
        headers["Content-Range"] = window.content_range
    status = 206 if ranged else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(file_chunks(path, window), status_code=status, headers=headers)


def files_router(backend: ApiBackend) -> APIRouter:
    """Routes that stream files and detect their formats."""
    router = APIRouter()

    async def file_read(request: Request) -> Response:
        """A file's bytes (whole, a window by offset/limit, or one HTTP range)."""
        return await _serve(request, backend, view=False)

    async def file_view(request: Request) -> Response:
        """As ``/file/read``, with ``Accept-Ranges`` and ``format=14`` for video players."""
        return await _serve(request, backend, view=True)

    view_params = params(*_READ_PARAMS, ("format", "integer", False), ("nocache", "string", False))
    routes = (("/file/read", file_read, params(*_READ_PARAMS)), ("/file/view", file_view, view_params))
    for path, handler, doc in routes:
        router.add_api_route(path, handler, methods=["GET"], responses=_BYTES, openapi_extra=doc)
        router.add_api_route(path, handler, methods=["HEAD"], include_in_schema=False)

    @router.get("/file/format", responses=ok(FileFormat), openapi_extra=params(("path", PATH, True)))
    async def file_format(request: Request) -> GoJSONResponse:
        """Type and format of a local file: by extension, else by its first bytes (status 1: unreadable)."""
        text = query(request, "path")
        if not text:
            raise BadRequestError
        pair = detect_extension(text)
        if pair is None:
            try:
                path = checked_path(text, backend.allowed_roots, backend.content.data_dir)
                async with await trio.open_file(path, "rb") as source:
                    prefix = await source.read(512)
            except (PathRefusedError, OSError):
                prefix = b""
            if not prefix:
                return GoJSONResponse({"status": 1, "filetype": 0, "fileformat": 0})
            pair = detect_prefix(prefix)
        return GoJSONResponse({"status": 0, "filetype": pair[0], "fileformat": pair[1]})

    return router
