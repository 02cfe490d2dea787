"""Search routes (spec webapi.md §2.5–2.6): jobs over the node's network keyword search
(``POST /search``, ``/search/result``, ``/search/statistic``, ``/search/terminate``), and
``GET /search/network?term=`` (one search, answered when it completes; used by ``peernet search``).
``/explore`` and ``/blockchain/view`` list the own chain and other nodes' chains from the chain
cache; ``/merge/directory`` answers none yet. Search hits are verified against the owners' chains
when the node runs its content service."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import trio
from fastapi import APIRouter, Request
from starlette.responses import Response

from peernet_proto import PublicKey

from ._apifile import file_to_api
from ._backend import ApiBackend
from ._detect import detect_extension
from ._docs import json_body, params
from ._encoding import (
    BadRequestError,
    GoJSONResponse,
    b64,
    go_date,
    parse_uuid,
    query,
    query_bool,
    query_int,
    query_uuid,
    read_json,
    want_int,
    want_str,
)
from ._jobs import JobFilter, SearchJob, SearchJobs

__all__ = ["hit_json", "search_router"]

log = logging.getLogger(__name__)

_TERM_LIMIT: Final = 1024
_TERM_SCHEMA: Final = {"type": "string", "minLength": 1, "maxLength": _TERM_LIMIT}
_ZERO_KEY: Final = -(1 << 62)
_INT32: Final = {"type": ["integer", "null"], "minimum": -(1 << 31), "maximum": (1 << 31) - 1}
_SEARCH_IN: Final = {"type": "object", "properties": {
    "term": {"type": ["string", "null"]}, "timeout": _INT32, "maxresults": _INT32,
    "sort": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
    "terminate": {"type": ["array", "null"], "items": {"type": ["string", "null"], "format": "uuid"}},
    "filetype": {"type": ["integer", "null"], "minimum": -1, "maximum": 255},
    "fileformat": {"type": ["integer", "null"], "minimum": -1, "maximum": 0xFFFF},
    "sizemin": {"type": ["integer", "null"], "minimum": -1, "maximum": 1 << 62},
    "sizemax": {"type": ["integer", "null"], "minimum": -1, "maximum": 1 << 62},
    "node": {"type": ["string", "null"]}}}
_NO_JOB: Final = {"status": 2, "files": None, "statistic": None}


def hit_json(hit: Any, *, verified: bool = False) -> dict[str, Any]:
    """A network hit (:class:`peernet_dht.NetworkHit`) as JSON; ``hash`` repeats ``file_hash`` and
    ``node`` is the owner's node ID (both hex); ``verified``: checked against the owner's chain."""
    try:
        node = PublicKey.from_bytes(hit.owner).node_id.hex()
    except ValueError:
        node = ""
    return {"name": hit.name, "size": hit.size, "file_hash": hit.file_hash.hex(), "hash": hit.file_hash.hex(),
            "file_id": hit.file_id.hex(), "owner": hit.owner.hex(), "node": node, "keywords": sorted(hit.keywords),
            "exact": hit.exact, "sources": hit.sources, "verified": verified}


def hit_file(hit: Any) -> dict[str, Any]:
    """A network hit as an apiFile (network mode: Shared-By-Count from the sources)."""
    file_type, file_format = detect_extension(hit.name) or (0, 0)
    node_id = PublicKey.from_bytes(hit.owner).node_id
    shared = {"type": 5, "name": "Shared By Count", "text": "", "blob": None, "date": go_date(None),
              "number": hit.sources}
    return {"id": str(_uuid(hit.file_id)), "hash": b64(hit.file_hash), "type": file_type, "format": file_format,
            "size": hit.size, "folder": "", "name": hit.name, "description": "", "date": go_date(None),
            "nodeid": b64(node_id), "metadata": [shared], "username": "",
            "_date": None, "_datekey": _ZERO_KEY, "_node": node_id, "_shared": hit.sources}


def _uuid(raw: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=raw) if len(raw) == 16 else uuid.UUID(int=0)


def _public(file: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in file.items() if not key.startswith("_")}


def _hex_node(text: str | None) -> bytes | None:
    try:
        node = bytes.fromhex(text or "")
    except ValueError:
        return None
    return node if len(node) == 32 else None


def _runtime_filter(request: Request) -> JobFilter:
    def number(name: str) -> int:
        value = query_int(request, name)
        return -1 if value is None else value

    return JobFilter(number("filetype"), number("fileformat"), None, None, number("sizemin"), number("sizemax"),
                     _hex_node(query(request, "node")), max(0, number("sort")))


async def _run_job(backend: ApiBackend, job: SearchJob, term: str, timeout: float) -> None:
    try:
        if backend.search is not None:
            with trio.move_on_after(timeout):
                job.add([hit_file(hit) for hit in (await backend.search(term)).hits])
    except Exception:
        log.exception("search job failed")
    finally:
        job.live = False


def search_router(backend: ApiBackend) -> APIRouter:
    """Search and directory routes."""
    router = APIRouter()
    jobs = SearchJobs()
    _job_routes(router, backend, jobs)
    _directory_routes(router, backend)

    @router.get("/search/network", responses={200: {"description": "hits"}, 503: {"description": "no search"}},
                openapi_extra=params(("term", _TERM_SCHEMA, True)))
    async def search_network(request: Request) -> Response:
        """Files matching ``term`` in the network."""
        term = query(request, "term") or ""
        if not term or len(term) > _TERM_LIMIT:
            raise BadRequestError
        if backend.search is None:
            return Response(status_code=503)
        result = await backend.search(term)
        verified = backend.service is not None
        return GoJSONResponse({"hits": [hit_json(hit, verified=verified) for hit in result.hits], "asked": result.asked,
                               "answered": result.answered})

    return router


def _job_routes(router: APIRouter, backend: ApiBackend, jobs: SearchJobs) -> None:
    @router.post("/search", responses={200: {"description": "SearchRequestResponse"}},
                 openapi_extra=json_body(_SEARCH_IN))
    async def search(request: Request) -> GoJSONResponse:
        """Start a job (status 2 when too many run); ``terminate`` names jobs to stop first."""
        body = await read_json(request)
        for item in body.get("terminate") or []:
            if isinstance(item, str):
                job_id = parse_uuid(item)
                if job_id is not None:
                    jobs.remove(job_id)
        term = want_str(body, "term").strip()[:_TERM_LIMIT]
        timeout = want_int(body, "timeout", -(1 << 31), (1 << 31) - 1) or 20
        timeout = 20 if timeout <= 0 else min(timeout, 600)
        start = JobFilter(want_int(body, "filetype", -1, 255, -1), want_int(body, "fileformat", -1, 0xFFFF, -1),
                          None, None, want_int(body, "sizemin", -1, 1 << 62, -1),
                          want_int(body, "sizemax", -1, 1 << 62, -1), _hex_node(want_str(body, "node")),
                          want_int(body, "sort", 0, 10))
        job = jobs.create(trio.current_time(), timeout + 600, start)
        if job is None:
            return GoJSONResponse({"id": "00000000-0000-0000-0000-000000000000", "status": 2})
        request.app.state.nursery.start_soon(_run_job, backend, job, term, timeout)
        return GoJSONResponse({"id": str(job.id), "status": 0})

    @router.get("/search/result", openapi_extra=params(("id", {"type": "string", "format": "uuid"}, True)))
    async def result(request: Request) -> GoJSONResponse:
        """Results by offset or cursor; ``reset=1`` applies the filter parameters."""
        job = jobs.get(query_uuid(request, "id"), trio.current_time())
        if job is None:
            return GoJSONResponse(_NO_JOB)
        limit, offset = query_int(request, "limit"), query_int(request, "offset")
        if (limit is not None and limit < 0) or (offset is not None and offset < 0):
            raise BadRequestError
        if query_bool(request, "reset"):
            job.reset(_runtime_filter(request))
        status, files = job.take(100 if limit is None else limit, offset)
        statistic = job.statistic() if query_bool(request, "stats") else None
        return GoJSONResponse({"status": status, "files": [_public(f) for f in files], "statistic": statistic})

    @router.get("/search/statistic", openapi_extra=params(("id", {"type": "string", "format": "uuid"}, True)))
    async def statistic(request: Request) -> GoJSONResponse:
        """Counts over every result of the job."""
        job = jobs.get(query_uuid(request, "id"), trio.current_time())
        if job is None:
            return GoJSONResponse({"date": None, "filetype": None, "fileformat": None, "total": 0, "status": 2,
                                   "terminated": False})
        return GoJSONResponse({**job.statistic(), "status": 0, "terminated": not job.live})

    @router.get("/search/terminate", status_code=204, responses={404: {"description": "unknown"}},
                openapi_extra=params(("id", {"type": "string", "format": "uuid"}, True)))
    async def terminate(request: Request) -> Response:
        """Stop and forget a job."""
        if jobs.remove(query_uuid(request, "id")) is None:
            return Response("\n", status_code=404)
        return Response(status_code=204)


def _directory_routes(router: APIRouter, backend: ApiBackend) -> None:
    listing = params(("node", "string", False), ("limit", "integer", False), ("type", "integer", False),
                     ("offset", "integer", False))

    def page(request: Request) -> tuple[int, int, int]:
        wanted = query_int(request, "type")
        limit, offset = query_int(request, "limit"), max(0, query_int(request, "offset") or 0)
        return (-1 if wanted is None else wanted), (100 if limit is None or limit < 0 else limit), offset

    def listed(files: list[Any], wanted: int) -> list[dict[str, Any]]:
        """Chain files (newest first) as apiFiles with the Shared By Count the reference adds."""
        out = []
        for file in files:
            record = file.record
            if wanted not in (-1, record.file_type) and not (wanted == -2 and record.file_type in (0, 6, 7, 8)):
                continue
            api = file_to_api(record, file.owner.node_id)
            out.append({**api, "metadata": [*api["metadata"], {"type": 5, "name": "Shared By Count", "text": "",
                                                                "blob": None, "date": go_date(None), "number": 1}]})
        return out

    def node_files(request: Request, node: bytes | None) -> list[dict[str, Any]]:
        wanted, limit, offset = page(request)
        content = backend.content
        owners = [content.owner, *content.cache.owners()]
        owner = next((o for o in owners if o.node_id == node), None)
        if owner is None:
            return []
        return listed(content.files(owner, limit=1 << 30), wanted)[offset : offset + limit]

    @router.get("/explore", openapi_extra=listing)
    async def explore(request: Request) -> GoJSONResponse:
        """Recently shared files of other peers (from the chain cache); with ``node``, as /blockchain/view."""
        node = _hex_node(query(request, "node"))
        if node is not None:
            return GoJSONResponse({"status": 1, "files": node_files(request, node), "statistic": None})
        wanted, limit, offset = page(request)
        files = backend.content.recent(limit=limit, offset=offset)
        return GoJSONResponse({"status": 1, "files": listed(list(files), wanted), "statistic": None})

    @router.get("/blockchain/view", openapi_extra=listing)
    async def view(request: Request) -> GoJSONResponse:
        """The files of one node: the own chain, or another node's chain from the cache."""
        node = _hex_node(query(request, "node"))
        return GoJSONResponse({"status": 1, "files": node_files(request, node), "statistic": None})

    @router.get("/merge/directory", openapi_extra=params(("hash", "string", False), ("limit", "integer", False),
                                                           ("type", "integer", False), ("offset", "integer", False)))
    async def merge(request: Request) -> GoJSONResponse:
        """Peers sharing a file and what they shared (not known yet)."""
        return GoJSONResponse({"status": 1, "files": [], "statistic": None})
