"""UPnP IGD client: SSDP discovery, device description, WAN connection control and IPv6
pinholes. A thin trio shell over :mod:`._ssdp`, :mod:`._igd`, :mod:`._soap`, :mod:`._http`."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence

import attrs
import trio

from peernet_proto import DecodeError

from ._errors import MappingRefusedError, UnsafeXmlError
from ._http import http_request, split_http_url
from ._igd import IgdDescription, UpnpService, decode_igd_description
from ._soap import SoapFault, decode_soap_response, encode_soap_request
from ._ssdp import (
    IGD_SEARCH_TARGETS,
    MAX_SSDP_RESPONSE,
    SSDP_GROUP_V4,
    SSDP_GROUP_V6,
    SSDP_PORT,
    decode_ssdp_response,
    encode_msearch,
)
from ._types import IPAddress, MappingMethod, PortMapping, TransportProtocol
from ._udp import local_address_towards

__all__ = ["UpnpClient", "UpnpMappingEntry", "discover_upnp", "search_igd_locations"]

logger = logging.getLogger(__name__)

NO_SUCH_ENTRY = 713  # SpecifiedArrayIndexInvalid: the end of GetGenericPortMappingEntry
MAX_LISTED_MAPPINGS = 256
DESCRIPTION = "peernet"


@attrs.frozen
class UpnpMappingEntry:
    """One port mapping as a UPnP gateway lists it; ``lease_duration`` in seconds, 0 for a permanent mapping."""
    protocol: str
    external_port: int
    internal_client: str
    internal_port: int
    description: str
    lease_duration: int


class UpnpClient:
    """Controls one IGD's WAN connection service (and its IPv6 firewall, if offered)."""

    method = MappingMethod.UPNP

    def __init__(
        self, location: str, description: IgdDescription, *, timeout: float = 3.0
    ) -> None:
        if description.connection is None:
            raise ValueError("IGD without a WAN connection service")
        self.location = location
        self.connection: UpnpService = description.connection
        self.firewall6 = description.firewall6
        self.gateway = ipaddress.ip_address(split_http_url(location)[0])
        self._timeout = timeout

    def take_restart(self) -> bool:
        return False  # UPnP has no epoch; renewals re-add lost mappings anyway

    async def call(
        self, service: UpnpService, action: str, arguments: Sequence[tuple[str, str]] = ()
    ) -> dict[str, str]:
        headers, body = encode_soap_request(service.service_type, action, arguments)
        response = await http_request(
            "POST", service.control_url, headers=headers, body=body, timeout=self._timeout
        )
        result = decode_soap_response(response.body, action)
        if isinstance(result, SoapFault):
            raise MappingRefusedError(f"UPnP {action}", result.code, result.description)
        if response.status != 200:
            raise UnsafeXmlError(f"UPnP {action} answered HTTP {response.status} without a fault")
        return result

    async def external_address(self) -> IPAddress:
        reply = await self.call(self.connection, "GetExternalIPAddress")
        try:
            return ipaddress.ip_address(reply.get("NewExternalIPAddress", ""))
        except ValueError:
            raise UnsafeXmlError("GetExternalIPAddress without a valid address") from None

    async def map(
        self, protocol: TransportProtocol, internal_port: int, external_port: int, lifetime: int
    ) -> PortMapping:
        internal_ip = await local_address_towards(self.gateway)
        external_ip = await self.external_address()
        await self.call(self.connection, "AddPortMapping", [
            ("NewRemoteHost", ""),
            ("NewExternalPort", str(external_port)),
            ("NewProtocol", protocol.name),
            ("NewInternalPort", str(internal_port)),
            ("NewInternalClient", str(internal_ip)),
            ("NewEnabled", "1"),
            ("NewPortMappingDescription", DESCRIPTION),
            ("NewLeaseDuration", str(lifetime)),
        ])
        return PortMapping(
            method=self.method, protocol=protocol, internal_ip=internal_ip,
            internal_port=internal_port, external_ip=external_ip, external_port=external_port,
            lifetime=lifetime, obtained_at=trio.current_time(),
        )

    async def unmap(self, mapping: PortMapping) -> None:
        await self.call(self.connection, "DeletePortMapping", [
            ("NewRemoteHost", ""),
            ("NewExternalPort", str(mapping.external_port)),
            ("NewProtocol", mapping.protocol.name),
        ])

    async def list_mappings(self, limit: int = MAX_LISTED_MAPPINGS) -> list[UpnpMappingEntry]:
        entries = []
        for index in range(limit):
            try:
                reply = await self.call(
                    self.connection, "GetGenericPortMappingEntry", [("NewPortMappingIndex", str(index))]
                )
            except MappingRefusedError as exc:
                if exc.code in (NO_SUCH_ENTRY, 714):
                    break
                raise
            try:
                entries.append(UpnpMappingEntry(
                    reply.get("NewProtocol", ""), int(reply.get("NewExternalPort", "")),
                    reply.get("NewInternalClient", ""), int(reply.get("NewInternalPort", "")),
                    reply.get("NewPortMappingDescription", ""), int(reply.get("NewLeaseDuration", "0") or 0),
                ))
            except ValueError:
                raise UnsafeXmlError("GetGenericPortMappingEntry with a bad number") from None
        return entries

    async def add_pinhole(
        self, protocol: TransportProtocol, internal_ip: ipaddress.IPv6Address, internal_port: int,
        lease_time: int,
    ) -> int:
        """Open an IPv6 pinhole (WANIPv6FirewallControl); returns its UniqueID."""
        if self.firewall6 is None:
            raise MappingRefusedError("UPnP AddPinhole", 602, "no IPv6 firewall control service")
        reply = await self.call(self.firewall6, "AddPinhole", [
            ("RemoteHost", ""), ("RemotePort", "0"), ("InternalClient", str(internal_ip)),
            ("InternalPort", str(internal_port)), ("Protocol", str(int(protocol))),
            ("LeaseTime", str(lease_time)),
        ])
        unique_id = reply.get("UniqueID", "")
        if not unique_id.isdigit():
            raise UnsafeXmlError("AddPinhole without a UniqueID")
        return int(unique_id)

    async def delete_pinhole(self, unique_id: int) -> None:
        if self.firewall6 is None:
            return
        await self.call(self.firewall6, "DeletePinhole", [("UniqueID", str(unique_id))])


