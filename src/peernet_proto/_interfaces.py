"""The machine's current IP addresses, from the standard library only.

Linux: one rtnetlink ``RTM_GETADDR`` dump (every address, secondary ones included, with its
interface, prefix length and IPv4 broadcast). Elsewhere: the addresses ``getaddrinfo`` gives for
the host name, without interface details.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct

import attrs

__all__ = ["InterfaceAddress", "list_interface_addresses"]

logger = logging.getLogger(__name__)

_NETLINK_ROUTE = 0
_RTM_NEWADDR = 20
_RTM_GETADDR = 22
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_IFA_BROADCAST = 4
_IFA_F_TENTATIVE_OR_DADFAILED = 0x40 | 0x08
_NLMSG_HEADER = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


@attrs.frozen
class InterfaceAddress:
    """One IP address of a network interface (``interface`` is "" and ``index`` 0 if unknown).

    IPv6 link-local addresses carry their zone: ``fe80::1%eth0``."""

    address: str
    interface: str
    index: int
    prefix_length: int
    broadcast: str | None = None

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.address

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.address.split("%")[0]).is_loopback

    @property
    def is_link_local(self) -> bool:
        return ipaddress.ip_address(self.address.split("%")[0]).is_link_local


def _align(length: int) -> int:
    return (length + 3) & ~3


def _parse_new_address(body: bytes) -> InterfaceAddress | None:
    family, prefix_length, flags, _scope, index = _IFADDRMSG.unpack_from(body)
    if family not in (socket.AF_INET, socket.AF_INET6) or flags & _IFA_F_TENTATIVE_OR_DADFAILED:
        return None
    attributes: dict[int, bytes] = {}
    offset = _IFADDRMSG.size
    while offset + _RTATTR.size <= len(body):
        length, kind = _RTATTR.unpack_from(body, offset)
        if length < _RTATTR.size:
            break
        attributes[kind] = body[offset + _RTATTR.size : offset + length]
        offset += _align(length)
    raw = attributes.get(_IFA_LOCAL) or attributes.get(_IFA_ADDRESS)
    if raw is None:
        return None
    try:
        interface = socket.if_indextoname(index)
    except OSError:
        interface = ""
    address = socket.inet_ntop(family, raw)
    if family == socket.AF_INET6 and ipaddress.IPv6Address(address).is_link_local and interface:
        address = f"{address}%{interface}"
    broadcast_raw = attributes.get(_IFA_BROADCAST)
    broadcast = socket.inet_ntop(family, broadcast_raw) if broadcast_raw else None
    return InterfaceAddress(address, interface, index, prefix_length, broadcast)


def _netlink_addresses() -> list[InterfaceAddress]:
    request = _NLMSG_HEADER.pack(
        _NLMSG_HEADER.size + _IFADDRMSG.size, _RTM_GETADDR, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0
    ) + _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    found: list[InterfaceAddress] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_ROUTE) as sock:
        sock.settimeout(2.0)
        sock.sendto(request, (0, 0))
        while True:
            chunk = sock.recv(65536)
            offset = 0
            while offset + _NLMSG_HEADER.size <= len(chunk):
                length, kind, _flags, _sequence, _pid = _NLMSG_HEADER.unpack_from(chunk, offset)
                if length < _NLMSG_HEADER.size:
                    return found
                if kind == _NLMSG_DONE:
                    return found
                if kind == _NLMSG_ERROR:
                    raise OSError("rtnetlink refused the address dump")
                if kind == _RTM_NEWADDR:
                    parsed = _parse_new_address(chunk[offset + _NLMSG_HEADER.size : offset + length])
                    if parsed is not None:
                        found.append(parsed)
                offset += _align(length)


def _resolver_addresses() -> list[InterfaceAddress]:
    found: dict[str, InterfaceAddress] = {}
    for name in (socket.gethostname(), "localhost"):
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
        except OSError:
            continue
        for family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0])
            prefix = 32 if family == socket.AF_INET else 128
            found.setdefault(address, InterfaceAddress(address, "", 0, prefix))
    return list(found.values())


def list_interface_addresses() -> list[InterfaceAddress]:
    """Every IP address of this machine now, loopback included, in the kernel's order."""
    if hasattr(socket, "AF_NETLINK"):
        try:
            return _netlink_addresses()
        except OSError as error:
            logger.warning("cannot list addresses through rtnetlink (%s); using the resolver", error)
    return _resolver_addresses()
