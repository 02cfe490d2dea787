"""NAT-PMP (RFC 6886) messages, sans-IO."""

from __future__ import annotations

import enum
import ipaddress
import struct

import attrs

from peernet_proto import EncodeError, InvalidFieldError, TruncatedError

from ._errors import UnexpectedOpcodeError, UnsupportedVersionError
from ._types import TransportProtocol

__all__ = [
    "NATPMP_PORT",
    "NatPmpExternalAddress",
    "NatPmpFailure",
    "NatPmpMapResponse",
    "NatPmpResult",
    "decode_natpmp_response",
    "encode_natpmp_external_address_request",
    "encode_natpmp_map_request",
]

#: The UDP port of a NAT-PMP gateway (RFC 6886).
NATPMP_PORT = 5351
NATPMP_CLIENT_PORT = 5350  # gateways announce address changes to 224.0.0.1 on this port
_VERSION = 0
_OP_EXTERNAL_ADDRESS = 0
_OP_BY_PROTOCOL = {TransportProtocol.UDP: 1, TransportProtocol.TCP: 2}
_PROTOCOL_BY_OP = {op: proto for proto, op in _OP_BY_PROTOCOL.items()}
_RESPONSE_BIT = 0x80
_MAX_LIFETIME = 0xFFFFFFFF


class NatPmpResult(enum.IntEnum):
    """NAT-PMP result codes (RFC 6886 §3.5)."""
    SUCCESS = 0
    UNSUPPORTED_VERSION = 1
    NOT_AUTHORIZED = 2
    NETWORK_FAILURE = 3
    OUT_OF_RESOURCES = 4
    UNSUPPORTED_OPCODE = 5


@attrs.frozen
class NatPmpExternalAddress:
    """A NAT-PMP external address response: the gateway's epoch (seconds since its start) and external IPv4."""
    epoch: int
    external_ip: ipaddress.IPv4Address


@attrs.frozen
class NatPmpMapResponse:
    """A NAT-PMP mapping response; ``lifetime`` in seconds, 0 when the mapping was deleted."""
    protocol: TransportProtocol
    epoch: int
    internal_port: int
    external_port: int
    lifetime: int


@attrs.frozen
class NatPmpFailure:
    """A well-formed reply with a non-zero result code (the other fields are undefined)."""

    opcode: int
    result: int
    epoch: int

    @property
    def description(self) -> str:
        try:
            return NatPmpResult(self.result).name
        except ValueError:
            return "UNKNOWN"


NatPmpResponse = NatPmpExternalAddress | NatPmpMapResponse | NatPmpFailure


def encode_natpmp_external_address_request() -> bytes:
    """The 2-byte NAT-PMP request for the gateway's external address."""
    return bytes((_VERSION, _OP_EXTERNAL_ADDRESS))


def encode_natpmp_map_request(
    protocol: TransportProtocol, internal_port: int, suggested_external_port: int, lifetime: int
) -> bytes:
    """A mapping request; ``lifetime=0`` with ``suggested_external_port=0`` deletes the mapping."""
    _check_port(internal_port, allow_zero=False)
    _check_port(suggested_external_port, allow_zero=True)
    if not 0 <= lifetime <= _MAX_LIFETIME:
        raise EncodeError(f"lifetime out of range: {lifetime}")
    return struct.pack(
        "!BBHHHI",
        _VERSION,
        _OP_BY_PROTOCOL[protocol],
        0,
        internal_port,
        suggested_external_port,
        lifetime,
    )


def decode_natpmp_response(data: bytes, *, expected_opcode: int | None = None) -> NatPmpResponse:
    """Decode a gateway's reply. ``expected_opcode`` is the request's opcode (0, 1 or 2)."""
    if len(data) < 8:
        raise TruncatedError(f"NAT-PMP reply of {len(data)} bytes, need at least 8")
    version, opcode, result, epoch = struct.unpack_from("!BBHI", data)
    if version != _VERSION:
        raise UnsupportedVersionError(f"NAT-PMP reply with version {version}", version)
    if not opcode & _RESPONSE_BIT:
        raise InvalidFieldError(f"NAT-PMP message with opcode {opcode} is a request, not a reply")
    request_opcode = opcode & ~_RESPONSE_BIT
    if expected_opcode is not None and request_opcode != expected_opcode:
        raise UnexpectedOpcodeError(
            f"NAT-PMP reply to opcode {request_opcode}, expected {expected_opcode}"
        )
    if result != NatPmpResult.SUCCESS:
        return NatPmpFailure(request_opcode, result, epoch)
    if request_opcode == _OP_EXTERNAL_ADDRESS:
        if len(data) != 12:
            raise InvalidFieldError(f"NAT-PMP address reply of {len(data)} bytes, expected 12")
        return NatPmpExternalAddress(epoch, ipaddress.IPv4Address(data[8:12]))
    protocol = _PROTOCOL_BY_OP.get(request_opcode)
    if protocol is None:
        raise UnexpectedOpcodeError(f"NAT-PMP reply to unknown opcode {request_opcode}")
    if len(data) != 16:
        raise InvalidFieldError(f"NAT-PMP mapping reply of {len(data)} bytes, expected 16")
    internal_port, external_port, lifetime = struct.unpack_from("!HHI", data, 8)
    return NatPmpMapResponse(protocol, epoch, internal_port, external_port, lifetime)


def natpmp_opcode(protocol: TransportProtocol) -> int:
    return _OP_BY_PROTOCOL[protocol]


def _check_port(port: int, *, allow_zero: bool) -> None:
    if not (0 if allow_zero else 1) <= port <= 0xFFFF:
        raise EncodeError(f"port out of range: {port}")
