"""Scenarios as data: a small TOML or JSON file describing one simulation run.

Example (TOML; the same keys nest the same way in JSON)::

    [network]
    nodes = 10000
    latency = [0.01, 0.15]   # one-way delay range in seconds, drawn once per node
    loss = 0.0               # probability that a datagram is lost

    [churn]
    fraction = 0.1           # nodes that leave without notice before the lookups
    leave = [[0.5, 0.05], [1.0, 0.05]]   # engine model: [seconds after the lookups begin, fraction]
    join = [[0.5, 0.05]]     # engine model: offline (in no table) until then, then bootstrap through a root

    [nat]                    # engine model: fraction of all nodes behind each kind of NAT (the rest: none)
    full_cone = 0.1
    restricted = 0.2         # address and port restricted cone
    symmetric = 0.1

    [workload]
    lookups = 1000
    stores = 100             # engine model, one process: values stored, then fetched by another node
    searches = 100           # likewise: files published, then searched for by another node

    [run]                    # all optional
    seed = 1
    model = "engine"         # or "abstract"
    fill = "direct"          # or "handshake"
    packets = "trusted"      # or "signed"
    workers = 1
    k = 20
    alpha = 3

Unknown sections or keys, wrong types and impossible values raise :class:`ScenarioError` naming
the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from ._sim_report import NAT_KINDS, SimConfig

__all__ = ["Scenario", "ScenarioError", "load_scenario"]

# section -> key -> (SimConfig field, accepted types)
_FIELDS: dict[str, dict[str, tuple[str, tuple[type, ...]]]] = {
    "network": {"nodes": ("nodes", (int,)), "latency": ("latency", (list,)), "loss": ("loss", (int, float))},
    "churn": {"fraction": ("churn", (int, float)), "leave": ("leaves", (list,)), "join": ("joins", (list,))},
    "workload": {"lookups": ("lookups", (int,)), "stores": ("stores", (int,)), "searches": ("searches", (int,))},
    "run": {
        "seed": ("seed", (int,)), "model": ("model", (str,)), "fill": ("fill", (str,)),
        "packets": ("packets", (str,)), "workers": ("workers", (int,)), "k": ("k", (int,)), "alpha": ("alpha", (int,)),
        "fill_per_bucket": ("fill_per_bucket", (int,)), "lookup_timeout": ("lookup_timeout", (int, float)),
        "request_timeout": ("request_timeout", (int, float)), "attempts": ("attempts", (int,)),
    },
}  # fmt: skip


class ScenarioError(ValueError):
    """A scenario file that cannot be read or describes an impossible run (a local error)."""


class Scenario:
    """A loaded scenario: its configuration and the hash of its canonical form."""

    def __init__(self, path: str, config: SimConfig, digest: str) -> None:
        self.path, self.config, self.digest = path, config, digest


def load_scenario(path: str | Path) -> Scenario:
    """Read a ``.toml`` or ``.json`` scenario; raises :class:`ScenarioError` with the reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ScenarioError(f"{path}: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a table of sections")
    values = _fields(path, data)
    for required in ("nodes", "lookups"):
        if required not in values:
            raise ScenarioError(f"{path}: missing {'network.nodes' if required == 'nodes' else 'workload.lookups'}")
    try:
        config = SimConfig(**values)
        config.check()
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return Scenario(str(path), config, hashlib.sha256(canonical).hexdigest()[:16])


def _fields(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for section, content in data.items():
        if section not in _FIELDS and section != "nat":
            raise ScenarioError(f"{path}: unknown section [{section}] (known: {', '.join([*_FIELDS, 'nat'])})")
        if not isinstance(content, dict):
            raise ScenarioError(f"{path}: [{section}] must be a table")
        if section == "nat":
            values["nat"] = _nat(path, content)
            continue
        for key, value in content.items():
            name = f"{section}.{key}"
            if key not in _FIELDS[section]:
                raise ScenarioError(f"{path}: unknown key {name} (known: {', '.join(_FIELDS[section])})")
            field, types = _FIELDS[section][key]
            if isinstance(value, bool) or not isinstance(value, types):
                raise ScenarioError(f"{path}: {name} must be {' or '.join(t.__name__ for t in types)}, not {value!r}")
            if field == "latency":
                value = _latency(path, value if isinstance(value, list) else [])
            elif field in ("leaves", "joins"):
                value = _schedule(path, name, value if isinstance(value, list) else [])
            values[field] = value
    return values


def _latency(path: Path, value: list[Any]) -> tuple[float, float]:
    if len(value) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ScenarioError(f"{path}: network.latency must be [low, high] in seconds, not {value!r}")
    return (float(value[0]), float(value[1]))


def _schedule(path: Path, name: str, value: list[Any]) -> tuple[tuple[float, float], ...]:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if not all(isinstance(item, list) and len(item) == 2 and all(map(number, item)) for item in value):
        raise ScenarioError(f"{path}: {name} must be a list of [seconds, fraction], not {value!r}")
    return tuple((float(at), float(fraction)) for at, fraction in value)


def _nat(path: Path, content: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    for kind, fraction in content.items():
        if kind not in NAT_KINDS:
            raise ScenarioError(f"{path}: unknown NAT kind nat.{kind} (known: {', '.join(NAT_KINDS)})")
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
            raise ScenarioError(f"{path}: nat.{kind} must be a fraction of the nodes in [0, 1], not {fraction!r}")
    return tuple((kind, float(fraction)) for kind, fraction in content.items())
