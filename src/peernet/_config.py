"""Node configuration: a JSON file in the data directory, overridden by command-line options."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from peernet_proto import PrivateKey, PublicKey, RootPeer

__all__ = ["NodeConfig", "default_data_dir", "format_endpoint", "load_config", "parse_endpoint", "parse_root"]

CONFIG_FILE = "config.json"
KEY_FILE = "private.key"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "peernet"


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, _, port = text.rpartition(":")
    if not host:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def format_endpoint(endpoint: tuple[str, int]) -> str:
    """The inverse of :func:`parse_endpoint`: ``HOST:PORT``, IPv6 in brackets."""
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_root(text: str) -> RootPeer:
    """``PUBKEYHEX@HOST:PORT[,HOST:PORT...]``."""
    key, _, addresses = text.partition("@")
    if not addresses:
        raise ValueError(f"expected PUBKEYHEX@HOST:PORT, got {text!r}")
    return RootPeer(PublicKey.from_hex(key), tuple(parse_endpoint(a) for a in addresses.split(",")))


@attrs.frozen
class NodeConfig:
    data_dir: Path
    listen: tuple[tuple[str, int], ...] = (("127.0.0.1", 112),)
    root_peers: tuple[RootPeer, ...] = ()
    user_agent: str = "peernet-py/0.1"
    api_listen: tuple[str, int] = ("127.0.0.1", 0)
    local_discovery: bool = False
    map_ports: bool = False  # ask the gateway for UPnP / NAT-PMP / PCP mappings

    def to_json(self) -> dict[str, Any]:
        return {
            "listen": [format_endpoint(e) for e in self.listen],
            "root_peers": [
                f"{r.public_key.hex()}@" + ",".join(format_endpoint(e) for e in r.endpoints)
                for r in self.root_peers
            ],
            "user_agent": self.user_agent,
            "local_discovery": self.local_discovery,
            "map_ports": self.map_ports,
        }


def load_config(data_dir: Path, overrides: dict[str, Any]) -> tuple[NodeConfig, PrivateKey]:
    """Read (or create) the data directory: config file and private key; apply overrides."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path = data_dir / KEY_FILE
    if key_path.exists():
        key = PrivateKey.load(key_path)
    else:
        key = PrivateKey.generate()
        key.save(key_path)
    config_path = data_dir / CONFIG_FILE
    stored: dict[str, Any] = json.loads(config_path.read_text()) if config_path.exists() else {}
    if not config_path.exists():
        config_path.write_text(json.dumps(NodeConfig(data_dir).to_json(), indent=2) + "\n")
    merged = {**stored, **{k: v for k, v in overrides.items() if v not in (None, [], ())}}
    config = NodeConfig(
        data_dir=data_dir,
        listen=tuple(parse_endpoint(e) for e in merged.get("listen", ["127.0.0.1:112"])),
        root_peers=tuple(parse_root(r) for r in merged.get("root_peers", [])),
        user_agent=merged.get("user_agent", "peernet-py/0.1"),
        local_discovery=bool(merged.get("local_discovery", False)),
        map_ports=bool(merged.get("map_ports", False)),
    )
    return config, key
