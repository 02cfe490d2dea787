import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_nat import (
    NatPmpExternalAddress,
    NatPmpFailure,
    NatPmpMapResponse,
    TransportProtocol,
    UnexpectedOpcodeError,
    UnsupportedVersionError,
    decode_natpmp_response,
    encode_natpmp_external_address_request,
    encode_natpmp_map_request,
)
from peernet_proto import DecodeError, EncodeError, TruncatedError


def test_external_address_request_is_two_bytes() -> None:
    assert encode_natpmp_external_address_request() == b"\x00\x00"


def test_map_request_layout_rfc6886() -> None:
    data = encode_natpmp_map_request(TransportProtocol.TCP, 8080, 9090, 7200)
    assert data == bytes([0, 2, 0, 0]) + struct.pack("!HHI", 8080, 9090, 7200)
    assert encode_natpmp_map_request(TransportProtocol.UDP, 1, 0, 0)[1] == 1


@pytest.mark.parametrize("args", [(0, 1, 1), (70000, 1, 1), (1, -1, 1), (1, 1, 2**32)])
def test_map_request_rejects_out_of_range(args: tuple[int, int, int]) -> None:
    with pytest.raises(EncodeError):
        encode_natpmp_map_request(TransportProtocol.UDP, *args)


def test_decode_external_address() -> None:
    reply = bytes([0, 128, 0, 0]) + struct.pack("!I", 77) + bytes([11, 0, 0, 1])
    assert decode_natpmp_response(reply, expected_opcode=0) == NatPmpExternalAddress(
        77, ipaddress.IPv4Address("11.0.0.1")
    )


def test_decode_mapping() -> None:
    reply = bytes([0, 129, 0, 0]) + struct.pack("!IHHI", 5, 4000, 4001, 60)
    assert decode_natpmp_response(reply, expected_opcode=1) == NatPmpMapResponse(
        TransportProtocol.UDP, 5, 4000, 4001, 60
    )


def test_failure_result_is_a_value_not_an_error() -> None:
    reply = bytes([0, 130, 0, 2]) + struct.pack("!I", 9) + bytes(8)
    failure = decode_natpmp_response(reply, expected_opcode=2)
    assert failure == NatPmpFailure(2, 2, 9)
    assert failure.description == "NOT_AUTHORIZED"


def test_wrong_opcode_is_rejected() -> None:
    reply = bytes([0, 129, 0, 0]) + struct.pack("!IHHI", 5, 4000, 4001, 60)
    with pytest.raises(UnexpectedOpcodeError):
        decode_natpmp_response(reply, expected_opcode=2)


def test_pcp_reply_is_a_version_error() -> None:
    with pytest.raises(UnsupportedVersionError) as info:
        decode_natpmp_response(bytes([2, 128]) + bytes(22))
    assert info.value.version == 2


@pytest.mark.parametrize(
    "reply",
    [b"", b"\x00\x80\x00", bytes([0, 128, 0, 0, 0, 0, 0, 1]), bytes([0, 0]) + bytes(10),
     bytes([0, 129, 0, 0]) + bytes(8), bytes([0, 128, 0, 0]) + bytes(9)],
)
def test_malformed_replies_raise_decode_errors(reply: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_natpmp_response(reply, expected_opcode=reply[1] & 0x7F if len(reply) > 1 else 0)


def test_truncated_reply_says_so() -> None:
    with pytest.raises(TruncatedError):
        decode_natpmp_response(b"\x00\x80")


@given(st.binary(max_size=40))
def test_fuzz_decoder_gives_value_or_decode_error(data: bytes) -> None:
    try:
        reply = decode_natpmp_response(data)
    except DecodeError:
        return
    assert isinstance(reply, NatPmpExternalAddress | NatPmpMapResponse | NatPmpFailure)


@given(
    st.sampled_from(TransportProtocol),
    st.integers(1, 65535), st.integers(0, 65535), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
)
def test_mapping_reply_round_trip(
    protocol: TransportProtocol, internal: int, external: int, lifetime: int, epoch: int
) -> None:
    request = encode_natpmp_map_request(protocol, internal, external, lifetime)
    reply = bytes([0, request[1] | 0x80, 0, 0]) + struct.pack("!IHHI", epoch, internal, external, lifetime)
    decoded = decode_natpmp_response(reply, expected_opcode=request[1])
    assert decoded == NatPmpMapResponse(protocol, epoch, internal, external, lifetime)
