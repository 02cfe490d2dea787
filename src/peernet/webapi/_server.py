"""Serving the local API with hypercorn's trio worker inside the node's nursery, and ``api.json``
(host, port, key; mode 0600, written atomically) so that local tools can find it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.types import ASGIApp

from .._apifile import API_FILE, ApiInfo
from .._apifile import write_api_file as write_info

__all__ = ["API_FILE", "hypercorn_config", "serve_app", "write_api_file"]

log = logging.getLogger(__name__)


def hypercorn_config(binds: Sequence[str]) -> Config:
    """Bounded: 16 KiB of headers, idle and read timeouts, no access log (query strings hold keys)."""
    config = Config()
    config.bind = list(binds)
    config.h11_max_incomplete_size = 16 * 1024
    config.h2_max_inbound_frame_size = 16 * 1024
    config.keep_alive_timeout = 30
    config.read_timeout = 60
    config.graceful_timeout = 1
    config.backlog = 1024
    config.accesslog = None
    config.errorlog = logging.getLogger("peernet.webapi.http")
    config.include_server_header = False
    return config


def write_api_file(data_dir: Path, host: str, port: int, key: uuid.UUID) -> Path:
    """Write ``api.json`` (host, port, key) atomically, readable by the owner only."""
    write_info(Path(data_dir), ApiInfo(host, port, str(key)))
    return Path(data_dir) / API_FILE


def _host_port(bind: str) -> tuple[str, int]:
    address = bind.split("://", 1)[-1]
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def serve_app(
    app: ASGIApp,
    binds: Sequence[str],
    *,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``binds`` (``HOST:PORT``, port 0 picks one) until cancelled; reports the bound addresses."""
    config = hypercorn_config(binds)

    async with trio.open_nursery() as nursery:
        bound: list[str] = await nursery.start(partial(serve, app, config))  # type: ignore[arg-type]
        addresses = [_host_port(bind) for bind in bound]
        log.info("local API on %s", ", ".join(f"{h}:{p}" for h, p in addresses))
        task_status.started(addresses)
