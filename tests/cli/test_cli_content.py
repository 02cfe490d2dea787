"""Two ``peernet run`` processes on real UDP on loopback, driven through the CLI: share on one,
search and ``get`` on the other; the downloader is killed half-way, restarted, and the download
resumes from the pieces it had and completes, verified."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from .helpers import command, environment, peernet

SIZE = 64 << 20


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    """``peernet run`` with its log in a file (a pipe could fill up and stall the node)."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(exist_ok=True)
        self.log = open(data_dir.parent / f"{data_dir.name}.log", "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command("run", "--data-dir", str(data_dir), "--no-local-discovery", *args),
                                        stdout=self.log, stderr=self.log, env=environment())
        deadline = time.monotonic() + 30
        while not (data_dir / "api.json").exists():
            assert self.process.poll() is None, f"node exited {self.process.returncode}"
            assert time.monotonic() < deadline, "node did not start"
            time.sleep(0.05)

    def cli(self, *args: str, timeout: float = 60) -> Any:
        result = peernet(*args, "--data-dir", str(self.data_dir), "--json", timeout=timeout)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.wait(30)
        self.log.close()


def test_share_search_get_kill_resume(tmp_path: Path) -> None:
    source = tmp_path / "mountain-panorama.raw"
    source.write_bytes(os.urandom(SIZE))
    port = _free_udp_port()
    owner_key = json.loads(peernet("id", "--data-dir", str(tmp_path / "a"), "--json").stdout)["public_key"]
    owner = Node(tmp_path / "a", "--listen", f"127.0.0.1:{port}")
    root = ("--root", f"{owner_key}@127.0.0.1:{port}")
    seeker = Node(tmp_path / "b", "--listen", "127.0.0.1:0", *root)
    output = tmp_path / "out"
    output.mkdir()
    getter = None
    try:
        (shared,) = owner.cli("share", str(source))
        assert shared["name"] == source.name and len(shared["hash"]) == 64

        deadline = time.monotonic() + 30
        while True:
            hits = seeker.cli("search", "panorama")["hits"]
            if hits:
                break
            assert time.monotonic() < deadline, "not found"
            time.sleep(0.5)
        (hit,) = hits
        assert hit["hash"] == shared["hash"] and hit["size"] == SIZE and hit["verified"] is True
        assert hit["name"] == source.name
        owner_files = seeker.cli("files", hit["node"])
        assert [f["hash"] for f in owner_files] == [shared["hash"]]

        get_args = ("get", shared["hash"], "--from", hit["node"], "-o", str(output), "--data-dir",
                    str(seeker.data_dir), "--json")
        getter = subprocess.Popen(command(*get_args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=environment())
        deadline = time.monotonic() + 60
        api = json.loads((seeker.data_dir / "api.json").read_text())
        with httpx.Client(base_url=f"http://{api['host']}:{api['port']}", headers={"x-api-key": api["key"]}) as client:
            while True:  # kill the downloading node part-way (the API answers faster than a CLI process starts)
                downloads = client.get("/peernet/downloads").json()["downloads"]
                if downloads and SIZE // 16 <= downloads[0]["done"] < SIZE * 3 // 4:
                    break
                assert not downloads or downloads[0]["done"] < SIZE * 3 // 4, "too fast to interrupt; use a bigger file"
                assert time.monotonic() < deadline
                time.sleep(0.01)
        seeker.stop(signal.SIGKILL)
        getter.wait(30)
        assert getter.returncode != 0
        assert not (output / source.name).exists()

        (seeker.data_dir / "api.json").unlink()  # left behind by the killed node
        seeker = Node(tmp_path / "b", "--listen", "127.0.0.1:0", *root)
        (restored,) = seeker.cli("downloads")
        assert restored["id"] == downloads[0]["id"] and restored["done"] > 0  # resumed, not restarted
        result = peernet(*get_args, timeout=120)
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)
        assert status["status"] == 5 and status["id"] == restored["id"]
        assert (output / source.name).read_bytes() == source.read_bytes()
    finally:
        if getter is not None and getter.poll() is None:
            getter.kill()
            getter.wait()
        seeker.stop()
        owner.stop()
