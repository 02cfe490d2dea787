"""The UI's page and assets ship inside the ``peernet`` wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from peernet.ui import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.packaging
def test_the_wheel_carries_every_asset(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling installed")
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path),
                            str(ROOT / "distributions" / "peernet")], capture_output=True, text=True, timeout=300,
                           check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("peernet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = {f"peernet/ui/static/{p.relative_to(STATIC_DIR).as_posix()}" for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert "peernet/ui/static/index.html" in assets and "peernet/ui/static/js/app.js" in assets
    assert assets <= names
