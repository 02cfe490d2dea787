"""Local API benchmark: each figure next to a baseline measured in the same run.

* ``/status`` requests per second over one keep-alive httpx connection, against the same client
  asking a bare hypercorn ASGI app (trio worker, same settings) that answers a constant.
* ``/file/read`` of a 64 MiB warehouse file: time to first byte and MiB/s, against reading the same
  file from disk in the same chunk size.

Client and server share one process (and core); both figures of a pair pay the same cost.
Run: .venv/bin/python benchmarks/bench_api.py [--requests N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import trio

from peernet._content import NodeContent
from peernet.webapi import ApiBackend, create_app, serve_app
from peernet_proto import PrivateKey

MIB = 1 << 20
FILE_SIZE = 64 * MIB


async def constant_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline: a bare ASGI app answering a constant JSON body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b'{"status":0,"isconnected":false,"countpeerlist":0,"countnetwork":0}\n'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def requests_per_second(url: str, headers: dict[str, str], count: int) -> float:
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        for _ in range(50):  # warm up, open the connection
            (await client.get("/status")).raise_for_status()
        start = time.perf_counter()
        for _ in range(count):
            (await client.get("/status")).raise_for_status()
        return count / (time.perf_counter() - start)


async def stream_file(url: str, headers: dict[str, str], params: dict[str, str]) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        start = time.perf_counter()
        first = 0.0
        total = 0
        async with client.stream("GET", "/file/read", params=params) as response:
            async for chunk in response.aiter_raw():
                if not total:
                    first = time.perf_counter() - start
                total += len(chunk)
        elapsed = time.perf_counter() - start
    assert total == FILE_SIZE, total
    return first, total / MIB / elapsed


def read_from_disk(path: Path) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    total = 0
    with open(path, "rb") as source:
        while chunk := source.read(MIB):
            if not total:
                first = time.perf_counter() - start
            total += len(chunk)
    return first, total / MIB / (time.perf_counter() - start)


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        key = PrivateKey.generate()
        with NodeContent(Path(root) / "data", key) as content:
            data_path = Path(root) / "input"
            data_path.write_bytes(os.urandom(FILE_SIZE))
            stored = content.warehouse.import_path(data_path)
            backend = ApiBackend(key, content, list, lambda: None, uuid.uuid4(), (Path(root),))
            headers = {"x-api-key": str(backend.api_key)}
            async with trio.open_nursery() as nursery:
                [(host, port)] = await nursery.start(serve_app, create_app(backend), ["127.0.0.1:0"])
                [(bhost, bport)] = await nursery.start(serve_app, constant_app, ["127.0.0.1:0"])
                ours = await requests_per_second(f"http://{host}:{port}", headers, count)
                bare = await requests_per_second(f"http://{bhost}:{bport}", {}, count)
                print(f"/status, keep-alive, {count} requests: {ours:8.0f} req/s   "
                      f"bare hypercorn constant app: {bare:8.0f} req/s   ratio {ours / bare:.2f}")
                params = {"hash": stored.hash.hex(), "node": "00" * 32}
                disk_first, disk_rate = read_from_disk(content.warehouse.path_for(stored.hash))
                api_first, api_rate = await stream_file(f"http://{host}:{port}", headers, params)
                print(f"/file/read 64 MiB: first byte {api_first * 1000:6.2f} ms, {api_rate:7.1f} MiB/s   "
                      f"disk read: first byte {disk_first * 1000:6.2f} ms, {disk_rate:7.1f} MiB/s")
                nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    trio.run(main, parser.parse_args().requests)
