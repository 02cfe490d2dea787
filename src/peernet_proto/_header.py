"""The 24-byte header shared by Announcement, Response and Local Discovery (spec wire.md §6.1)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import attrs

from ._constants import ANNOUNCEMENT_HEADER_SIZE, USER_AGENT_MAX
from ._errors import EncodeError, InvalidFieldError, TruncatedError

_FIXED = struct.Struct("<BBBQQHHB")
PORT_INTERNAL_OFFSET = 19


@attrs.frozen
class CommonHeader:
    protocol: int
    features: int
    actions: int
    blockchain_height: int
    blockchain_version: int
    port_internal: int
    port_external: int
    user_agent: str


def key_tuple(values: Sequence[bytes]) -> tuple[bytes, ...]:
    """attrs converter for lists of 32-byte keys."""
    return tuple(bytes(value) for value in values)


def user_agent_bytes(user_agent: str) -> bytes:
    """UTF-8, cut to 255 bytes on a character boundary.

    The reference cuts at byte 255 even inside a character, producing a payload its own decoder
    rejects; cutting on a boundary keeps every message we send decodable.
    """
    raw = user_agent.encode("utf-8")
    if len(raw) <= USER_AGENT_MAX:
        return raw
    return raw[:USER_AGENT_MAX].decode("utf-8", errors="ignore").encode("utf-8")


def encode_header(
    protocol: int,
    features: int,
    actions: int,
    blockchain_height: int,
    blockchain_version: int,
    port_internal: int,
    port_external: int,
    user_agent: bytes,
) -> bytearray:
    try:
        fixed = _FIXED.pack(
            protocol & 0x0F,
            features,
            actions,
            blockchain_height,
            blockchain_version,
            port_internal,
            port_external,
            len(user_agent),
        )
    except struct.error as exc:
        raise EncodeError(f"header field out of range: {exc}") from exc
    return bytearray(fixed + user_agent)


def decode_header(payload: bytes, what: str) -> tuple[CommonHeader, int]:
    """Decode the header; returns it and the offset of the first byte after the user agent."""
    if len(payload) < ANNOUNCEMENT_HEADER_SIZE:
        raise TruncatedError(f"{what}: {len(payload)} bytes is shorter than the 24-byte header")
    protocol, features, actions, height, version, port_internal, port_external, ua_length = (
        _FIXED.unpack_from(payload)
    )
    end = ANNOUNCEMENT_HEADER_SIZE + ua_length
    if end > len(payload):
        raise TruncatedError(f"{what}: user agent of {ua_length} bytes exceeds the payload")
    try:
        user_agent = bytes(payload[ANNOUNCEMENT_HEADER_SIZE:end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFieldError(f"{what}: user agent is not valid UTF-8") from exc
    header = CommonHeader(
        protocol & 0x0F, features, actions, height, version, port_internal, port_external, user_agent
    )
    return header, end
