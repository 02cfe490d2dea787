"""Share a file on one node and download it on another, as a user does it with the ``peernet`` command.

Two nodes run on loopback (``peernet run``), each with its own data directory; node B knows node A as
its root peer. A shares a file (``peernet share``), B finds it by keyword (``peernet search --json``:
only hits verified against A's blockchain are shown), downloads it (``peernet get``, which exits 0
once the file is complete and its BLAKE3 hash checked) and the bytes are compared.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peernet(*args: str) -> str:
    """Run one ``peernet`` command and return what it printed."""
    result = subprocess.run([sys.executable, "-m", "peernet", *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"peernet {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="peernet-example-"))
    a, b = base / "a", base / "b"
    port = free_udp_port()
    key_a = json.loads(peernet("id", "--json", "--data-dir", str(a)))["public_key"]
    run = [sys.executable, "-m", "peernet", "run"]
    nodes = [
        subprocess.Popen([*run, "--data-dir", str(a), "--listen", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL),
        subprocess.Popen([*run, "--data-dir", str(b), "--listen", "127.0.0.1:0", "--root", f"{key_a}@127.0.0.1:{port}"],
                         stderr=subprocess.DEVNULL),
    ]
    try:
        wait_for("both nodes", lambda: (a / "api.json").exists() and (b / "api.json").exists())
        wait_for("B to know A", lambda: json.loads(peernet("peers", "--json", "--data-dir", str(b))))
        original = base / "harbour at dawn.bin"
        original.write_bytes(os.urandom(3 << 20))
        [shared] = json.loads(peernet("share", str(original), "--json", "--data-dir", str(a)))
        print(f"A shared {shared['name']!r}, BLAKE3 {shared['hash'][:16]}…")

        hits: list[dict[str, object]] = []

        def found() -> bool:
            nonlocal hits
            hits = [h for h in json.loads(peernet("search", "harbour", "--json", "--data-dir", str(b)))["hits"]
                    if h["hash"] == shared["hash"]]
            return bool(hits)

        wait_for("the search hit", found)
        print(f"B found {hits[0]['name']!r} from node {str(hits[0]['node'])[:16]}…, verified: {hits[0]['verified']}")
        target = base / "downloaded.bin"
        peernet("get", shared["hash"], "-o", str(target), "--data-dir", str(b))
        same = target.read_bytes() == original.read_bytes()
        print(f"B downloaded {target.stat().st_size} bytes; identical to the original: {same}")
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(timeout=30)


if __name__ == "__main__":
    main()
