"""Local API benchmark: each figure next to a baseline measured in the same run.

* ``/status`` requests per second over one keep-alive httpx connection, against the same client
  asking a bare hypercorn ASGI app (trio worker, same settings) that answers a constant.
* ``/file/read`` of a 64 MiB warehouse file: time to first byte and MiB/s, against reading the same
  file from disk in the same chunk size.

Client and server share one process (and core); both figures of a pair pay the same cost.

With ``--go RUNNER`` (a script starting a Go reference node as ``RUNNER DIR UDPPORT APIPORT``, key
from ``APIKEY``): ``/status`` requests per second of a ``peernet run`` node and of the Go node, each
its own process on loopback, asked by the same client loop in the same run.

Run: .venv/bin/python benchmarks/bench_api.py [--requests N] [--go RUNNER]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
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


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_status(url: str, key: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": key}) as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} ended with {process.returncode}")
            try:
                (await client.get("/status")).raise_for_status()
                return
            except httpx.HTTPError:
                await trio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _start_go(runner: str, folder: Path, key: str) -> tuple[str, subprocess.Popen[bytes]]:
    api_port = _free_port(socket.SOCK_STREAM)
    process = subprocess.Popen([runner, str(folder), str(_free_port(socket.SOCK_DGRAM)), str(api_port)],
                               env={**os.environ, "APIKEY": key}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{api_port}", process


async def _start_ours(folder: Path, key: str) -> tuple[str, subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    process = subprocess.Popen([sys.executable, "-m", "peernet", "run", "--data-dir", str(folder), "--listen",
                                f"127.0.0.1:{_free_port(socket.SOCK_DGRAM)}", "-webapi=127.0.0.1:0", f"-apikey={key}",
                                "--no-local-discovery", "--no-map-ports"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            return f"http://127.0.0.1:{json.loads((folder / 'api.json').read_text())['port']}", process
        except (OSError, ValueError, KeyError):
            if process.poll() is not None:
                raise RuntimeError(f"peernet run ended with {process.returncode}") from None
            await trio.sleep(0.1)
    raise RuntimeError("peernet run wrote no api.json")


def _stop(url: str, key: str, process: subprocess.Popen[bytes]) -> None:
    try:
        httpx.get(url + "/shutdown", params={"action": "0"}, headers={"x-api-key": key}, timeout=10)
        process.wait(timeout=20)
    except (httpx.HTTPError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


async def compare_with_go(runner: str, count: int) -> None:
    """``/status`` of a ``peernet run`` node next to a Go node's: separate processes, same client loop."""
    key = str(uuid.uuid4())
    with tempfile.TemporaryDirectory() as root:
        nodes: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
        try:
            nodes["go"] = _start_go(runner, Path(root) / "go", key)
            nodes["ours"] = await _start_ours(Path(root) / "py", key)
            rates = {}
            for name, (url, process) in nodes.items():
                await _wait_status(url, key, process)
                rates[name] = await requests_per_second(url, {"x-api-key": key}, count)
            print(f"/status, keep-alive, {count} requests, node processes: peernet run {rates['ours']:8.0f} req/s   "
                  f"Go node: {rates['go']:8.0f} req/s   ratio {rates['ours'] / rates['go']:.2f}")
        finally:
            for url, process in nodes.values():
                _stop(url, key, process)


async def main(count: int, go_runner: str | None = None) -> None:
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
    if go_runner:
        await compare_with_go(go_runner, count)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--go", metavar="RUNNER", help="also compare /status with a Go node started by RUNNER")
    arguments = parser.parse_args()
    trio.run(main, arguments.requests, arguments.go)
