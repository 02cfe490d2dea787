"""The Go reference's figure for the transfer benchmark, taken in the same run: two Go nodes on
loopback, one sharing a random file through its web API, the other downloading it by hash.

Nothing of the Go node lives here. ``runner`` is a script the user names (the same contract as
``PEERNET_GO_NODE`` in ``tests/interop/test_go_webapi.py``): called as ``RUNNER DIR UDPPORT APIPORT``
with the environment variables ``SEEDS`` (``PUBKEYHEX@127.0.0.1:PORT`` or empty), ``PRIVKEY``
(64 hex) and ``APIKEY`` (a UUID); it binds only loopback and runs in the foreground until
``GET /shutdown?action=0`` or a signal.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import httpx

from peernet_proto import PrivateKey

__all__ = ["go_download"]

_START_S = 30.0
_DOWNLOAD_S = 300.0


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _GoNode:
    """One Go node started through the runner script, driven through its web API."""

    def __init__(self, runner: str, folder: Path, seeds: str) -> None:
        self.key = PrivateKey.generate()
        self.port = _free_port(socket.SOCK_DGRAM)
        self.api_key = str(uuid.uuid4())
        api_port = _free_port(socket.SOCK_STREAM)
        env = {**os.environ, "SEEDS": seeds, "PRIVKEY": self.key.to_bytes().hex(), "APIKEY": self.api_key}
        folder.mkdir(parents=True)
        self.process = subprocess.Popen([runner, str(folder), str(self.port), str(api_port)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers={"x-api-key": self.api_key},
                                   timeout=120)

    @property
    def address(self) -> str:
        """How another node names this one as a seed."""
        return f"{self.key.public_key.hex()}@127.0.0.1:{self.port}"

    def get(self, route: str, **params: str) -> Any:
        """GET a route; the decoded JSON answer (None for an empty body)."""
        response = self.client.get(route, params=params)
        response.raise_for_status()
        return response.json() if response.content else None

    def wait(self, what: str, check: Any, timeout: float = _START_S) -> None:
        """Poll ``check()`` until it is true."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Go node exited with {self.process.returncode} while waiting for {what}")
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                if check():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Shut the node down (gracefully, else by signal)."""
        with contextlib.suppress(httpx.HTTPError):
            self.client.get("/shutdown", params={"action": "0"}, timeout=5)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()


@contextlib.contextmanager
def _pair(runner: str, folder: Path) -> Iterator[tuple[_GoNode, _GoNode]]:
    owner = _GoNode(runner, folder / "owner", "")
    requester: _GoNode | None = None
    try:
        owner.wait("the owner's web API", lambda: owner.get("/status") is not None)
        requester = _GoNode(runner, folder / "requester", owner.address)
        peer_id = owner.key.public_key.to_bytes()

        def listed() -> bool:
            assert requester is not None
            return any(base64.b64decode(peer["peerid"]) == peer_id for peer in requester.get("/status/peers") or [])

        requester.wait("the requester to list the owner", listed)
        yield owner, requester
    finally:
        if requester is not None:
            requester.stop()
        owner.stop()


def _share(owner: _GoNode, path: Path) -> str:
    with path.open("rb") as data:
        stored = owner.client.post("/warehouse/create", files={"File": (path.name, data)}).json()
    if stored.get("status") != 0:
        raise RuntimeError(f"the Go owner's /warehouse/create answered {stored}")
    added = owner.client.post("/blockchain/file/add", json={"files": [
        {"hash": stored["hash"], "type": 0, "format": 0, "name": path.name, "folder": "", "description": ""},
    ]}).json()
    if added.get("status") != 0:
        raise RuntimeError(f"the Go owner's /blockchain/file/add answered {added}")
    return base64.b64decode(stored["hash"]).hex()


def _download(requester: _GoNode, file_hash: str, node_id: str, target: Path) -> float:
    """Seconds from ``/download/start`` to the status "finished" (polled every 20 ms)."""
    start = time.perf_counter()
    started = requester.get("/download/start", path=str(target), hash=file_hash, node=node_id)
    while time.perf_counter() - start < _DOWNLOAD_S:
        status = requester.get("/download/status", id=started["id"]) or {}
        if status.get("downloadstatus") == 5:
            return time.perf_counter() - start
        if status.get("downloadstatus") == 4:
            raise RuntimeError(f"the Go download failed: {status}")
        time.sleep(0.02)
    raise RuntimeError("the Go download did not finish")


def go_download(runner: str, total: int, runs: int = 1) -> dict[str, float]:
    """Two Go nodes, ``total`` random bytes shared on one and downloaded ``runs`` times by the other.

    Returns the best and the mean MiB/s (time from the download's start to its end, as seen
    through ``/download/status``); every copy is checked against the original's BLAKE3.
    """
    with tempfile.TemporaryDirectory(prefix="bench-go-") as tmp:
        folder = Path(tmp)
        original = folder / f"bench{uuid.uuid4().hex[:8]}.bin"
        original.write_bytes(os.urandom(total))
        want = blake3.blake3(original.read_bytes()).hexdigest()
        with _pair(runner, folder / "nodes") as (owner, requester):
            file_hash = _share(owner, original)
            rates = []
            for run in range(runs):
                target = folder / f"copy{run}.bin"
                seconds = _download(requester, file_hash, owner.key.public_key.node_id.hex(), target)
                if blake3.blake3(target.read_bytes()).hexdigest() != want:
                    raise RuntimeError("the Go download's bytes differ from the original")
                target.unlink()
                rates.append(total / (1 << 20) / seconds)
    return {"go_best": max(rates), "go_mean": sum(rates) / len(rates)}
