"""peernet: a Peernet node composed of the wire, DHT, blockchain and NAT layers."""

from ._config import NodeConfig, default_data_dir, load_config
from ._node import Node

__all__ = ["Node", "NodeConfig", "default_data_dir", "load_config"]
