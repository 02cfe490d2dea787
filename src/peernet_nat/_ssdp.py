"""SSDP (UPnP discovery) M-SEARCH requests and responses, sans-IO."""

from __future__ import annotations

import attrs

from ._errors import HttpError
from ._http import parse_http_head, split_http_url

__all__ = [
    "IGD_SEARCH_TARGETS",
    "MAX_SSDP_RESPONSE",
    "SSDP_GROUP_V4",
    "SSDP_GROUP_V6",
    "SSDP_PORT",
    "SsdpResponse",
    "decode_ssdp_response",
    "encode_msearch",
]

SSDP_PORT = 1900
SSDP_GROUP_V4 = "239.255.255.250"
SSDP_GROUP_V6 = "ff02::c"
MAX_SSDP_RESPONSE = 2048
IGD_SEARCH_TARGETS = (
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
)


@attrs.frozen
class SsdpResponse:
    """An SSDP search answer: where the device description is, and what was found."""
    location: str
    search_target: str
    usn: str
    server: str


def encode_msearch(search_target: str, *, ipv6: bool = False, mx: int = 1) -> bytes:
    """An SSDP M-SEARCH datagram for ``search_target`` to the IPv4 or IPv6 group.

    ``mx`` is the longest delay, in seconds, before devices answer (UPnP allows 1..5).
    """
    host = f"[{SSDP_GROUP_V6.upper()}]" if ipv6 else SSDP_GROUP_V4
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {host}:{SSDP_PORT}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {mx}\r\n"
        f"ST: {search_target}\r\n\r\n"
    ).encode("ascii")


def decode_ssdp_response(data: bytes) -> SsdpResponse:
    """Decode a unicast answer to M-SEARCH; it must be ``200`` and carry an http LOCATION."""
    if len(data) > MAX_SSDP_RESPONSE:
        raise HttpError(f"SSDP response of {len(data)} bytes exceeds {MAX_SSDP_RESPONSE}")
    _, status, _, headers, _ = parse_http_head(data)
    if status != 200:
        raise HttpError(f"SSDP response with status {status}")
    location = headers.get("location", "")
    split_http_url(location)  # raises HttpError unless a plain http URL
    return SsdpResponse(location, headers.get("st", ""), headers.get("usn", ""), headers.get("server", ""))
