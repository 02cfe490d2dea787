"""Types shared by the port-mapping protocols."""

from __future__ import annotations

import enum
import ipaddress

import attrs

__all__ = ["IPAddress", "MappingMethod", "PortMapping", "TransportProtocol", "is_public_address"]

#: An IPv4 or IPv6 address.
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TransportProtocol(enum.IntEnum):
    """IANA protocol numbers, as PCP carries them."""

    TCP = 6
    UDP = 17


class MappingMethod(enum.Enum):
    """The protocol a port mapping was made with."""
    UPNP = "upnp"
    NATPMP = "natpmp"
    PCP = "pcp"


@attrs.frozen
class PortMapping:
    """A mapping the gateway granted: ``external_ip:external_port`` forwards to the internal
    endpoint. ``lifetime`` is in seconds (0 means permanent, UPnP only); ``obtained_at`` is the
    caller's clock when the reply arrived."""

    method: MappingMethod
    protocol: TransportProtocol
    internal_ip: IPAddress
    internal_port: int
    external_ip: IPAddress | None
    external_port: int
    lifetime: int
    obtained_at: float

    @property
    def renew_at(self) -> float:
        """Renew at half the lifetime (RFC 6886 §3.3); permanent leases are never renewed."""
        if self.lifetime == 0:
            return float("inf")
        return self.obtained_at + self.lifetime / 2

    @property
    def expires_at(self) -> float:
        return float("inf") if self.lifetime == 0 else self.obtained_at + self.lifetime


def is_public_address(address: IPAddress) -> bool:
    """False for private, CGNAT (100.64/10), loopback, link-local and other special ranges."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return address.is_global


_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
