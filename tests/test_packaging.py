"""Each layer is its own distribution: the wire layer installs alone, without the higher layers' needs."""

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "peernet_proto": "peernet-proto",
    "peernet_dht": "peernet-dht",
    "peernet_chain": "peernet-chain",
    "peernet_nat": "peernet-nat",
    "peernet": "peernet",
}
ALLOWED_IMPORTS = {
    "peernet_proto": set(),
    "peernet_dht": {"peernet_proto"},
    "peernet_chain": {"peernet_proto"},
    "peernet_nat": {"peernet_proto"},
}


LOWER = {
    "peernet-proto": [],
    "peernet-dht": ["peernet-proto"],
    "peernet-chain": ["peernet-proto"],
    "peernet-nat": ["peernet-proto"],
    "peernet": ["peernet-proto", "peernet-dht", "peernet-chain", "peernet-nat"],
}
THIRD_PARTY_ONLY_ABOVE = ["lmdb", "cattrs", "filelock", "platformdirs"]  # none of them is proto's


def run(*args, timeout=600, **kwargs):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the fresh venv sees only what it has
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(s in output for s in ("No matching distribution", "Could not fetch URL")):
        pytest.skip(f"package index unreachable: {output[-300:]}")
    assert result.returncode == 0, output[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """Every layer's sdist and wheel, built by `python -m build` (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    for name in LAYERS.values():
        run(sys.executable, "-m", "build", "--outdir", out, ROOT / "distributions" / name)
    return out


def wheel_requirements(dist_dir, names):
    """Third-party requirements of the built wheels of ``names`` (from their METADATA)."""
    requirements = set()
    for name in names:
        (wheel,) = dist_dir.glob(f"{name.replace('-', '_')}-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            metadata = archive.read(f"{wheel.name.split('-')[0]}-0.1.0.dist-info/METADATA").decode()
        for line in metadata.splitlines():
            if line.startswith("Requires-Dist: ") and not line.split()[1].startswith("peernet"):
                requirements.add(line.removeprefix("Requires-Dist: "))
    return sorted(requirements)


@pytest.mark.packaging
def test_every_sdist_and_wheel_is_self_contained_and_publishable(dist):
    for package, name in LAYERS.items():
        (sdist,) = dist.glob(f"{package}-0.1.0.tar.gz")
        (wheel,) = dist.glob(f"{package}-0.1.0-py3-none-any.whl")
        with tarfile.open(sdist) as archive:
            members = set(archive.getnames())
        root = f"{package}-0.1.0"
        for member in ("LICENSE", "README.md", "pyproject.toml", "hatch_build.py", f"src/{package}/__init__.py"):
            assert f"{root}/{member}" in members, (sdist.name, member)
        sources = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / package).rglob("*.py")}
        assert {m.removeprefix(f"{root}/src/") for m in members if m.endswith(".py")} >= sources
        assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            metadata = archive.read(f"{package}-0.1.0.dist-info/METADATA").decode()
        assert {f"{package}/{s.split('/', 1)[1]}" for s in sources} | {f"{package}/py.typed"} <= names
        assert f"{package}-0.1.0.dist-info/licenses/LICENSE" in names
        for field in ("License-Expression: MIT", "Description-Content-Type: text/markdown", "Project-URL: Source",
                      "Classifier: Programming Language :: Python :: 3.11", "Author: peernet-py contributors"):
            assert field in metadata, (name, field)


@pytest.mark.packaging
@pytest.mark.parametrize("name", list(LAYERS.values()))
def test_each_layer_installs_in_a_fresh_venv_from_the_built_files(dist, tmp_path, name):
    """Third-party dependencies come from the package index; the layers only from dist/ (a
    project named "peernet" on the index is someone else's)."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wanted = [*LOWER[name], name]
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(*pip, *wheel_requirements(dist, wanted), "hatchling>=1.27")
    from_sdist = ["--no-binary", ",".join(wanted), "--no-build-isolation"] if name == "peernet-chain" else []
    run(*pip, "--no-index", "--find-links", dist, *from_sdist, f"{name}==0.1.0")
    package = name.replace("-", "_")
    higher = [p for p, n in LAYERS.items() if n not in wanted]
    check = (
        f"import importlib.util, {package} as p; print(p.__version__, "
        f"[m for m in {higher + (THIRD_PARTY_ONLY_ABOVE if name == 'peernet-proto' else [])!r}"
        " if importlib.util.find_spec(m)])"
    )
    assert run(python, "-c", check, cwd=tmp_path).strip() == "0.1.0 []"
    if name == "peernet":
        assert run(env_dir / "bin" / "peernet", "--version").strip() == "peernet 0.1.0"
        ident = run(env_dir / "bin" / "peernet", "id", "--json", "--data-dir", tmp_path / "data")
        assert len(json.loads(ident)["public_key"]) == 66


@pytest.mark.packaging
def test_one_layer_installs_with_its_lower_layers_from_a_checkout(tmp_path):
    """The documented way: name the lower layers' directories too."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", ROOT / "distributions" / "peernet-proto",
        ROOT / "distributions" / "peernet-chain")
    assert run(python, "-c", "import peernet_chain; print(peernet_chain.__version__)", cwd=tmp_path).strip() == "0.1.0"


def test_versions_agree():
    for package, name in LAYERS.items():
        text = (ROOT / "distributions" / name / "pyproject.toml").read_text()
        assert 'version = "0.1.0"' in text
        assert __import__(package).__version__ == "0.1.0"
    assert "## 0.1.0" in (ROOT / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("name", list(LAYERS.values()))
def test_distribution_copies_match_the_originals(name):
    """Each distribution holds a copy of the license and the build hook (an sdist cannot reach
    files outside its directory); the copies must not drift."""
    directory = ROOT / "distributions" / name
    assert (directory / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (directory / "hatch_build.py").read_text() == (ROOT / "scripts" / "hatch_build.py").read_text()
    assert (directory / "README.md").exists()


@pytest.mark.parametrize("package", sorted(ALLOWED_IMPORTS))
def test_lower_layers_import_no_higher_layer(package):
    """Scans import statements: proto imports no other layer; dht, chain and nat only proto."""
    forbidden = set(LAYERS) - ALLOWED_IMPORTS[package] - {package}
    offenders = []
    for path in (ROOT / "src" / package).rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                top = words[1].split(".")[0]
                if top in forbidden:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_every_layer_is_typed_and_declares_its_api(package):
    assert (ROOT / "src" / package / "py.typed").exists()
    module = __import__(package)
    assert isinstance(module.__all__, list)
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names missing {name}"
    assert (ROOT / "distributions" / LAYERS[package] / "pyproject.toml").exists()
