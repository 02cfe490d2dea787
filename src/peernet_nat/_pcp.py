"""PCP (RFC 6887) MAP and ANNOUNCE messages, sans-IO.

IPv4 addresses travel as IPv4-mapped IPv6 addresses. Nonces are chosen by the caller (12 random
bytes per mapping, kept for its renewals).
"""

from __future__ import annotations

import enum
import ipaddress
import struct

import attrs

from peernet_proto import EncodeError, InvalidFieldError, TruncatedError

from ._errors import NonceMismatchError, UnexpectedOpcodeError, UnsupportedVersionError
from ._types import IPAddress, TransportProtocol

__all__ = [
    "PCP_PORT",
    "PcpMapResult",
    "PcpOpcode",
    "PcpResponse",
    "PcpResult",
    "decode_pcp_response",
    "encode_pcp_announce_request",
    "encode_pcp_map_request",
]

#: The UDP port of a PCP server (RFC 6887).
PCP_PORT = 5351
PCP_VERSION = 2
MAX_PCP_MESSAGE = 1100
NONCE_SIZE = 12
_HEADER = struct.Struct("!BBBBII12s")  # version, R|opcode, reserved, result, lifetime, epoch
_REQUEST_HEADER = struct.Struct("!BBHI16s")  # version, R|opcode, reserved, lifetime, client ip
_MAP = struct.Struct("!12sB3xHH16s")  # nonce, protocol, internal port, external port, external ip
_RESPONSE_BIT = 0x80
_ANY_V4 = ipaddress.IPv6Address("::ffff:0.0.0.0")
_ANY_V6 = ipaddress.IPv6Address("::")


class PcpOpcode(enum.IntEnum):
    """PCP opcodes (RFC 6887 §19.2)."""
    ANNOUNCE = 0
    MAP = 1
    PEER = 2


class PcpResult(enum.IntEnum):
    """PCP result codes (RFC 6887 §7.4)."""
    SUCCESS = 0
    UNSUPP_VERSION = 1
    NOT_AUTHORIZED = 2
    MALFORMED_REQUEST = 3
    UNSUPP_OPCODE = 4
    UNSUPP_OPTION = 5
    MALFORMED_OPTION = 6
    NETWORK_FAILURE = 7
    NO_RESOURCES = 8
    UNSUPP_PROTOCOL = 9
    USER_EX_QUOTA = 10
    CANNOT_PROVIDE_EXTERNAL = 11
    ADDRESS_MISMATCH = 12
    EXCESSIVE_REMOTE_PEERS = 13


@attrs.frozen
class PcpMapResult:
    """The MAP opcode data of a PCP response: the request's nonce and the mapping the server made."""
    nonce: bytes
    protocol: int
    internal_port: int
    external_port: int
    external_ip: IPAddress


@attrs.frozen
class PcpResponse:
    """A parsed PCP response; ``lifetime`` and ``epoch`` in seconds, ``options`` as (code, data) pairs."""
    opcode: int
    result: int
    lifetime: int
    epoch: int
    map: PcpMapResult | None = None
    options: tuple[tuple[int, bytes], ...] = ()

    @property
    def description(self) -> str:
        try:
            return PcpResult(self.result).name
        except ValueError:
            return "UNKNOWN"


def pcp_address(address: IPAddress) -> bytes:
    """The 16-byte PCP form of an address (IPv4 as ::ffff:a.b.c.d)."""
    if isinstance(address, ipaddress.IPv4Address):
        return ipaddress.IPv6Address("::ffff:" + str(address)).packed
    return address.packed


def _unmap(packed: bytes) -> IPAddress:
    address = ipaddress.IPv6Address(packed)
    return address.ipv4_mapped or address


def encode_pcp_announce_request(client_ip: IPAddress) -> bytes:
    """A PCP ANNOUNCE request from ``client_ip`` (asks the server for its epoch)."""
    return _REQUEST_HEADER.pack(PCP_VERSION, PcpOpcode.ANNOUNCE, 0, 0, pcp_address(client_ip))


