"""The narrow interface between the peer engine and the network it runs on.

A transport owns one or more datagram sockets ("local endpoints"). The engine never touches sockets:
a driver reads datagrams from a transport, feeds them to the engine, and sends what the engine
returns. Implementations: :class:`peernet_proto.UdpTransport` (trio UDP) and
:class:`peernet_proto.testing.MemoryNetwork` (in-memory, for tests and simulations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["Datagram", "DatagramTransport", "Endpoint", "format_endpoint"]

#: An IP address (text form, IPv4 or IPv6 without brackets) and a UDP port.
Endpoint = tuple[str, int]


def format_endpoint(endpoint: tuple[str, int]) -> str:
    """``HOST:PORT`` for display and configuration, an IPv6 address in brackets: ``[::1]:112``."""
    host, port = endpoint[0], endpoint[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@attrs.frozen
class Datagram:
    """A received datagram: its bytes, where it came from and which local socket received it."""

    data: bytes
    source: Endpoint
    local: Endpoint


@runtime_checkable
class DatagramTransport(Protocol):
    """What the engine's driver needs from a network."""

    def local_endpoints(self) -> Sequence[Endpoint]:
        """The endpoints of the sockets currently open, in a stable order."""
        ...

    async def send(self, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        """Send one datagram from the socket bound to ``local``. Never raises for network errors
        (unreachable, refused); those are logged and the datagram is dropped, as UDP would."""
        ...

    async def receive(self) -> Datagram:
        """Wait for the next datagram on any socket."""
        ...

    async def aclose(self) -> None:
        """Close every socket; pending :meth:`receive` calls raise ``trio.ClosedResourceError``."""
        ...
