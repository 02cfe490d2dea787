"""A running ``peernet run`` subprocess: clean shutdown, one node per data directory, the port
fallback, ``--json`` and logging options, damaged chains."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time

import pytest

from peernet_chain import LocalChain, ProfileField
from peernet_proto import PrivateKey

from .helpers import LOG_LINE, RunningNode, assert_one_line_error, peernet


def test_sigint_and_sigterm_shut_down_cleanly(tmp_path):
    for signum in (signal.SIGINT, signal.SIGTERM):
        with RunningNode(tmp_path, "--listen", "127.0.0.1:0") as node:
            assert (tmp_path / "node.pid").read_text().strip() == str(node.process.pid)
            code = node.stop(signum)
        assert code == 0, node.stderr
        assert "Traceback" not in node.stderr and "ExceptionGroup" not in node.stderr, node.stderr
        assert f"{signal.Signals(signum).name} received, shutting down" in node.stderr
        assert not (tmp_path / "api.json").exists()
        assert not (tmp_path / "node.pid").exists()


def test_two_nodes_cannot_share_a_data_directory(tmp_path):
    key = None
    with RunningNode(tmp_path, "--listen", "127.0.0.1:0") as first:
        key = (tmp_path / "private.key").read_bytes()
        api = (tmp_path / "api.json").read_bytes()
        second = peernet("run", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0")
        assert_one_line_error(second, "already running", f"pid {first.process.pid}", str(tmp_path))
        assert (tmp_path / "api.json").read_bytes() == api  # the second did not touch the first's file
        assert peernet("peers", "--data-dir", str(tmp_path)).returncode == 0
        assert first.stop() == 0
    assert (tmp_path / "private.key").read_bytes() == key


def test_default_port_falls_back_to_a_free_port(tmp_path):
    """Port 112 taken (or, without privileges, not available): a fresh node takes any free port."""
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with contextlib.suppress(OSError):  # already taken, or needs privileges: the node cannot have it either
        blocker.bind(("127.0.0.1", 112))
    try:
        for _ in range(2):  # a fresh data directory, then with the config.json the first start wrote
            with RunningNode(tmp_path) as node:
                assert node.stop() == 0
            assert "using a free port instead" in node.stderr, node.stderr
            assert "listening on 127.0.0.1:" in node.stderr and "listening on 127.0.0.1:112 " not in node.stderr
    finally:
        blocker.close()


def test_json_and_log_options_after_the_subcommand(tmp_path):
    ident = json.loads(peernet("id", "--data-dir", str(tmp_path), "--json").stdout)
    assert ident["public_key"] == PrivateKey.load(tmp_path / "private.key").public_key.hex()
    with RunningNode(tmp_path, "--listen", "127.0.0.1:0", "-v") as node:
        assert json.loads(peernet("peers", "--data-dir", str(tmp_path), "--json").stdout) == []
        found = json.loads(peernet("search", "holiday", "--data-dir", str(tmp_path), "--json").stdout)
        assert found == {"hits": [], "asked": 0, "answered": 0}
        plain = peernet("search", "holiday", "--data-dir", str(tmp_path)).stdout
        assert "0 results; no peer to ask" in plain
        assert node.stop() == 0
    levels = {LOG_LINE.match(line).group(1) for line in node.stderr.splitlines() if LOG_LINE.match(line)}
    assert "DEBUG" in levels and "INFO" in levels
    assert " INFO    peernet._run: node " in node.stderr  # level and logger name on every line
    with RunningNode(tmp_path, "--listen", "127.0.0.1:0", "--log-level", "warning") as quiet:
        assert quiet.stop() == 0
    assert not [line for line in quiet.stderr.splitlines() if " INFO " in line or " DEBUG " in line]


def test_version():
    result = peernet("--version")
    assert result.returncode == 0 and result.stdout.strip() == "peernet 0.1.0"


def test_ipv6_endpoints_are_bracketed(tmp_path):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError as error:
        pytest.skip(f"no IPv6 loopback: {error}")
    with RunningNode(tmp_path, "--listen", "[::1]:0") as node:
        assert node.stop() == 0
    assert "listening on [::1]:" in node.stderr, node.stderr


def test_search_counts_the_peers_that_answered(tmp_path):
    port = _free_udp_port()
    with RunningNode(tmp_path / "a", "--listen", f"127.0.0.1:{port}"):
        ident = json.loads(peernet("id", "--data-dir", str(tmp_path / "a"), "--json").stdout)
        root = f"{ident['public_key']}@127.0.0.1:{port}"
        with RunningNode(tmp_path / "b", "--listen", "127.0.0.1:0", "--root", root):
            deadline = time.monotonic() + 20
            while not json.loads(peernet("peers", "--data-dir", str(tmp_path / "b"), "--json").stdout):
                assert time.monotonic() < deadline, "no peer"
                time.sleep(0.2)
            result = json.loads(peernet("search", "holiday", "--data-dir", str(tmp_path / "b"), "--json").stdout)
            assert result["asked"] == 1 and result["answered"] == 1, result
            plain = peernet("search", "holiday", "--data-dir", str(tmp_path / "b")).stdout
            assert "1 of 1 peers answered, 0 timed out" in plain


def _free_udp_port():
    """A UDP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _chain_of(directory, blocks):
    assert peernet("id", "--data-dir", str(directory)).returncode == 0
    key = PrivateKey.load(directory / "private.key")
    with LocalChain(directory / "blockchain", key) as chain:
        for number in range(blocks):
            chain.write_profile([ProfileField(0, f"name {number}".encode())], 1_700_000_000 + number)
        assert chain.height == blocks
    return directory / "blockchain" / "data.mdb"


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_truncated_chain_is_refused_and_left_alone(tmp_path, keep):
    data = _chain_of(tmp_path, 40)
    data.write_bytes(data.read_bytes()[: int(data.stat().st_size * keep)])
    before = data.read_bytes()
    result = peernet("run", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0")
    assert_one_line_error(result, "blockchain", str(data), "truncated")
    assert data.read_bytes() == before
    assert not (tmp_path / "api.json").exists()