def encode_pcp_map_request(
    *,
    nonce: bytes,
    protocol: TransportProtocol,
    client_ip: IPAddress,
    internal_port: int,
    lifetime: int,
    suggested_external_port: int = 0,
    suggested_external_ip: IPAddress | None = None,
) -> bytes:
    """A MAP request; ``lifetime=0`` deletes the mapping made with the same nonce."""
    if len(nonce) != NONCE_SIZE:
        raise EncodeError(f"PCP nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")
    if not 1 <= internal_port <= 0xFFFF or not 0 <= suggested_external_port <= 0xFFFF:
        raise EncodeError("PCP port out of range")
    if not 0 <= lifetime <= 0xFFFFFFFF:
        raise EncodeError(f"PCP lifetime out of range: {lifetime}")
    if suggested_external_ip is None:
        wanted = _ANY_V4 if isinstance(client_ip, ipaddress.IPv4Address) else _ANY_V6
        external = wanted.packed
    else:
        external = pcp_address(suggested_external_ip)
    header = _REQUEST_HEADER.pack(
        PCP_VERSION, PcpOpcode.MAP, 0, lifetime, pcp_address(client_ip)
    )
    return header + _MAP.pack(nonce, protocol, internal_port, suggested_external_port, external)


def decode_pcp_response(
    data: bytes, *, expected_opcode: int | None = None, expected_nonce: bytes | None = None
) -> PcpResponse:
    """Decode a server's reply (or unsolicited ANNOUNCE). Checks the opcode and, for MAP replies,
    the nonce when expected values are given."""
    if len(data) < 2:
        raise TruncatedError(f"PCP reply of {len(data)} bytes")
    if data[0] != PCP_VERSION:
        raise UnsupportedVersionError(f"reply with version {data[0]}, not PCP 2", data[0])
    if len(data) > MAX_PCP_MESSAGE:
        raise InvalidFieldError(f"PCP reply of {len(data)} bytes exceeds {MAX_PCP_MESSAGE}")
    if len(data) < _HEADER.size:
        raise TruncatedError(f"PCP reply of {len(data)} bytes, header needs {_HEADER.size}")
    if len(data) % 4:
        raise InvalidFieldError(f"PCP reply length {len(data)} is not a multiple of 4")
    _, r_opcode, _, result, lifetime, epoch, _ = _HEADER.unpack_from(data)
    if not r_opcode & _RESPONSE_BIT:
        raise InvalidFieldError("PCP message is a request, not a reply")
    opcode = r_opcode & ~_RESPONSE_BIT
    if expected_opcode is not None and opcode != expected_opcode:
        raise UnexpectedOpcodeError(f"PCP reply to opcode {opcode}, expected {expected_opcode}")
    offset = _HEADER.size
    mapping = None
    if opcode == PcpOpcode.MAP:
        if len(data) < offset + _MAP.size:
            if result != PcpResult.SUCCESS and len(data) == offset:
                return PcpResponse(opcode, result, lifetime, epoch)
            raise TruncatedError("PCP MAP reply without its MAP fields")
        nonce, protocol, internal_port, external_port, external_ip = _MAP.unpack_from(data, offset)
        if expected_nonce is not None and nonce != expected_nonce:
            raise NonceMismatchError("PCP MAP reply nonce does not match the request")
        mapping = PcpMapResult(nonce, protocol, internal_port, external_port, _unmap(external_ip))
        offset += _MAP.size
    elif opcode == PcpOpcode.PEER:
        raise UnexpectedOpcodeError("PCP PEER replies are not supported")
    elif opcode != PcpOpcode.ANNOUNCE:
        raise UnexpectedOpcodeError(f"unknown PCP opcode {opcode}")
    return PcpResponse(opcode, result, lifetime, epoch, mapping, _decode_options(data, offset))


def _decode_options(data: bytes, offset: int) -> tuple[tuple[int, bytes], ...]:
    options = []
    while offset < len(data):
        if len(data) - offset < 4:
            raise TruncatedError("PCP option header truncated")
        code, _, length = struct.unpack_from("!BBH", data, offset)
        offset += 4
        padded = (length + 3) & ~3
        if offset + padded > len(data):
            raise TruncatedError(f"PCP option {code} of {length} bytes overruns the reply")
        options.append((code, bytes(data[offset : offset + length])))
        offset += padded
    return tuple(options)
