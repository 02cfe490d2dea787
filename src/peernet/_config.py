"""Node configuration: ``config.json`` in the data directory, overridden by command-line options.

One typed schema (:class:`ConfigFile`, structured by cattrs) checks both: booleans must be JSON
``true``/``false``, ports 0..65535, unknown keys are refused, and every error names the file and
key (or the option) it comes from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NewType, cast

import attrs
import cattrs
import platformdirs
from cattrs.v import format_exception

from peernet_proto import PrivateKey, PublicKey, RootPeer, format_endpoint

from ._atomic import atomic_write, atomic_write_json
from ._errors import ConfigError, NodeError

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_LISTEN",
    "DEFAULT_USER_AGENT",
    "KEY_FILE",
    "ConfigFile",
    "Endpoint",
    "NodeConfig",
    "default_data_dir",
    "format_endpoint",
    "format_root",
    "load_config",
    "load_key",
    "parse_endpoint",
    "parse_option",
    "parse_root",
]

CONFIG_FILE = "config.json"
KEY_FILE = "private.key"
DEFAULT_USER_AGENT = "peernet-py/0.1"

Endpoint = NewType("Endpoint", tuple[str, int])
DEFAULT_LISTEN = (Endpoint(("127.0.0.1", 112)),)


def default_data_dir() -> Path:
    """The platform's per-user data directory (``~/.local/share/peernet`` on Linux)."""
    return platformdirs.user_data_path("peernet", appauthor=False)


def parse_endpoint(text: str) -> Endpoint:
    """``HOST:PORT`` or ``[IPv6]:PORT``, port 0..65535; raises :class:`ConfigError`."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535 or any(c in host for c in " []@,"):
        raise ConfigError(f"expected HOST:PORT (port 0..65535, IPv6 in brackets), got {text!r}")
    return Endpoint((host, int(port)))


def parse_root(text: str) -> RootPeer:
    """``PUBKEYHEX@HOST:PORT[,HOST:PORT...]``; raises :class:`ConfigError`."""
    key, _, addresses = text.partition("@")
    if not addresses:
        raise ConfigError(f"expected PUBKEYHEX@HOST:PORT, got {text!r} (the root's address is missing)")
    try:
        public_key = PublicKey.from_hex(key)
    except ValueError as error:  # InvalidKeyError is a ValueError too
        raise ConfigError(f"{key[:80]!r} is not a public key (66 hex characters): {error}") from error
    return RootPeer(public_key, tuple(parse_endpoint(a) for a in addresses.split(",")))


def format_root(root: RootPeer) -> str:
    """The inverse of :func:`parse_root`."""
    return f"{root.public_key.hex()}@" + ",".join(format_endpoint(e) for e in root.endpoints)


@attrs.frozen
class ConfigFile:
    """The keys of ``config.json``; each optional, with these defaults."""

    listen: tuple[Endpoint, ...] = DEFAULT_LISTEN
    root_peers: tuple[RootPeer, ...] = ()
    user_agent: str = DEFAULT_USER_AGENT
    local_discovery: bool = False
    map_ports: bool = False  # ask the gateway for UPnP / NAT-PMP / PCP mappings


attrs.resolve_types(ConfigFile)


def _strict(kind: type[Any], name: str) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise ConfigError(f"expected {name}, got {json.dumps(value)}")
        return value

    return structure


def _text(parse: Any) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {json.dumps(value)}")
        return parse(value)

    return structure


def _sequence(value: Any, kind: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"expected a list, got {json.dumps(value)}")
    return tuple(_converter.structure(item, kind.__args__[0]) for item in value)


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(bool, _strict(bool, "true or false"))
_converter.register_structure_hook(str, _strict(str, "a string"))
_converter.register_structure_hook(Endpoint, _text(parse_endpoint))
_converter.register_structure_hook(RootPeer, _text(parse_root))
_converter.register_structure_hook_func(
    lambda kind: getattr(kind, "__origin__", None) is tuple and kind.__args__[-1] is Ellipsis, _sequence
)


def _message(error: BaseException, kind: Any) -> str:
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        known = ", ".join(f.name for f in attrs.fields(ConfigFile))
        return f"unknown key {', '.join(sorted(error.extra_fields))} (known: {known})"
    return format_exception(error, kind)


def _key_first(line: str) -> str:
    """``message @ $.key`` (cattrs) as ``key: message``."""
    message, _, where = line.rpartition(" @ $")
    return f"{where.lstrip('.')}: {message}" if where.lstrip(".") else message or line


def _describe(error: Exception) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        lines = cattrs.transform_error(error, path="$", format_exception=_message)
        return "; ".join(_key_first(line) for line in lines)
    return str(error)


def parse_file(data: Any, path: Path) -> ConfigFile:
    """Check the decoded JSON of ``path`` against the schema; raises :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of settings, got {type(data).__name__}")
    try:
        return _converter.structure(data, ConfigFile)
    except (cattrs.BaseValidationError, ConfigError) as error:
        raise ConfigError(f"{path}: {_describe(error)}") from error


