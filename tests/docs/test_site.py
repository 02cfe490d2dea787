"""The documentation site builds in strict mode without a warning, and its reference covers every public name."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "peernet_proto", "peernet_proto.wire", "peernet_proto.udt", "peernet_proto.transfer", "peernet_proto.testing",
    "peernet_dht", "peernet_dht.sim", "peernet_chain", "peernet_nat",
    "peernet", "peernet.webapi", "peernet.downloads",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    return out, log


def test_build_is_clean(site: tuple[Path, str]) -> None:
    _, log = site
    problems = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
    assert not problems, "\n".join(problems)


def test_every_guide_is_built(site: tuple[Path, str]) -> None:
    out, _ = site
    for page in (ROOT / "docs").rglob("*.md"):
        relative = page.relative_to(ROOT / "docs").with_suffix("")
        if relative.name == "README":
            continue
        target = out / relative / "index.html" if relative.name != "index" else out / relative.parent / "index.html"
        assert target.is_file(), f"{page} was not built"


def test_no_pointers_outside_the_repository(site: tuple[Path, str]) -> None:
    out, _ = site
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"spec [a-z]+\.md|\.md §", text), f"{page} points to a document outside the repository"


@pytest.mark.parametrize("package", PACKAGES)
def test_reference_lists_every_public_name(site: tuple[Path, str], package: str) -> None:
    out, _ = site
    html = (out / "reference" / package.replace(".", "_") / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(rf'id="{re.escape(package)}\.([A-Za-z_0-9]+)"', html))
    public = {name for name in importlib.import_module(package).__all__ if not name.startswith("__")}
    assert public - anchors == set(), f"{package}: not in the API reference"
