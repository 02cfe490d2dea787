"""A full disk while the node writes its files: the write fails with one line naming the file,
no file is left truncated or empty, and the node starts once there is room again.

The disk is a tiny tmpfs mounted in a private mount namespace (``unshare -m``), so this needs root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .helpers import environment, problem_lines

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private tmpfs"
)

SCRIPT = r"""
set -u
mount -t tmpfs -o size=256k tmpfs "$DISK"
peernet() { "$PYTHON" -m peernet "$@"; }
report() { echo "== $1 rc=$2"; ls -la "$DISK/data" | tail -n +2; }
peernet id --data-dir "$DISK/data" >/dev/null; report fresh $?
cp "$DISK/data/config.json" "$DISK/config.saved" 2>/dev/null
rm "$DISK/data/config.json"
dd if=/dev/zero of="$DISK/fill" bs=4k >/dev/null 2>&1
sync
peernet id --data-dir "$DISK/data"; report id-full $?
mv "$DISK/config.saved" "$DISK/data/config.json"  # a rename needs no room: the run gets past the config
peernet run --data-dir "$DISK/data" --listen 127.0.0.1:0; report run-full $?
rm "$DISK/fill"
peernet id --data-dir "$DISK/data" >/dev/null; report id-room $?
echo "== config"
cat "$DISK/data/config.json"
"""


def test_full_disk_leaves_no_truncated_file(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    env = {**environment(), "DISK": str(disk), "PYTHON": sys.executable}
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "bash", "-c", SCRIPT],
        capture_output=True, text=True, timeout=120, env=env,
    )
    if "mount: " in result.stderr and "permission denied" in result.stderr.lower():
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    out = result.stdout
    assert "== fresh rc=0" in out, result
    assert "== id-full rc=2" in out and "== run-full rc=2" in out, (out, result.stderr)
    assert "== id-room rc=0" in out, (out, result.stderr)
    errors = problem_lines(result.stderr)
    assert len(errors) == 2 and "Traceback" not in result.stderr, result.stderr
    assert all("No space left on device" in line for line in errors), errors
    assert "config.json" in errors[0] and "node.pid" in errors[1], errors
    # While full, nothing was left behind but the (empty by design) lock file: no 0-byte file.
    full_listing = out.split("== id-full")[1].split("== run-full")[0]
    assert "config.json" not in full_listing and ".tmp" not in full_listing, full_listing
    run_listing = out.split("== run-full")[1].split("== id-room")[0]
    assert "node.pid" not in run_listing and "api.json" not in run_listing and ".tmp" not in run_listing
    assert json.loads(out.split("== config\n")[1])["listen"] == ["127.0.0.1:112"]
