"""Real ``peernet run`` nodes as subprocesses on loopback, for end-to-end tests of the web UI.

Each node gets its own data directory, a fixed free UDP port (so that another node can name it as a
root peer) and its local API on a free TCP port; ``HOME`` points at the test's folder, so the API's
path routes (downloads) accept folders there. Output goes to ``node.log`` in the data directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import attrs
import httpx

__all__ = ["RealNode", "free_udp_port", "node_identity", "peernet_command", "start_node", "stop_node", "wait_for_peer"]

SRC = str(Path(__file__).resolve().parents[2] / "src")


def peernet_command(*args: str) -> list[str]:
    """``python -m peernet ARGS`` with this checkout's sources."""
    return [sys.executable, "-m", "peernet", *args]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "HOME": str(home)}


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class RealNode:
    """A running node: its data directory, process, P2P port, public key and local API."""

    data_dir: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    port: int
    public_key: str
    node_id: str
    api_url: str = ""
    api_key: str = ""

    @property
    def root_spec(self) -> str:
        """How another node names this one with ``--root``."""
        return f"{self.public_key}@127.0.0.1:{self.port}"

    def api(self, route: str, **params: str) -> object:
        """GET ``route`` of the node's local API and return the JSON answer."""
        response = httpx.get(self.api_url + route, params=params, headers={"x-api-key": self.api_key}, timeout=30)
        response.raise_for_status()
        return response.json()

    def ui_link(self) -> str:
        """The link ``peernet ui`` prints for this node."""
        result = subprocess.run(peernet_command("ui", "--data-dir", str(self.data_dir)), capture_output=True,
                                text=True, timeout=60, env=_env(self.data_dir.parent), check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def log_text(self) -> str:
        """What the node wrote so far (for failure messages)."""
        return (self.data_dir / "node.log").read_text(errors="replace")


def node_identity(data_dir: Path, home: Path | None = None) -> dict[str, str]:
    """``peernet id --json`` for ``data_dir`` (creates the key on first use): ``public_key``, ``node_id``."""
    home = data_dir.parent if home is None else home
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(peernet_command("id", "--json", "--data-dir", str(data_dir)), capture_output=True,
                            text=True, timeout=60, env=_env(home), check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def start_node(data_dir: Path, *roots: RealNode | str, port: int = 0, timeout: float = 60.0) -> RealNode:
    """Start ``peernet run`` on ``data_dir`` with ``roots`` (nodes, or ``PUBKEYHEX@HOST:PORT``) as root
    peers, listening on UDP ``port`` (0: a free one); returns once its API answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    home = data_dir.parent
    ident = node_identity(data_dir, home)
    port = port or free_udp_port()
    args = ["run", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}", "-webapi=127.0.0.1:0",
            "--no-local-discovery", "--no-map-ports"]
    for root in roots:
        args += ["--root", root if isinstance(root, str) else root.root_spec]
    log = (data_dir / "node.log").open("wb")
    process = subprocess.Popen(peernet_command(*args), env=_env(home), stdout=log, stderr=subprocess.STDOUT)
    node = RealNode(data_dir, process, log, port, ident["public_key"], ident["node_id"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_node(node)
            raise AssertionError(f"node on {data_dir} ended ({process.returncode}):\n{node.log_text()}")
        try:
            info = json.loads((data_dir / "api.json").read_text())
            node.api_url, node.api_key = f"http://127.0.0.1:{info['port']}", str(info["key"])
            node.api("/status")
            return node
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            time.sleep(0.2)
    stop_node(node)
    raise AssertionError(f"the API of the node on {data_dir} did not answer in {timeout} s:\n{node.log_text()}")


def stop_node(node: RealNode) -> None:
    """Stop the node through ``/shutdown`` (or by signal if it does not listen) and wait for it."""
    if node.process.poll() is None and node.api_url:
        try:
            node.api("/shutdown", action="0")
            node.process.wait(timeout=20)
        except (httpx.HTTPError, subprocess.TimeoutExpired):
            pass
    if node.process.poll() is None:
        node.process.terminate()
        try:
            node.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
    node.log.close()


def wait_for_peer(node: RealNode, public_key: str, timeout: float = 30.0) -> None:
    """Wait until ``node`` lists the peer with ``public_key`` in ``/status/peers``."""
    import base64

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        peers = node.api("/status/peers")
        if isinstance(peers, list) and any(base64.b64decode(p["peerid"]).hex() == public_key for p in peers):
            return
        time.sleep(0.3)
    raise AssertionError(f"{node.data_dir.name} never listed peer {public_key[:16]}:\n{node.log_text()}")
