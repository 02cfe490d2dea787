"""``GET /search/network?term=``: one network keyword search, answered when it completes (used by
``peernet search``; not a route of the Go webapi, whose job-based ``/search`` needs the node's
local index of other chains)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from ._backend import ApiBackend
from ._docs import params
from ._encoding import BadRequestError, GoJSONResponse, query

__all__ = ["hit_json", "search_router"]

_TERM_LIMIT: Final = 1024
_TERM_SCHEMA: Final = {"type": "string", "minLength": 1, "maxLength": _TERM_LIMIT, "pattern": "\\S"}


def hit_json(hit: Any) -> dict[str, Any]:
    """A network hit (:class:`peernet_dht.NetworkHit`) as JSON."""
    return {"name": hit.name, "size": hit.size, "file_hash": hit.file_hash.hex(), "file_id": hit.file_id.hex(),
            "owner": hit.owner.hex(), "keywords": sorted(hit.keywords), "exact": hit.exact, "sources": hit.sources}


def search_router(backend: ApiBackend) -> APIRouter:
    """The network search route (503 when the node has no network search)."""
    router = APIRouter()

    @router.get("/search/network", responses={200: {"description": "hits"}, 503: {"description": "no search"}},
                openapi_extra=params(("term", _TERM_SCHEMA, True)))
    async def search_network(request: Request) -> Response:
        """Files matching ``term`` in the network."""
        term = (query(request, "term") or "").strip()
        if not term or len(term) > _TERM_LIMIT:
            raise BadRequestError
        if backend.search is None:
            return Response(status_code=503)
        return GoJSONResponse([hit_json(hit) for hit in await backend.search(term)])

    return router
