"""Round trips for every message type and for packets, with hypothesis."""

import contextlib
import uuid

from hypothesis import given
from hypothesis import strategies as st

from peernet_proto import (
    Announcement,
    Packet,
    Response,
    SignatureError,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
    recover_compact,
)
from peernet_proto.wire import decode_lite_packet, encode_lite_packet
from tests.proto.strategies import messages, private_keys, public_keys


def _user_agent_as_sent(text: str) -> str:
    raw = text.encode()
    return raw[:255].decode("utf-8", errors="ignore") if len(raw) > 255 else text


@given(messages)
def test_every_message_round_trips(message):
    payloads = encode_message(message)
    assert len(payloads) >= 1
    assert all(len(p) <= 65410 for p in payloads)
    decoded = decode_message(message.COMMAND, payloads[0])
    if isinstance(message, Announcement | Response):
        message = type(message)(**{**_fields(message), "user_agent": _user_agent_as_sent(message.user_agent)})
    assert decoded == message
    assert encode_message(decoded) == payloads


def _fields(value):
    import attrs

    return {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=1500),
    private_keys,
    public_keys,
)
def test_packet_round_trip(protocol, command, sequence, payload, sender, receiver):
    packet = Packet(protocol, command, sequence, payload)
    raw = encode_packet(packet, sender=sender, receiver=receiver)
    assert 77 + len(payload) <= len(raw) < 77 + len(payload) + 20
    assert decode_packet(raw, receiver=receiver) == (packet, sender.public_key)


_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@given(private_keys, private_keys, st.binary(min_size=32, max_size=32))
def test_a_signature_and_its_twin_verify_under_the_signer_only(signer, other, digest):
    signature = signer.sign_compact(digest)
    header, r, s = signature[0], signature[1:33], int.from_bytes(signature[33:], "big")
    twin = bytes(((header - 27 ^ 1) + 27,)) + r + (_ORDER - s).to_bytes(32, "big")  # high s, other recovery id
    assert recover_compact(twin, digest) == signer.public_key
    assert signer.public_key.signed(signature, digest) and signer.public_key.signed(twin, digest)
    assert other.public_key == signer.public_key or not other.public_key.signed(signature, digest)
    assert not signer.public_key.signed(signature, bytes(32) if digest != bytes(32) else b"\x01" * 32)


@given(private_keys, st.binary(min_size=32, max_size=32))
def test_another_recovery_id_recovers_someone_else_but_still_verifies(signer, digest):
    """What the expected-signer shortcut accepts that recovery alone would not: the same (r, s)
    under another (valid) recovery id. The signer did sign the digest; only the hint byte changed."""
    signature = signer.sign_compact(digest)
    flipped = bytes((((signature[0] - 27) ^ 1) + 27,)) + signature[1:]
    with contextlib.suppress(SignatureError):
        assert recover_compact(flipped, digest) != signer.public_key
    assert signer.public_key.signed(flipped, digest)
    assert not signer.public_key.signed(bytes((40,)) + signature[1:], digest)  # header out of range


@given(private_keys, st.binary(min_size=65, max_size=65), st.binary(min_size=32, max_size=32))
def test_verifying_garbage_never_raises(key, signature, digest):
    assert key.public_key.signed(signature, digest) in (False, True)
    assert not key.public_key.signed(signature[:64], digest)


@given(private_keys, private_keys, public_keys, st.binary(max_size=200))
def test_decode_with_any_expected_sender_names_the_signer(sender, expected, receiver, payload):
    raw = encode_packet(Packet(0, 7, 1, payload), sender=sender, receiver=receiver)
    plain = decode_packet(raw, receiver=receiver)
    assert decode_packet(raw, receiver=receiver, expected=expected.public_key) == plain
    assert decode_packet(raw, receiver=receiver, expected=sender.public_key) == plain


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=1214))
def test_lite_round_trip(session, data):
    session_id = uuid.UUID(bytes=session)
    assert decode_lite_packet(encode_lite_packet(session_id, data)).data == data


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3), st.binary(min_size=1, max_size=300))
def test_extension_is_invisible_to_a_reader_that_stops_at_the_last_block(keys, extension):
    """Go stops reading after the last block: the same message without the extension is what it sees."""
    plain = Announcement(features=1, find_peer=keys)
    (with_extension,) = Announcement(features=1, find_peer=keys, extension=extension).encode()
    (without,) = plain.encode()
    assert with_extension == without + extension
    assert decode_message(0, with_extension) == Announcement(features=1, find_peer=keys, extension=extension)


def test_an_extension_that_does_not_fit_goes_into_one_more_payload():
    from peernet_proto import Hash2Peer, PeerRecord, PrivateKey

    record = PeerRecord(PrivateKey.generate().public_key, ipv4="11.0.0.1", ipv4_port=1, ipv4_port_internal=1)
    # The largest record list that still fits into one payload, leaving less than 2000 bytes free.
    count = 1
    while len(Response(hash2peers=[Hash2Peer(bytes(32), closest=[record] * (count + 1))]).encode()) == 1:
        count += 1
    response = Response(hash2peers=[Hash2Peer(bytes(32), closest=[record] * count)], extension=b"x" * 2000)
    payloads = response.encode()
    assert len(payloads) == 2
    last = decode_message(1, payloads[-1])
    assert last.extension == b"x" * 2000 and last.sequence_last and not last.hash2peers
    assert all(decode_message(1, p).extension == b"" for p in payloads[:-1])
    assert not any(decode_message(1, p).sequence_last for p in payloads[:-1])
    announcement = Announcement(find_value=[bytes(32)] * 2000, extension=b"y" * 1000)
    payloads = announcement.encode()
    assert decode_message(0, payloads[-1]).extension == b"y" * 1000
    assert sum(len(decode_message(0, p).find_value) for p in payloads) == 2000


@given(st.dictionaries(st.integers(0, 255), st.binary(max_size=300), max_size=16))
def test_extension_items_round_trip(items):
    from peernet_proto import decode_extensions, encode_extensions

    assert decode_extensions(encode_extensions(items)) == items


@given(st.binary(max_size=400))
def test_extension_decoder_raises_only_decode_errors(data):
    from peernet_proto import DecodeError, decode_extensions
    from peernet_proto.wire import decode_observed_address

    for candidate in (data, b"PNX\x01" + data):
        try:
            items = decode_extensions(candidate)
        except DecodeError:
            continue
        for value in items.values():
            with contextlib.suppress(DecodeError):
                decode_observed_address(value)
