"""UDT frames carried in lite packets and ACTIVE transfers; big-endian (spec wire.md §12.5)."""

from __future__ import annotations

import enum
import struct
from typing import ClassVar

import attrs

from ._errors import EncodeError, InvalidFieldError, TruncatedError

__all__ = [
    "UdtAck",
    "UdtAck2",
    "UdtCongestionWarning",
    "UdtControlType",
    "UdtData",
    "UdtError",
    "UdtFrame",
    "UdtHandshake",
    "UdtKeepAlive",
    "UdtMessageDropRequest",
    "UdtNak",
    "UdtShutdown",
    "UdtUserDefined",
    "decode_udt_frame",
    "encode_udt_frame",
]

_HEAD = struct.Struct(">IIII")
_CONTROL_HEAD = struct.Struct(">HHIII")
_HANDSHAKE = struct.Struct(">IIIIIiII16s")
_ACK = struct.Struct(">IIII")
_ACK_LINK = struct.Struct(">II")
_DROP = struct.Struct(">II")
_CONTROL_BIT = 0x80000000
_HEADER_SIZE = 16


class UdtControlType(enum.IntEnum):
    """Control frame types (the UDT header's type field); USER_DEFINED is 0x7FFF."""

    HANDSHAKE = 0
    KEEP_ALIVE = 1
    ACK = 2
    NAK = 3
    CONGESTION_WARNING = 4
    SHUTDOWN = 5
    ACK2 = 6
    MESSAGE_DROP_REQUEST = 7
    ERROR = 8
    USER_DEFINED = 0x7FFF


@attrs.frozen
class UdtData:
    """A data frame: sequence and message numbers, timestamp, destination socket and payload."""

    sequence: int  # 31 bits
    message_number: int  # 29 bits
    timestamp: int
    destination_socket_id: int
    data: bytes
    boundary: int = 3  # 3 = the whole message, as sent in stream mode
    in_order: bool = True


@attrs.frozen
class UdtHandshake:
    """The handshake control frame (connection request and answer)."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.HANDSHAKE
    timestamp: int
    destination_socket_id: int
    udt_version: int
    socket_type: int  # 1 stream, 2 datagram
    initial_sequence: int
    max_packet_size: int
    max_flow_window: int
    request_type: int  # 1 request, -1 response, ...
    socket_id: int
    syn_cookie: int = 0
    peer_ip: bytes = bytes(16)


@attrs.frozen
class UdtKeepAlive:
    """A keep-alive control frame."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.KEEP_ALIVE
    timestamp: int
    destination_socket_id: int


@attrs.frozen
class UdtAck:
    """An acknowledgement: the next expected sequence, with RTT, buffer and rate estimates."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.ACK
    timestamp: int
    destination_socket_id: int
    ack_number: int
    next_sequence: int
    rtt: int
    rtt_variance: int
    available_buffer: int
    packet_receive_rate: int | None = None
    link_capacity: int | None = None


@attrs.frozen
class UdtNak:
    """Loss list: sequence numbers; an entry with bit 31 set starts a range ended by the next."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.NAK
    timestamp: int
    destination_socket_id: int
    losses: tuple[int, ...] = attrs.field(converter=tuple)


@attrs.frozen
class UdtCongestionWarning:
    """A congestion warning control frame."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.CONGESTION_WARNING
    timestamp: int
    destination_socket_id: int


@attrs.frozen
class UdtShutdown:
    """The sender has finished: no more data follows."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.SHUTDOWN
    timestamp: int
    destination_socket_id: int


@attrs.frozen
class UdtAck2:
    """The answer to an acknowledgement (used to measure the round-trip time)."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.ACK2
    timestamp: int
    destination_socket_id: int
    ack_number: int


@attrs.frozen
class UdtMessageDropRequest:
    """A request to drop a message's packets (unused in stream mode)."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.MESSAGE_DROP_REQUEST
    timestamp: int
    destination_socket_id: int
    message_number: int
    first_sequence: int
    last_sequence: int


