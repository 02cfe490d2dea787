"""``peernet run`` as the Browser starts it (``-webapi``, ``-apikey``, ``-watchpid``), then
``peernet peers`` and ``/shutdown`` against it, in real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC}


def peernet(*args: str) -> list[str]:
    return [sys.executable, "-m", "peernet", *args]


def wait_for_api(data_dir: Path, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return dict(json.loads((data_dir / "api.json").read_text()))
        except (OSError, ValueError):
            time.sleep(0.1)
    raise AssertionError("api.json did not appear")


def test_run_then_peers_then_shutdown(tmp_path):
    key = str(uuid.uuid4())
    process = subprocess.Popen(peernet("run", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0",
                                       "-webapi=127.0.0.1:0", f"-apikey={key}"),
                               env=ENV, stderr=subprocess.PIPE)
    try:
        info = wait_for_api(tmp_path, process)
        assert info["key"] == key and info["host"] == "127.0.0.1"
        assert oct((tmp_path / "api.json").stat().st_mode & 0o777) == "0o600"
        peers = subprocess.run(peernet("peers", "--data-dir", str(tmp_path)), env=ENV, capture_output=True,
                               text=True, timeout=60)
        assert peers.returncode == 0 and peers.stdout.strip().endswith("0 peers"), peers.stderr
        url = f"http://127.0.0.1:{info['port']}"
        status = httpx.get(url + "/status", headers={"x-api-key": key}).json()
        assert status == {"status": 0, "isconnected": False, "countpeerlist": 0, "countnetwork": 0}
        assert httpx.get(url + "/status").status_code == 401
        assert httpx.get(url + "/shutdown", params={"action": "0"}, headers={"x-api-key": key}).json() == {"status": 0}
        assert process.wait(timeout=30) == 9
        assert not (tmp_path / "api.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_watched_process_and_bad_key(tmp_path):
    bad = subprocess.run(peernet("run", "--data-dir", str(tmp_path), "-apikey=not-a-uuid"), env=ENV,
                         capture_output=True, timeout=60)
    assert bad.returncode == 10
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    process = subprocess.Popen(peernet("run", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0",
                                       "-webapi", "127.0.0.1:0", "-watchpid", str(watched.pid)),
                               env=ENV, stderr=subprocess.PIPE)
    try:
        wait_for_api(tmp_path, process)
        watched.kill()
        watched.wait()
        assert process.wait(timeout=30) == 9
    finally:
        for proc in (process, watched):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
