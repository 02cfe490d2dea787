"""Every script in examples/ runs as a user would run it, and prints what its comment promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_every_example_is_tested_and_documented() -> None:
    tested = set(re.findall(r'run_example\("([a-z_]+\.py)"', Path(__file__).read_text()))
    scripts = {path.name for path in EXAMPLES.glob("*.py")}
    assert scripts == tested
    for name in scripts:
        source = (EXAMPLES / name).read_text()
        assert source.startswith('"""'), f"{name} has no explanation on top"


def test_wire_packet() -> None:
    out = run_example("wire_packet.py")
    assert "sender is alice: True" in out
    assert "command ANNOUNCEMENT, sequence 7, user agent 'example/1.0'" in out
    assert "reply from bob: True, sequence 7" in out
    assert "tampered packet still from alice: False" in out


def test_chain_files(tmp_path: Path) -> None:
    out = run_example("chain_files.py", str(tmp_path))
    assert "chain: height 2, version 0" in out
    assert re.search(r"notes\.txt +TEXT +19 bytes", out)
    assert "profile name: Example User" in out
    assert "after deleting notes.txt: height 2, version 1" in out
    assert "exported 2 blocks; valid for the owner's key: True" in out
    assert "as someone else's chain: rejected (owner)" in out
    assert "search entry: 'HolidayVideo.mp4' in 'videos/2024', 1048576 bytes" in out
    assert len(list((tmp_path / "export").glob("block-*.bin"))) == 2


def test_dht_lookup() -> None:
    out = run_example("dht_lookup.py")
    assert "find peer: converged, 20/20 of the true closest live nodes found" in out
    assert "find value: found-value, value b'a small value stored in the DHT'" in out
    assert "from a holder: True" in out


def test_simulator_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = run_example("simulator_plot.py", str(tmp_path))
    assert "100 nodes, 50 lookups" in out
    rate = float(re.search(r"success rate ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert rate >= 0.9
    assert (tmp_path / "hops.png").read_bytes().startswith(b"\x89PNG")


def test_udt_stream() -> None:
    out = run_example("udt_stream.py")
    assert "sans-IO: 256000 bytes intact: True, 2 ends connected" in out
    lost = re.search(r"sans-IO: (\d+) of (\d+) frames lost and recovered", out)
    assert lost is not None and int(lost.group(1)) > 0
    assert "streams: 256000 bytes intact: True, ended by the sender's Shutdown: True" in out


def test_file_transfer() -> None:
    out = run_example("file_transfer.py")
    assert re.search(r"file: 300000 bytes in [0-9.]+ virtual seconds, hash matches: True", out)
    assert "blocks: [(0, b'block zero'), (1, b'block one')]" in out
    assert "unknown file: TransferError (not available)" in out


def test_node_memory() -> None:
    out = run_example("node_memory.py")
    assert "peers known: 11 to 11" in out
    assert "stored under its BLAKE3 hash: True" in out
    assert "node 9 finds it: b'a value stored in the DHT'" in out
    assert "an unknown key: None" in out
    assert "node 11 finds node 5: True" in out


def test_nat_punch() -> None:
    out = run_example("nat_punch.py")
    assert "alice connected to bob after joining: False" in out
    assert "the root reports bob at ('11.0.0.2', 20000), behind a NAT (relay is the root): True" in out
    assert "alice fetched bob's value: b'only Bob holds this'" in out
    dropped = re.search(r"packets the NATs dropped meanwhile: (\d+)", out)
    assert dropped is not None and int(dropped.group(1)) >= 1  # the direct request, before the punch
    assert "alice talks to bob directly at ('11.0.0.2', 20000)" in out


def test_share_download() -> None:
    out = run_example("share_download.py")
    assert "A shared 'harbour at dawn.bin'" in out
    assert "verified: True" in out
    assert "identical to the original: True" in out


def test_the_readme_demo_shares_finds_and_downloads_verified() -> None:
    """The README's first command runs this demo."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-m", "peernet", "demo", "--nodes", "3"],
                            capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified against the owner's blockchain" in result.stdout
    assert "BLAKE3 verified" in result.stdout
