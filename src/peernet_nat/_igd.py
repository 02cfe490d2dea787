"""UPnP Internet Gateway Device descriptions: find the WAN connection and IPv6 firewall
services, sans-IO."""

from __future__ import annotations

import urllib.parse

import attrs

from ._errors import HttpError
from ._http import split_http_url
from ._xml import children_text, find_all, parse_xml

__all__ = ["IgdDescription", "UpnpService", "decode_igd_description"]

# Preferred first: IGD v2 before v1, IP before PPP.
CONNECTION_SERVICES = (
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
)
FIREWALL6_SERVICE = "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"


@attrs.frozen
class UpnpService:
    """A UPnP service of a gateway: its type URN and its control URL."""
    service_type: str
    control_url: str

    @property
    def version(self) -> int:
        tail = self.service_type.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 1


@attrs.frozen
class IgdDescription:
    """The services of an Internet Gateway Device this library uses: a WAN connection and the IPv6 firewall control."""
    connection: UpnpService | None
    firewall6: UpnpService | None


def decode_igd_description(data: bytes, location: str) -> IgdDescription:
    """Parse a device description fetched from ``location``. Control URLs are resolved against
    URLBase or the location and must point to the same host as the location."""
    root = parse_xml(data)
    base = location
    for element in find_all(root, "URLBase"):
        if element.text and element.text.strip():
            base = element.text.strip()
    location_host = split_http_url(location)[0]
    services: dict[str, UpnpService] = {}
    for element in find_all(root, "service"):
        fields = children_text(element)
        service_type, control = fields.get("serviceType", ""), fields.get("controlURL", "")
        if not service_type or not control or service_type in services:
            continue
        try:
            url = urllib.parse.urljoin(base, control)
            host = split_http_url(url)[0]
        except (HttpError, ValueError):
            continue
        if host != location_host:
            continue  # a device may only send us to itself
        services[service_type] = UpnpService(service_type, url)
    connection = next((services[t] for t in CONNECTION_SERVICES if t in services), None)
    return IgdDescription(connection, services.get(FIREWALL6_SERVICE))
