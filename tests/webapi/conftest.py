"""A real local API server on 127.0.0.1:0 in the test's nursery, and an httpx client for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import httpx
import trio

from peernet._content import NodeContent
from peernet.webapi import ApiBackend, ApiLimits, PeerSummary, create_app, serve_app
from peernet_proto import PrivateKey


@attrs.define
class Api:
    """A running API: its client (key set), backend, address and whether shutdown was asked."""

    client: httpx.AsyncClient
    backend: ApiBackend
    host: str
    port: int
    stopped: trio.Event

    @property
    def key(self) -> str:
        return str(self.backend.api_key)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def running_api(
    root: Path, *, limits: ApiLimits | None = None, peers: Sequence[PeerSummary] = (), search=None  # type: ignore[no-untyped-def]
) -> AsyncIterator[Api]:
    key = PrivateKey.generate()
    content = NodeContent(root / f"data-{key.public_key.hex()[:12]}", key)
    stopped = trio.Event()
    backend = ApiBackend(key, content, lambda: list(peers), stopped.set, uuid.uuid4(), (root,),
                         limits or ApiLimits(), search)
    try:
        async with trio.open_nursery() as nursery:
            [(host, port)] = await nursery.start(serve_app, create_app(backend), ["127.0.0.1:0"])
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30,
                                         headers={"x-api-key": str(backend.api_key)}) as client:
                yield Api(client, backend, host, port, stopped)
            nursery.cancel_scope.cancel()
    finally:
        content.close()
