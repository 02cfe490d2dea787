"""peernet: a Peernet node composed of the wire, DHT, blockchain and NAT layers."""

from ._config import NodeConfig, default_data_dir, load_config
from ._indexing import index_entry
from ._node import Node
from ._reachability import REANNOUNCE, ReachabilityMonitor

__all__ = ["REANNOUNCE", "Node", "NodeConfig", "ReachabilityMonitor", "default_data_dir", "index_entry", "load_config"]
