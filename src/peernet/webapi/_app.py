"""The ASGI application: every route group, Go-style errors, and the key check in front."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from ..ui import with_ui
from ._backend import ApiBackend
from ._chain import chain_router
from ._console import console_router
from ._download import download_router
from ._encoding import BadRequestError, BodyTooLargeError
from ._files import files_router
from ._guard import ApiGuard
from ._peernet import peernet_router
from ._profile import profile_router
from ._search import search_router
from ._status import status_router
from ._warehouse import warehouse_router

__all__ = ["create_app"]

_COMMON: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed input", "content": {"text/plain": {}}},
    401: {"description": "missing or wrong API key"},
    403: {"description": "Host header not allowed"},
}


async def _bad_request(request: Request, exc: Exception) -> Response:
    message = exc.message if isinstance(exc, BadRequestError) and exc.message.endswith("\n") else "\n"
    return PlainTextResponse(message, status_code=400)


async def _too_large(request: Request, exc: Exception) -> Response:
    return Response(status_code=413, headers={"Connection": "close"})


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 404:
        return PlainTextResponse("404 page not found\n", status_code=404)
    return Response(status_code=code)


def create_app(backend: ApiBackend, hosts: tuple[str, ...] = ()) -> ASGIApp:
    """The local API for ``backend``, behind the key and Host checks (``hosts``: extra allowed Host names)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:  # background work of the routes (search jobs)
            app.state.nursery = nursery
            yield
            nursery.cancel_scope.cancel()

    app = FastAPI(title="Peernet local API", version="1", docs_url=None, redoc_url=None, responses=_COMMON,
                  lifespan=lifespan,
                  redirect_slashes=False)
    for router in (status_router(backend), chain_router(backend), profile_router(backend),
                   warehouse_router(backend), files_router(backend), console_router(backend),
                   search_router(backend), download_router(backend), peernet_router(backend)):
        app.include_router(router)
    app.add_exception_handler(BadRequestError, _bad_request)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(BodyTooLargeError, _too_large)
    app.add_exception_handler(HTTPException, _http_error)
    return with_ui(ApiGuard(app, backend.api_key, hosts), hosts=hosts)
