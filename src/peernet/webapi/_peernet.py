"""Routes of this implementation that the reference's API has no counterpart for, under ``/peernet/``:

* ``GET /peernet/get?hash=&node=&directory=&name=``: queue a verified download of a file from the
  peers whose chains publish it (``node`` optional: any known owner); an unfinished download of the
  same file to the same place is continued. Answers ``{"id": ...}`` or ``{"error": ...}`` (status 404
  when no known chain publishes the file or the node does not download, 400 for a refused target).
* ``GET /peernet/downloads[?id=]``: the download manager's downloads (or one), with progress.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from .._services import FileNotFoundOnNetworkError
from ..downloads import DownloadInfo, DownloadPathError
from ._backend import ApiBackend
from ._docs import HEX32, params
from ._encoding import BadRequestError, GoJSONResponse, query, query_hash, query_uuid

__all__ = ["download_json", "peernet_router"]


def download_json(info: DownloadInfo) -> dict[str, Any]:
    """One download as JSON."""
    progress = info.progress
    return {"id": str(info.id), "hash": info.file_hash.hex(), "name": info.name, "target": str(info.target),
            "status": int(info.status), "status_name": info.status.name.lower(), "total": progress.total,
            "done": progress.done, "percentage": progress.percentage, "rate": progress.rate, "eta": progress.eta,
            "sources": info.sources, "rejected_pieces": info.rejected_pieces, "error": info.error}


def peernet_router(backend: ApiBackend) -> APIRouter:
    """The ``/peernet/`` routes."""
    router = APIRouter()

    @router.get("/peernet/get", responses={200: {"description": "queued"}, 400: {"description": "bad target"},
                                           404: {"description": "not published by any known chain"}},
                openapi_extra=params(("hash", HEX32, True), ("node", HEX32, False),
                                                     ("directory", "string", True), ("name", "string", False)))
    async def get(request: Request) -> GoJSONResponse:
        """Queue (or continue) a download from peers."""
        service = backend.service
        if service is None:
            return GoJSONResponse({"error": "this node does not download from peers"}, status_code=404)
        file_hash = query_hash(request, "hash")
        node = query_hash(request, "node") if query(request, "node") else None
        directory = query(request, "directory")
        if not directory or not Path(directory).is_absolute():
            raise BadRequestError("directory: an absolute path is needed")
        try:
            download_id = await service.start_download(file_hash, node, Path(directory), query(request, "name"))
        except FileNotFoundOnNetworkError as error:
            return GoJSONResponse({"error": str(error)}, status_code=404)
        except DownloadPathError as error:
            return GoJSONResponse({"error": str(error)}, status_code=400)
        return GoJSONResponse({"id": str(download_id)})

    @router.get("/peernet/downloads", responses={200: {"description": "downloads"}, 404: {"description": "unknown"}},
                openapi_extra=params(("id", {"type": "string", "format": "uuid"}, False)))
    async def downloads(request: Request) -> GoJSONResponse:
        """Every download of the manager, or the one with ``id`` (404 when unknown)."""
        service = backend.service
        if service is None:
            return GoJSONResponse({"downloads": []})
        if query(request, "id") is None:
            return GoJSONResponse({"downloads": [download_json(i) for i in service.downloads.list()]})
        info = service.downloads.info(query_uuid(request, "id") or uuid.UUID(int=0))
        if info is None:
            return GoJSONResponse({"error": "unknown download"}, status_code=404)
        return GoJSONResponse(download_json(info))

    return router
