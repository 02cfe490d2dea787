"""peernet_proto.testing: networks without sockets, for tests, simulations and benchmarks.

* :class:`MemoryNetwork` — a simulated IP network driven by trio's clock (exact under
  :class:`trio.testing.MockClock`), with :class:`MemoryHost` transports, latency, jitter, loss,
  LAN segments and :class:`MemoryNat` routers of the kinds listed in :data:`NatKind`.
* :class:`Switch` — hands the datagrams of sans-IO :class:`~peernet_proto.PeerEngine` s to each
  other directly, with no clock and no transport.

``NatKind`` is the type of a NAT's behaviour: ``"cone"`` (endpoint-independent filtering),
``"restricted"`` (address-dependent), ``"port-restricted"`` (address- and port-dependent) or
``"symmetric"`` (a new public port per destination).
"""

from ._memory import MemoryHost, MemoryNat, MemoryNetwork, MemoryNetworkStatistics, NatKind
from ._switch import Switch

__all__ = [
    "MemoryHost",
    "MemoryNat",
    "MemoryNetwork",
    "MemoryNetworkStatistics",
    "NatKind",
    "Switch",
]
