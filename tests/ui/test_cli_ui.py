"""``peernet ui``: the link to the running node's UI (key in the fragment), and ``--open`` hands the
browser a private forwarding page instead of the link, so the key stays off command lines."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from peernet.ui import LAUNCH_PAGE, ui_link

ROOT = Path(__file__).resolve().parents[2]
KEY = "6f1c2b9e-8d4a-4c1e-9b7a-2f0e5d3c1a00"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "peernet", "ui", *args], capture_output=True, text=True,
                          timeout=60, env=environment, check=False)


def test_ui_link_puts_the_key_in_the_fragment() -> None:
    assert ui_link("127.0.0.1", 8080, KEY) == f"http://127.0.0.1:8080/#key={KEY}"
    assert ui_link("::1", 8080, KEY) == f"http://[::1]:8080/#key={KEY}"
    assert ui_link("127.0.0.1", 1, "a&b=c") == "http://127.0.0.1:1/#key=a%26b%3Dc"


def test_peernet_ui_prints_the_link_of_the_running_node(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps({"host": "127.0.0.1", "port": 4321, "key": KEY}))
    result = _run("--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"http://127.0.0.1:4321/#key={KEY}"


def test_peernet_ui_without_a_running_node_fails(tmp_path: Path) -> None:
    result = _run("--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no running node" in result.stderr


def test_peernet_ui_open_gives_the_browser_a_private_page_not_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "api.json").write_text(json.dumps({"host": "127.0.0.1", "port": 4321, "key": KEY}))
    seen = tmp_path / "browser-args"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$*" > {seen}\n')
    browser.chmod(0o700)
    result = _run("--data-dir", str(data), "--open", env={"BROWSER": f"{browser} %s"})
    assert result.returncode == 0, result.stderr
    argument = seen.read_text()
    assert KEY not in argument and argument == (data / LAUNCH_PAGE).as_uri()
    page = data / LAUNCH_PAGE
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert f'url=http://127.0.0.1:4321/#key={KEY}"' in page.read_text()
