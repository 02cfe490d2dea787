"""peernet: a Peernet node composed of the wire, DHT, blockchain and NAT layers."""

from ._config import NodeConfig, default_data_dir, load_config
from ._errors import AlreadyRunningError, ConfigError, NodeError
from ._indexing import index_entry
from ._node import Node
from ._reachability import REANNOUNCE, ReachabilityMonitor

__version__ = "0.1.0"

__all__ = [
    "REANNOUNCE",
    "AlreadyRunningError",
    "ConfigError",
    "Node",
    "NodeConfig",
    "NodeError",
    "ReachabilityMonitor",
    "__version__",
    "default_data_dir",
    "index_entry",
    "load_config",
]
