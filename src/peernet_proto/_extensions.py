"""Extension items carried after the last block of an Announcement or Response (spec wire.md §16).

The reference stops reading after the last block, so these bytes are invisible to it. They are
only sent to peers whose feature bits show they understand them. Layout (little-endian)::

    magic "PNX" | version u8 (1) | count u8 | count × (type u8 | length u16 | value)

Item types: 1 = keyword search payload (peernet_dht), 2 = the requester's address as the answering
peer sees it (like STUN), so a node behind NAT learns its external endpoint.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
import struct
from collections.abc import Mapping

from ._errors import EncodeError, InvalidFieldError, TruncatedError
from ._transport import Endpoint

__all__ = [
    "ExtensionType",
    "decode_extensions",
    "decode_observed_address",
    "encode_extensions",
    "encode_observed_address",
]

MAGIC = b"PNX"
VERSION = 1
MAX_ITEMS = 16
_HEADER = struct.Struct("<3sBB")
_ITEM = struct.Struct("<BH")


class ExtensionType(enum.IntEnum):
    """The item types of the extension container (spec wire.md §16): one byte each."""
    KEYWORD_SEARCH = 1
    OBSERVED_ADDRESS = 2


def encode_extensions(items: Mapping[int, bytes]) -> bytes:
    """The extension container for ``items``: type byte -> value of at most 65 535 bytes.

    At most ``MAX_ITEMS`` items; empty bytes for no items. Raises :class:`EncodeError` when a type,
    a value or the count is out of bounds.
    """
    if not items:
        return b""
    if len(items) > MAX_ITEMS:
        raise EncodeError(f"at most {MAX_ITEMS} extension items")
    out = bytearray(_HEADER.pack(MAGIC, VERSION, len(items)))
    for kind, value in items.items():
        if not 0 <= kind <= 255 or len(value) > 0xFFFF:
            raise EncodeError("extension item type must be a byte and its value at most 65535 bytes")
        out += _ITEM.pack(kind, len(value)) + value
    return bytes(out)


def decode_extensions(data: bytes) -> dict[int, bytes]:
    """The items of an extension area; empty for none. Unknown versions give no items (a later
    version may change the layout); malformed data raises a DecodeError."""
    if not data:
        return {}
    if len(data) < _HEADER.size:
        raise TruncatedError("extensions: header")
    magic, version, count = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise InvalidFieldError("extensions: bad magic")
    if version != VERSION:
        return {}
    if count > MAX_ITEMS:
        raise InvalidFieldError("extensions: too many items")
    items: dict[int, bytes] = {}
    offset = _HEADER.size
    for _ in range(count):
        if offset + _ITEM.size > len(data):
            raise TruncatedError("extensions: item header")
        kind, length = _ITEM.unpack_from(data, offset)
        offset += _ITEM.size
        if offset + length > len(data):
            raise TruncatedError("extensions: item value")
        if kind in items:
            raise InvalidFieldError("extensions: repeated item type")
        items[kind] = data[offset : offset + length]
        offset += length
    return items


def encode_observed_address(endpoint: Endpoint) -> bytes:
    """The value of an observed-address extension item: the IPv4 or IPv6 address, then the port."""
    host = endpoint[0].split("%")[0]
    try:  # inet_pton: the same bytes as ipaddress's ``packed``, without building an address object
        packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        raise ValueError(f"not an IP address: {host!r}") from None
    return packed + endpoint[1].to_bytes(2, "little")


def decode_observed_address(value: bytes) -> Endpoint:
    """The endpoint in an observed-address item; raises :class:`InvalidFieldError` when malformed."""
    if len(value) not in (6, 18):
        raise InvalidFieldError("extensions: an observed address is 4 or 16 bytes and a port")
    address = ipaddress.ip_address(value[:-2])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise InvalidFieldError("extensions: IPv4-mapped IPv6 address")
    return str(address), int.from_bytes(value[-2:], "little")