@attrs.frozen
class UdtError:
    """An error control frame carrying an error code."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.ERROR
    timestamp: int
    destination_socket_id: int
    code: int


@attrs.frozen
class UdtUserDefined:
    """A user-defined control frame."""

    TYPE: ClassVar[UdtControlType] = UdtControlType.USER_DEFINED
    timestamp: int
    destination_socket_id: int
    subtype: int
    info: int
    data: bytes = b""


UdtFrame = (
    UdtData
    | UdtHandshake
    | UdtKeepAlive
    | UdtAck
    | UdtNak
    | UdtCongestionWarning
    | UdtShutdown
    | UdtAck2
    | UdtMessageDropRequest
    | UdtError
    | UdtUserDefined
)
_EMPTY_CONTROLS: dict[int, type[UdtKeepAlive | UdtCongestionWarning | UdtShutdown]] = {
    UdtControlType.KEEP_ALIVE: UdtKeepAlive,
    UdtControlType.CONGESTION_WARNING: UdtCongestionWarning,
    UdtControlType.SHUTDOWN: UdtShutdown,
}


def encode_udt_frame(frame: UdtFrame) -> bytes:
    """Encode one frame; raises :class:`EncodeError` when a field is out of range."""
    try:
        return _encode(frame)
    except struct.error as exc:
        raise EncodeError(f"UDT field out of range: {exc}") from exc


def _encode(frame: UdtFrame) -> bytes:
    if isinstance(frame, UdtData):
        if not 0 <= frame.sequence < 1 << 31 or not 0 <= frame.message_number < 1 << 29:
            raise EncodeError("UDT data sequence or message number out of range")
        word1 = (frame.boundary & 3) << 30 | (0x20000000 if frame.in_order else 0) | frame.message_number
        return _HEAD.pack(frame.sequence, word1, frame.timestamp, frame.destination_socket_id) + frame.data
    info = 0
    subtype = 0
    body = b""
    if isinstance(frame, UdtHandshake):
        body = _HANDSHAKE.pack(
            frame.udt_version,
            frame.socket_type,
            frame.initial_sequence,
            frame.max_packet_size,
            frame.max_flow_window,
            frame.request_type,
            frame.socket_id,
            frame.syn_cookie,
            frame.peer_ip,
        )
    elif isinstance(frame, UdtAck):
        info = frame.ack_number
        body = _ACK.pack(frame.next_sequence, frame.rtt, frame.rtt_variance, frame.available_buffer)
        if frame.packet_receive_rate is not None or frame.link_capacity is not None:
            body += _ACK_LINK.pack(frame.packet_receive_rate or 0, frame.link_capacity or 0)
    elif isinstance(frame, UdtNak):
        body = struct.pack(f">{len(frame.losses)}I", *frame.losses)
    elif isinstance(frame, UdtAck2):
        info = frame.ack_number
    elif isinstance(frame, UdtMessageDropRequest):
        info = frame.message_number
        body = _DROP.pack(frame.first_sequence, frame.last_sequence)
    elif isinstance(frame, UdtError):
        info = frame.code
    elif isinstance(frame, UdtUserDefined):
        subtype = frame.subtype
        info = frame.info
        body = frame.data
    head = _CONTROL_HEAD.pack(0x8000 | frame.TYPE, subtype, info, frame.timestamp, frame.destination_socket_id)
    return head + body


def decode_udt_frame(data: bytes) -> UdtFrame:
    """Decode one frame; raises :class:`TruncatedError` / :class:`InvalidFieldError` on bad input."""
    if len(data) < _HEADER_SIZE:
        raise TruncatedError(f"UDT frame of {len(data)} bytes is shorter than {_HEADER_SIZE}")
    word0, word1, timestamp, destination = _HEAD.unpack_from(data)
    if not word0 & _CONTROL_BIT:
        return UdtData(
            word0,
            word1 & 0x1FFFFFFF,
            timestamp,
            destination,
            bytes(data[_HEADER_SIZE:]),
            word1 >> 30,
            bool(word1 & 0x20000000),
        )
    control_type = (word0 >> 16) & 0x7FFF
    subtype = word0 & 0xFFFF
    info = word1
    body = data[_HEADER_SIZE:]
    if control_type == UdtControlType.HANDSHAKE:
        if len(body) < _HANDSHAKE.size:
            raise TruncatedError(f"UDT handshake of {len(data)} bytes is shorter than 64")
        return UdtHandshake(timestamp, destination, *_HANDSHAKE.unpack_from(body))
    if control_type == UdtControlType.ACK:
        if len(body) < _ACK.size:
            raise TruncatedError(f"UDT ACK of {len(data)} bytes is shorter than 32")
        next_sequence, rtt, rtt_variance, available = _ACK.unpack_from(body)
        rate = capacity = None
        if len(body) >= _ACK.size + _ACK_LINK.size:
            rate, capacity = _ACK_LINK.unpack_from(body, _ACK.size)
        return UdtAck(timestamp, destination, info, next_sequence, rtt, rtt_variance, available, rate, capacity)
    if control_type == UdtControlType.NAK:
        if len(body) % 4:
            raise InvalidFieldError("UDT NAK loss list is not a whole number of 32-bit words")
        return UdtNak(timestamp, destination, struct.unpack(f">{len(body) // 4}I", body))
    if control_type in _EMPTY_CONTROLS:
        return _EMPTY_CONTROLS[control_type](timestamp, destination)
    if control_type == UdtControlType.ACK2:
        return UdtAck2(timestamp, destination, info)
    if control_type == UdtControlType.MESSAGE_DROP_REQUEST:
        if len(body) < _DROP.size:
            raise TruncatedError("UDT message drop request is shorter than 24 bytes")
        return UdtMessageDropRequest(timestamp, destination, info, *_DROP.unpack_from(body))
    if control_type == UdtControlType.ERROR:
        return UdtError(timestamp, destination, info)
    if control_type == UdtControlType.USER_DEFINED:
        return UdtUserDefined(timestamp, destination, subtype, info, bytes(body))
    raise InvalidFieldError(f"unknown UDT control type {control_type}")
