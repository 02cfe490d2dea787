"""Lite packets: session ID, size and data, in clear and unsigned (spec wire.md §4)."""

from __future__ import annotations

import struct
import uuid

import attrs

from ._constants import LITE_HEADER_SIZE
from ._errors import EncodeError, InvalidFieldError, MessageTooLargeError, TruncatedError

__all__ = ["LitePacket", "decode_lite_packet", "encode_lite_packet", "lite_data"]

_SIZE = struct.Struct("<H")


@attrs.frozen
class LitePacket:
    """A decoded lite packet: the session (transfer) ID and the data, one UDT frame."""

    session_id: uuid.UUID
    data: bytes


def encode_lite_packet(session_id: uuid.UUID, data: bytes) -> bytes:
    """Exactly 18 + len(data) bytes: the reference's receiver passes on everything after the size."""
    if len(data) > 0xFFFF:
        raise MessageTooLargeError(f"lite packet data of {len(data)} bytes exceeds 65535")
    if not isinstance(session_id, uuid.UUID):
        raise EncodeError("session_id must be a uuid.UUID")
    return session_id.bytes + _SIZE.pack(len(data)) + data


def decode_lite_packet(raw: bytes) -> LitePacket:
    """Parse a lite packet; the data is exactly the announced size (trailing bytes are dropped)."""
    if len(raw) < LITE_HEADER_SIZE:
        raise TruncatedError(f"lite packet of {len(raw)} bytes is shorter than {LITE_HEADER_SIZE}")
    (size,) = _SIZE.unpack_from(raw, 16)
    if size > len(raw) - LITE_HEADER_SIZE:
        raise InvalidFieldError(f"lite packet size field {size} exceeds the packet")
    return LitePacket(uuid.UUID(bytes=bytes(raw[:16])), bytes(raw[LITE_HEADER_SIZE : LITE_HEADER_SIZE + size]))


def lite_data(raw: bytes) -> bytes | None:
    """The data of a lite packet whose session the caller already knows (from its first 16 bytes);
    None when the packet is too short or its size field exceeds it. The receive path's shortcut
    around :func:`decode_lite_packet` (no UUID or packet object per datagram)."""
    if len(raw) < LITE_HEADER_SIZE:
        return None
    (size,) = _SIZE.unpack_from(raw, 16)
    if size > len(raw) - LITE_HEADER_SIZE:
        return None
    return raw[LITE_HEADER_SIZE : LITE_HEADER_SIZE + size]
