"""Each layer is its own distribution: the wire layer installs alone, without the higher layers' needs."""

import subprocess
import venv
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


@pytest.mark.packaging
def test_proto_installs_alone_in_a_fresh_venv(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT / "distributions" / "peernet-proto")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr + install.stdout:
        pytest.skip(f"package index unreachable: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util, peernet_proto as p;"
            "sk = p.PrivateKey.generate();"
            "raw = p.encode_packet(p.Packet(0, 2, 1, b''), sender=sk, receiver=sk.public_key);"
            "print(p.decode_packet(raw, receiver=sk.public_key)[1] == sk.public_key,"
            " [m for m in ('lmdb', 'msgpack', 'peernet_chain', 'peernet_dht') if importlib.util.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "True []"


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
