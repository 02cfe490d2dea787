"""Find the default gateway from the kernel's routing table (Linux ``/proc/net/route``)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

__all__ = ["default_gateway", "parse_proc_net_route"]

_RTF_GATEWAY = 0x2
_MAX_ROUTE_TABLE = 1 << 20


def parse_proc_net_route(text: str) -> ipaddress.IPv4Address | None:
    """The gateway of the first default route in ``/proc/net/route`` text, or None."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[1] != "00000000":
            continue
        try:
            flags = int(fields[3], 16)
            gateway = struct.pack("<I", int(fields[2], 16))
        except (ValueError, struct.error):
            continue
        if flags & _RTF_GATEWAY:
            return ipaddress.IPv4Address(gateway)
    return None


def default_gateway(route_file: Path = Path("/proc/net/route")) -> ipaddress.IPv4Address | None:
    """The IPv4 default gateway from the kernel routing table; None when there is none or it cannot be read."""
    try:
        with route_file.open() as stream:
            return parse_proc_net_route(stream.read(_MAX_ROUTE_TABLE))
    except OSError:
        return None
