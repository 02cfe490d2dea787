"""``/test``, ``/status``, ``/status/peers``, ``/status/config``, ``/account/*`` and ``/shutdown``
(spec webapi.md §2.1, §2.10)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import PlainTextResponse, Response

from peernet_chain import DEFAULT_MAX_BLOCK_SIZE

from ._backend import ApiBackend
from ._docs import ok, params
from ._encoding import BadRequestError, GoJSONResponse, b64, query_bool, query_int
from ._models import AccountInfo, ConfigInfo, PeerInfo, ShutdownStatus, StatusInfo

__all__ = ["status_router"]

log = logging.getLogger(__name__)


def status_router(backend: ApiBackend) -> APIRouter:
    """Routes about the node itself."""
    router = APIRouter()

    @router.get("/test", response_class=PlainTextResponse)
    async def test() -> PlainTextResponse:
        """Liveness: the text ``ok``."""
        return PlainTextResponse("ok")

    @router.get("/status", responses=ok(StatusInfo))
    async def status() -> GoJSONResponse:
        """Peer counts; ``isconnected`` once two peers are known (the Browser waits for it)."""
        count = len(backend.peers())
        return GoJSONResponse({"status": 0, "isconnected": count >= 2, "countpeerlist": count, "countnetwork": count})

    @router.get("/status/peers", responses={200: {"model": list[PeerInfo]}})
    async def peers() -> GoJSONResponse:
        """The peer list; ``[]`` when empty (the Browser cannot take ``null``)."""
        return GoJSONResponse([
            {"peerid": b64(p.peer_id), "nodeid": b64(p.node_id), "geoip": "", "useragent": p.user_agent,
             "isroot": p.is_root, "blockchainheight": p.blockchain_height, "blockchainversion": p.blockchain_version,
             "connections": list(p.connections)}
            for p in backend.peers()
        ])

    @router.get("/status/config", responses=ok(ConfigInfo))
    async def config() -> GoJSONResponse:
        """The largest block fetched from other peers."""
        return GoJSONResponse({"blockSize": DEFAULT_MAX_BLOCK_SIZE})

    _account_routes(router, backend)
    return router


def _account_routes(router: APIRouter, backend: ApiBackend) -> None:
    @router.get("/account/info", responses=ok(AccountInfo))
    async def account_info() -> GoJSONResponse:
        """Own peer ID and node ID in lowercase hex."""
        public = backend.key.public_key
        return GoJSONResponse({"peerid": public.hex(), "nodeid": public.node_id.hex()})

    @router.get("/account/delete", status_code=204, responses={200: {"description": "deleted"}},
                openapi_extra=params(("confirm", "string", False)))
    async def account_delete(request: Request) -> Response:
        """With ``confirm=1``: empty the own chain, delete the warehouse data, and forget the
        private key (a new identity is made at the next start). Otherwise 204."""
        if not query_bool(request, "confirm"):
            return Response(status_code=204)
        content = backend.content
        async with content.lock:
            content.delete_account()
        log.warning("account deleted: chain emptied, warehouse cleared, key removed for the next start")
        return Response(status_code=200)

    @router.get("/shutdown", responses=ok(ShutdownStatus),
                openapi_extra=params(("action", {"type": "integer", "enum": [0]}, True)))
    async def shutdown(request: Request) -> GoJSONResponse:
        """``action=0``: answer ``{"status":0}``, then stop the node (exit code 9)."""
        if query_int(request, "action") != 0:
            raise BadRequestError


        async def stop() -> None:  # after the answer is sent; in the event loop, not a worker thread
            backend.shutdown()

        return GoJSONResponse({"status": 0}, background=BackgroundTask(stop))
