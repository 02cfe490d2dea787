"""Bad input over the real CLI: exit code 2, one line naming the problem, no traceback, nothing lost."""

from __future__ import annotations

import json
import socket

import pytest

from .helpers import assert_one_line_error, peernet

KEY = "02" + "11" * 32  # a syntactically valid compressed public key


@pytest.fixture
def data_dir(tmp_path):
    directory = tmp_path / "data"
    assert peernet("id", "--data-dir", str(directory)).returncode == 0
    return directory


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--root", "nothex@127.0.0.1:5"], ["--root", "'nothex' is not a public key"]),
        (["--root", KEY], ["--root", "address is missing"]),
        (["--listen", "127.0.0.1:abc"], ["--listen", "127.0.0.1:abc"]),
        (["--listen", "127.0.0.1:99999"], ["--listen", "127.0.0.1:99999"]),
        (["--listen", "[::1]"], ["--listen", "[::1]"]),
    ],
)
def test_bad_option(data_dir, args, fragments):
    before = snapshot(data_dir)
    assert_one_line_error(peernet("run", "--data-dir", str(data_dir), *args), *fragments)
    assert snapshot(data_dir) == before


def test_port_in_use_is_named(data_dir):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = peernet("run", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}")
    assert_one_line_error(result, f"127.0.0.1:{port}", "in use")
    assert not (data_dir / "api.json").exists()


def test_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a directory")
    for subcommand in ("run", "id"):
        assert_one_line_error(peernet(subcommand, "--data-dir", str(path)), str(path), "not a directory")
    assert path.read_text() == "not a directory"


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ('{"listen": ["127.0.0.1:0"', ["config.json", "not valid JSON"]),
        ("", ["config.json", "empty file"]),
        ('["127.0.0.1:0"]', ["config.json", "expected a JSON object"]),
        ('{"local_discovery": "false"}', ["config.json", "local_discovery", "true or false"]),
        ('{"map_ports": "false"}', ["config.json", "map_ports", "true or false"]),
        ('{"map_ports": 0}', ["config.json", "map_ports", "true or false"]),
        ('{"lisen": ["127.0.0.1:0"]}', ["config.json", "unknown key lisen"]),
        ('{"listen": ["127.0.0.1:70000"]}', ["config.json", "listen", "127.0.0.1:70000"]),
        ('{"listen": "127.0.0.1:0"}', ["config.json", "listen", "expected a list"]),
        ('{"root_peers": ["nothex@127.0.0.1:5"]}', ["config.json", "root_peers", "not a public key"]),
        ('{"user_agent": 5}', ["config.json", "user_agent", "expected a string"]),
    ],
)
def test_bad_config_file(data_dir, content, fragments):
    (data_dir / "config.json").write_text(content)
    before = snapshot(data_dir)
    assert_one_line_error(peernet("run", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"), *fragments)
    assert snapshot(data_dir) == before


def test_bad_config_file_stops_id_too(data_dir):
    (data_dir / "config.json").write_text('{"listen": ["127.0.0.1:0"]')
    assert_one_line_error(peernet("id", "--data-dir", str(data_dir)), "config.json", "not valid JSON")


def test_config_booleans_are_honoured(data_dir):
    (data_dir / "config.json").write_text(json.dumps({"local_discovery": False, "map_ports": False}))
    assert peernet("id", "--data-dir", str(data_dir)).returncode == 0


def test_truncated_private_key_is_named_and_kept(data_dir):
    key_path = data_dir / "private.key"
    key_path.write_bytes(key_path.read_bytes()[:20])
    before = snapshot(data_dir)
    assert_one_line_error(peernet("run", "--data-dir", str(data_dir)), str(key_path), "not a private key")
    assert snapshot(data_dir) == before


@pytest.mark.parametrize(
    ("content", "subcommand"),
    [(b"", ["peers"]), (b"garbage", ["search", "holiday"]), (b'{"host": "x", "port": "1", "key": ""}', ["peers"])],
)
def test_garbage_api_file(data_dir, content, subcommand):
    (data_dir / "api.json").write_bytes(content)
    assert_one_line_error(peernet(*subcommand, "--data-dir", str(data_dir)), "api.json", "damaged")


def test_no_running_node(data_dir):
    assert_one_line_error(peernet("peers", "--data-dir", str(data_dir)), "no running node", code=1)


def test_debug_shows_the_traceback(data_dir):
    (data_dir / "config.json").write_text("[]")
    result = peernet("id", "--data-dir", str(data_dir), "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "ConfigError" in result.stderr