def parse_option(option: str, field: str, value: Any) -> Any:
    """A command-line value for ``field``, checked by the same hooks as the file."""
    kind = attrs.fields_dict(ConfigFile)[field].type
    try:
        return _converter.structure(value, cast(Any, kind))
    except (cattrs.BaseValidationError, ConfigError) as error:
        raise ConfigError(f"{option}: {_describe(error)}") from error


@attrs.frozen
class NodeConfig:
    """The configuration a node runs with: the file's values, then the command line's."""

    data_dir: Path
    listen: tuple[tuple[str, int], ...] = DEFAULT_LISTEN
    root_peers: tuple[RootPeer, ...] = ()
    user_agent: str = DEFAULT_USER_AGENT
    api_listen: tuple[str, int] = ("127.0.0.1", 0)
    local_discovery: bool = False
    map_ports: bool = False  # ask the gateway for UPnP / NAT-PMP / PCP mappings
    listen_is_default: bool = True  # neither file nor command line named a listen address

    def to_json(self) -> dict[str, Any]:
        """The ``config.json`` form."""
        return {
            "listen": [format_endpoint(e) for e in self.listen],
            "root_peers": [format_root(r) for r in self.root_peers],
            "user_agent": self.user_agent,
            "local_discovery": self.local_discovery,
            "map_ports": self.map_ports,
        }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        detail = "empty file" if not error.doc.strip() else f"{error.msg} at line {error.lineno}"
        raise ConfigError(f"{path}: not valid JSON ({detail})") from error


def load_key(data_dir: Path, *, create: bool = True) -> PrivateKey:
    """The node's key from ``private.key``; a new one is written (atomically) when missing."""
    key_path = data_dir / KEY_FILE
    try:
        return PrivateKey.load(key_path)
    except FileNotFoundError:
        if not create:
            raise NodeError(f"{key_path}: no key yet (run `peernet run` or `peernet id` once)") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise NodeError(f"{key_path}: not a private key (64 hex characters); fix or remove it: {error}") from error
    key = PrivateKey.generate()
    atomic_write(key_path, (key.to_bytes().hex() + "\n").encode("ascii"), mode=0o600)
    return key


def _prepare(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise NodeError(f"data directory {data_dir} is not a directory")
    data_dir.mkdir(parents=True, exist_ok=True)


def load_config(data_dir: Path, overrides: Mapping[str, Any] | None = None) -> tuple[NodeConfig, PrivateKey]:
    """Read (or create) the data directory's key and config file; apply ``overrides`` (already
    checked by :func:`parse_option`; None means not given). Raises :class:`NodeError`."""
    _prepare(data_dir)
    key = load_key(data_dir)
    config_path = data_dir / CONFIG_FILE
    if config_path.exists():
        stored = parse_file(_read_json(config_path), config_path)
    else:
        stored = ConfigFile()
        atomic_write_json(config_path, NodeConfig(data_dir).to_json(), mode=0o644)
    values = attrs.asdict(stored, recurse=False)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    # The default address (also as written to a new config.json) may fall back to a free port.
    listen_is_default = tuple(values["listen"]) == DEFAULT_LISTEN and (overrides or {}).get("listen") is None
    return NodeConfig(data_dir=data_dir, listen_is_default=listen_is_default, **values), key
