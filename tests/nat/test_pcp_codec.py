import contextlib
import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_nat import (
    NonceMismatchError,
    PcpOpcode,
    PcpResponse,
    PcpResult,
    TransportProtocol,
    UnexpectedOpcodeError,
    UnsupportedVersionError,
    decode_pcp_response,
    encode_pcp_announce_request,
    encode_pcp_map_request,
)
from peernet_proto import DecodeError, EncodeError, InvalidFieldError, TruncatedError

NONCE = bytes(range(12))
V4 = ipaddress.IPv4Address("192.168.1.10")
MAPPED_V4 = ipaddress.IPv6Address("::ffff:192.168.1.10").packed


def map_reply(
    *, nonce: bytes = NONCE, result: int = 0, opcode: int = 1, external: str = "::ffff:11.0.0.1",
    options: bytes = b"",
) -> bytes:
    header = struct.pack("!BBBBII12x", 2, 0x80 | opcode, 0, result, 600, 42)
    body = nonce + struct.pack("!B3xHH", 17, 4000, 4001) + ipaddress.IPv6Address(external).packed
    return header + body + options


def test_map_request_layout_rfc6887() -> None:
    data = encode_pcp_map_request(
        nonce=NONCE, protocol=TransportProtocol.UDP, client_ip=V4, internal_port=4000,
        suggested_external_port=4001, lifetime=600,
    )
    assert len(data) == 60
    assert data[:4] == bytes([2, 1, 0, 0])
    assert struct.unpack("!I", data[4:8])[0] == 600
    assert data[8:24] == MAPPED_V4
    assert data[24:36] == NONCE
    assert data[36] == 17 and data[37:40] == bytes(3)
    assert struct.unpack("!HH", data[40:44]) == (4000, 4001)
    assert data[44:60] == ipaddress.IPv6Address("::ffff:0.0.0.0").packed


def test_map_request_ipv6_asks_for_any_v6_external() -> None:
    data = encode_pcp_map_request(
        nonce=NONCE, protocol=TransportProtocol.TCP, client_ip=ipaddress.IPv6Address("fd00:1::10"),
        internal_port=1, lifetime=0,
    )
    assert data[8:24] == ipaddress.IPv6Address("fd00:1::10").packed
    assert data[44:60] == bytes(16)


def test_announce_request_is_a_bare_header() -> None:
    data = encode_pcp_announce_request(V4)
    assert len(data) == 24 and data[:2] == bytes([2, 0]) and data[8:24] == MAPPED_V4


@pytest.mark.parametrize("nonce,port", [(b"short", 1), (NONCE, 0), (NONCE, 70000)])
def test_map_request_rejects_bad_fields(nonce: bytes, port: int) -> None:
    with pytest.raises(EncodeError):
        encode_pcp_map_request(
            nonce=nonce, protocol=TransportProtocol.UDP, client_ip=V4, internal_port=port, lifetime=1
        )


def test_decode_map_reply_unmaps_ipv4() -> None:
    reply = decode_pcp_response(map_reply(), expected_opcode=PcpOpcode.MAP, expected_nonce=NONCE)
    assert (reply.result, reply.lifetime, reply.epoch) == (0, 600, 42)
    assert reply.map is not None
    assert reply.map.external_ip == ipaddress.IPv4Address("11.0.0.1")
    assert (reply.map.internal_port, reply.map.external_port) == (4000, 4001)


def test_wrong_nonce_is_rejected() -> None:
    with pytest.raises(NonceMismatchError):
        decode_pcp_response(map_reply(nonce=bytes(12)), expected_nonce=NONCE)


def test_wrong_opcode_is_rejected() -> None:
    with pytest.raises(UnexpectedOpcodeError):
        decode_pcp_response(map_reply(), expected_opcode=PcpOpcode.ANNOUNCE)


def test_peer_and_unknown_opcodes_are_rejected() -> None:
    for opcode in (2, 9):
        with pytest.raises(UnexpectedOpcodeError):
            decode_pcp_response(map_reply(opcode=opcode))


def test_result_code_is_reported() -> None:
    reply = decode_pcp_response(map_reply(result=8), expected_nonce=NONCE)
    assert reply.result == PcpResult.NO_RESOURCES and reply.description == "NO_RESOURCES"
    short_error = struct.pack("!BBBBII12x", 2, 0x81, 0, 1, 0, 3)
    assert decode_pcp_response(short_error) == PcpResponse(1, 1, 0, 3)


def test_unsolicited_announce_carries_the_epoch() -> None:
    announce = struct.pack("!BBBBII12x", 2, 0x80, 0, 0, 0, 0)
    assert decode_pcp_response(announce) == PcpResponse(PcpOpcode.ANNOUNCE, 0, 0, 0)


def test_options_are_parsed_and_bounded() -> None:
    option = struct.pack("!BBH", 0x80, 0, 5) + b"hello" + bytes(3)
    reply = decode_pcp_response(map_reply(options=option))
    assert reply.options == ((0x80, b"hello"),)
    overrun = struct.pack("!BBH", 0x80, 0, 400) + bytes(4)
    with pytest.raises(TruncatedError):
        decode_pcp_response(map_reply(options=overrun))


def test_natpmp_server_answer_is_a_version_error() -> None:
    with pytest.raises(UnsupportedVersionError) as info:
        decode_pcp_response(bytes([0, 0x80, 0, 1, 0, 0, 0, 0]))
    assert info.value.version == 0


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02", map_reply()[:30], map_reply() + b"\x00", map_reply() + bytes(1100),
     bytes([2, 1]) + bytes(58)],
)
def test_malformed_replies(data: bytes) -> None:
    with pytest.raises((TruncatedError, InvalidFieldError)):
        decode_pcp_response(data)


@given(st.binary(max_size=200))
def test_fuzz_decoder_gives_value_or_decode_error(data: bytes) -> None:
    try:
        reply = decode_pcp_response(data, expected_nonce=NONCE)
    except DecodeError:
        return
    assert isinstance(reply, PcpResponse)


@given(st.binary(min_size=24, max_size=120).map(lambda b: b"\x02\x81" + b[: len(b) // 4 * 4 - 2]))
def test_fuzz_decoder_on_plausible_headers(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_pcp_response(data)
