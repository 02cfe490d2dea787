"""Peers and their connections (spec wire.md §9).

A connection is a (remote endpoint, local endpoint) pair. Two connections are the same if the
remote IP and the local endpoint match: a NAT may change the source port, which then updates it.
"""

from __future__ import annotations

import enum
import functools
import ipaddress

import attrs

from ._keys import PublicKey
from ._transport import Endpoint

__all__ = ["Connection", "ConnectionStatus", "Peer", "is_ipv4", "is_link_local", "is_local_address"]


class ConnectionStatus(enum.Enum):
    ACTIVE = "active"
    REDUNDANT = "redundant"
    INACTIVE = "inactive"


@attrs.define(slots=True, eq=False)
class Connection:
    remote: Endpoint
    local: Endpoint
    status: ConnectionStatus
    last_received: float
    last_keepalive: float = 0.0
    inactive_since: float = 0.0
    port_internal: int = 0  # self-reported by the peer; 0 until an Announcement/Response arrives
    port_external: int = 0
    firewall: bool = False
    rtt: float | None = None

    @property
    def behind_nat(self) -> bool:
        """The peer reported a listening port other than the source port we see."""
        return self.port_internal != 0 and self.port_internal != self.remote[1]

    def same_path(self, remote: Endpoint, local: Endpoint) -> bool:
        return self.remote[0] == remote[0] and self.local == local


@attrs.define(slots=True, eq=False)
class Peer:
    public_key: PublicKey
    first_seen: float
    counter: int  # the next request sequence is counter + 1
    connections: list[Connection] = attrs.Factory(list)
    latest: Connection | None = None
    user_agent: str = ""
    features: int = 0
    blockchain_height: int = 0
    blockchain_version: int = 0
    blockchain_info_at: float = 0.0
    source_ip: str = ""  # the IP that introduced this identity, for per-address limits

    @property
    def node_id(self) -> bytes:
        return self.public_key.node_id

    def active_connections(self) -> list[Connection]:
        return [c for c in self.connections if c.status is not ConnectionStatus.INACTIVE]

    def next_sequence(self) -> int:
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        return self.counter

    def connection_for(self, remote: Endpoint, local: Endpoint) -> Connection | None:
        for connection in self.connections:
            if connection.same_path(remote, local):
                return connection
        return None

    def make_latest(self, connection: Connection) -> None:
        for other in self.connections:
            if other is not connection and other.status is ConnectionStatus.ACTIVE:
                other.status = ConnectionStatus.REDUNDANT
        connection.status = ConnectionStatus.ACTIVE
        self.latest = connection

    def remove_connection(self, connection: Connection) -> None:
        self.connections.remove(connection)
        if self.latest is connection:
            self._choose_latest()

    def invalidate(self, connection: Connection, now: float) -> None:
        connection.status = ConnectionStatus.INACTIVE
        connection.inactive_since = now
        if self.latest is connection:
            self._choose_latest()

    def _choose_latest(self) -> None:
        active = self.active_connections()
        self.latest = None
        if active:
            self.make_latest(active[-1])


def is_ipv4(host: str) -> bool:
    return ":" not in host or host.startswith("::ffff:")


def is_link_local(host: str) -> bool:
    """IPv6 fe80:: or IPv4 169.254.x.x: never mixed with other addresses, never shared in records."""
    return host.startswith("fe80") or host.startswith("169.254.")


@functools.lru_cache(maxsize=1 << 16)
def is_local_address(host: str) -> bool:
    """Private LAN addresses as the reference counts them: 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOCAL_V4[0] or address in _LOCAL_V4[1] or address in _LOCAL_V4[2]
    return address in _LOCAL_V6[0] or address in _LOCAL_V6[1]


_LOCAL_V4 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
_LOCAL_V6 = (ipaddress.IPv6Network("fc00::/7"), ipaddress.IPv6Network("fe80::/10"))