async def search_igd_locations(
    *, search_time: float = 1.0, ipv6: bool = False, interface: str | None = None,
    max_locations: int = 8,
) -> list[str]:
    """M-SEARCH for IGDs (v1 and v2) and collect the distinct LOCATION URLs, in arrival order."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    locations: list[str] = []
    with trio.socket.socket(family, socket.SOCK_DGRAM) as sock:
        if ipv6:
            index = socket.if_nametoindex(interface) if interface else 0
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            destination: tuple[object, ...] = (SSDP_GROUP_V6, SSDP_PORT, 0, index)
            await sock.bind(("::", 0))
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
            destination = (SSDP_GROUP_V4, SSDP_PORT)
            await sock.bind(("0.0.0.0", 0))
        with trio.move_on_after(search_time):
            for target in IGD_SEARCH_TARGETS:
                await sock.sendto(encode_msearch(target, ipv6=ipv6), destination)
            while True:
                data = await sock.recv(MAX_SSDP_RESPONSE + 1)
                try:
                    response = decode_ssdp_response(data)
                except DecodeError as exc:
                    logger.debug("ignoring SSDP reply: %s", exc)
                    continue
                if response.location not in locations:
                    locations.append(response.location)
                    if len(locations) >= max_locations:
                        break
    return locations


async def discover_upnp(
    *, search_time: float = 1.0, ipv6: bool = False, interface: str | None = None,
    timeout: float = 3.0,
) -> UpnpClient | None:
    """The first IGD found that offers a WAN connection service, or None."""
    locations = await search_igd_locations(
        search_time=search_time, ipv6=ipv6, interface=interface, max_locations=1
    )
    for location in locations:
        try:
            response = await http_request("GET", location, timeout=timeout)
            if response.status != 200:
                continue
            description = decode_igd_description(response.body, location)
        except (DecodeError, OSError) as exc:
            logger.info("IGD at %s unusable: %s", location, exc)
            continue
        if description.connection is not None:
            return UpnpClient(location, description, timeout=timeout)
    return None
