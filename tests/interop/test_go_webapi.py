"""Interoperability with the Go reference node through the local web API: one harness drives a Go
node and a ``peernet run`` node on loopback through the same routes. Each publishes a file
(``/warehouse/create`` + ``/blockchain/file/add``) and lists it (``/blockchain/file/list``), lists
the other's files (``/blockchain/view?node=``), and downloads the other's file (``/download/start``,
``/download/status``); the bytes must match, in both directions.

Runs only when ``PEERNET_GO_NODE`` names a runner script for a Go node, called as
``RUNNER DIR UDPPORT APIPORT`` with the environment variables ``SEEDS`` (``PUBKEYHEX@127.0.0.1:PORT``),
``PRIVKEY`` (64 hex) and ``APIKEY`` (a UUID); the runner must bind only loopback and keep running in
the foreground until ``GET /shutdown?action=0`` or a signal. Nothing of the Go node lives here.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from peernet_proto import PrivateKey

from ..ui.realnodes import free_udp_port, node_identity, start_node, stop_node

RUNNER = os.environ.get("PEERNET_GO_NODE", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RUNNER, reason="set PEERNET_GO_NODE to a Go node runner script to run the interop harness"),
]

CHAIN_PROPAGATION_S = 90.0  # Go refreshes a peer's chain on its next idle Announcement (about 60 s)
DOWNLOAD_S = 60.0


@attrs.define
class Api:
    """One node's local API, driven the same way whichever implementation answers."""

    name: str
    url: str
    key: str
    public_key: str
    node_id: str
    downloads: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"x-api-key": self.key}, timeout=30)

    def get(self, route: str, **params: str) -> Any:
        with self._client() as client:
            response = client.get(route, params=params)
        response.raise_for_status()
        return response.json() if response.content else None

    def publish(self, path: Path) -> str:
        """Store ``path`` in the warehouse and add it to the blockchain; returns the hash (base64)."""
        with self._client() as client, path.open("rb") as data:
            stored = client.post("/warehouse/create", files={"File": (path.name, data)}).json()
            assert stored.get("status") == 0, f"{self.name}: /warehouse/create answered {stored}"
            added = client.post("/blockchain/file/add", json={"files": [
                {"hash": stored["hash"], "type": 0, "format": 0, "name": path.name, "folder": "", "description": ""},
            ]}).json()
        assert added.get("status") == 0, f"{self.name}: /blockchain/file/add answered {added}"
        return str(stored["hash"])

    def own_files(self) -> list[dict[str, Any]]:
        return list(self.get("/blockchain/file/list")["files"] or [])

    def peer_files(self, node_id: str) -> list[dict[str, Any]]:
        return list(self.get("/blockchain/view", node=node_id)["files"] or [])

    def peer_ids(self) -> set[str]:
        return {base64.b64decode(peer["peerid"]).hex() for peer in self.get("/status/peers") or []}

    def download(self, hash_b64: str, node_id: str, target: Path) -> dict[str, Any]:
        """Download a file of ``node_id`` to ``target``; returns the last ``/download/status`` answer."""
        started = self.get("/download/start", path=str(target), hash=base64.b64decode(hash_b64).hex(), node=node_id)
        assert started["apistatus"] == 0, f"{self.name}: /download/start answered {started}"
        deadline = time.monotonic() + DOWNLOAD_S
        status: dict[str, Any] = started
        while time.monotonic() < deadline:
            status = self.get("/download/status", id=started["id"]) or {"downloadstatus": 4, "note": "empty body"}
            if status["downloadstatus"] in (4, 5):
                break
            time.sleep(0.5)
        return status


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, ValueError, KeyError):
            value = None
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def _start_go(folder: Path, seed: str) -> Api:
    key = PrivateKey.generate()
    api_key, port, api_port = str(uuid.uuid4()), free_udp_port(), _free_tcp_port()
    env = {**os.environ, "SEEDS": seed, "PRIVKEY": key.to_bytes().hex(), "APIKEY": api_key}
    process = subprocess.Popen([RUNNER, str(folder), str(port), str(api_port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    go = Api("go", f"http://127.0.0.1:{api_port}", api_key, key.public_key.hex(), key.public_key.node_id.hex(),
             folder.parent / "go-downloads", port, process)
    go.downloads.mkdir()
    try:
        _wait("the Go node's API", lambda: go.get("/status") is not None and process.poll() is None, 30)
    except BaseException:
        _stop_go(go)
        raise
    return go


def _stop_go(go: Api) -> None:
    assert go.process is not None
    if go.process.poll() is None:
        try:
            go.get("/shutdown", action="0")
            go.process.wait(timeout=20)
        except (httpx.HTTPError, subprocess.TimeoutExpired):
            go.process.terminate()
            try:
                go.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                go.process.kill()
                go.process.wait()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Api]]:
    """Our node (root peer: the Go node) and a Go node (seed: our node); both stopped afterwards."""
    home = tmp_path_factory.mktemp("interop")  # HOME of our node: its path routes accept folders here
    ours_port, ours_key = free_udp_port(), node_identity(home / "py")["public_key"]
    go = _start_go(home / "go", f"{ours_key}@127.0.0.1:{ours_port}")
    try:
        node = start_node(home / "py", f"{go.public_key}@127.0.0.1:{go.port}", port=ours_port)
        ours = Api("ours", node.api_url, node.api_key, node.public_key, node.node_id, home / "downloads", node.port)
        ours.downloads.mkdir()
        try:
            _wait("both nodes listing each other",
                  lambda: go.public_key in ours.peer_ids() and ours.public_key in go.peer_ids(), 30)
            yield ours, go
        finally:
            stop_node(node)
    finally:
        _stop_go(go)


@pytest.fixture(scope="module")
def shared(pair: tuple[Api, Api], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Each node publishes its own file: name -> (original, hash).

    A first file fills block 0: Go's ``/blockchain/view`` reads a peer's cached blocks from height - 1
    down to 1 and never shows block 0 (a reference bug we do not copy).
    """
    folder = tmp_path_factory.mktemp("originals")
    result = {}
    for api in pair:
        filler = folder / f"first of {api.name}.txt"
        filler.write_bytes(b"block 0\n")
        api.publish(filler)
        original = folder / f"interop from {api.name}.bin"
        original.write_bytes(os.urandom(150_000))
        result[api.name] = (original, api.publish(original))
    return result


@pytest.mark.parametrize("side", ["ours", "go"])
def test_each_node_publishes_and_lists_its_own_file(pair: tuple[Api, Api], shared: dict[str, tuple[Path, str]],
                                                    side: str) -> None:
    api = {a.name: a for a in pair}[side]
    original, file_hash = shared[side]
    (listed,) = [f for f in api.own_files() if f["name"] == original.name]
    assert listed["hash"] == file_hash and listed["size"] == original.stat().st_size
    assert base64.b64decode(listed["nodeid"]).hex() == api.node_id


@pytest.mark.parametrize("side", ["ours", "go"])
def test_each_node_lists_the_others_files(pair: tuple[Api, Api], shared: dict[str, tuple[Path, str]],
                                          side: str) -> None:
    api, other = pair if side == "ours" else pair[::-1]
    original, file_hash = shared[other.name]
    files = _wait(f"{api.name} listing {other.name}'s file",
                  lambda: [f for f in api.peer_files(other.node_id) if f["hash"] == file_hash], CHAIN_PROPAGATION_S)
    assert files[0]["name"] == original.name and files[0]["size"] == original.stat().st_size


@pytest.mark.parametrize("side", ["ours", "go"])
def test_each_node_downloads_the_others_file(pair: tuple[Api, Api], shared: dict[str, tuple[Path, str]],
                                             side: str) -> None:
    api, other = pair if side == "ours" else pair[::-1]
    original, file_hash = shared[other.name]
    target = api.downloads / f"got {original.name}"
    status = api.download(file_hash, other.node_id, target)
    assert status["downloadstatus"] == 5, status
    assert target.read_bytes() == original.read_bytes()
