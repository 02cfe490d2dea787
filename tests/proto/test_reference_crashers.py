"""Inputs that crash, hang or exhaust the reference implementation (spec wire.md §14.2)."""

import pytest

from peernet_proto import (
    Announcement,
    DecodeError,
    EmbeddedFile,
    MessageTooLargeError,
    PrivateKey,
    Response,
    Traverse,
    TruncatedError,
    decode_message,
    decode_packet,
    hash_data,
)
from peernet_proto.wire import decode_udt_frame

KEY = PrivateKey(bytes([3]) * 32)


def test_b1_short_response_with_user_agent():
    # 24-byte header announcing a 4-byte user agent, then fewer than 6 count bytes.
    payload = bytes(23) + bytes([4]) + b"UA/1" + b"\x01\x00"
    with pytest.raises(TruncatedError):
        decode_message(1, payload)


@pytest.mark.parametrize("length", range(50, 66))
def test_b2_short_transfer_request_start(length):
    with pytest.raises(TruncatedError):
        decode_message(8, bytes(length))


@pytest.mark.parametrize("size", [0, 8, 64, 65, 76])
def test_b3_tiny_embedded_traverse_packet(size):
    other, relay = PrivateKey(bytes([4]) * 32), PrivateKey(bytes([5]) * 32)
    traverse = Traverse.create(KEY, other.public_key, relay.public_key, 2**40, bytes(size))
    decoded = decode_message(5, traverse.encode()[0])
    # The embedded packet is decoded by whoever consumes the traverse: it must be rejected cleanly.
    with pytest.raises(DecodeError):
        decode_packet(decoded.embedded_packet, receiver=other.public_key)


@pytest.mark.parametrize("size", [0, 1, 2, 3])
def test_b7_empty_or_tiny_transfer_data(size):
    transfer = decode_message(8, bytes([2, 0]) + bytes(32) + bytes(size))
    with pytest.raises(TruncatedError):
        decode_udt_frame(transfer.data)


def test_b5_embedded_file_that_never_fits_is_refused():
    too_big = EmbeddedFile.of(bytes(65_347))
    with pytest.raises(MessageTooLargeError):
        Response(embedded_files=[too_big]).encode()
    # The reference limit minus the user agent: 65 346 fits without, not with a user agent.
    assert len(Response(embedded_files=[EmbeddedFile.of(bytes(65_346))]).encode()) == 1
    with pytest.raises(MessageTooLargeError):
        Response(user_agent="x", embedded_files=[EmbeddedFile.of(bytes(65_346))]).encode()


def test_b6_not_found_list_from_one_hostile_announcement_terminates():
    # FIND_SELF + 2043 FIND_PEER keys in one datagram yield 2044 not-found keys.
    keys = [hash_data(i.to_bytes(4, "little")) for i in range(2044)]
    announcement = Announcement(find_self=True, find_peer=keys[1:])
    (payload,) = announcement.encode()
    assert 77 + len(payload) <= 65507
    payloads = Response(hashes_not_found=keys).encode()
    decoded = [Response.decode(p) for p in payloads]
    assert [k for d in decoded for k in d.hashes_not_found] == keys
    assert [d.sequence_last for d in decoded] == [False, True]


def test_b4_one_key_with_more_records_than_a_packet_is_split():
    from peernet_proto import Hash2Peer, PeerRecord
    from tests.proto.strategies import PUBLIC_KEYS

    records = [PeerRecord(PUBLIC_KEYS[i % 8], "1.2.3.4", i, i) for i in range(2000)]
    payloads = Response(hash2peers=[Hash2Peer(bytes(32), closest=records)]).encode()
    chunks = [h for p in payloads for h in Response.decode(p).hash2peers]
    assert [r for h in chunks for r in h.closest] == records
    assert [h.is_last for h in chunks] == [False] * (len(chunks) - 1) + [True]


def test_packet_of_any_length_below_minimum_is_truncated():
    raw = bytes(76)
    with pytest.raises(TruncatedError):
        decode_packet(raw, receiver=KEY.public_key)
