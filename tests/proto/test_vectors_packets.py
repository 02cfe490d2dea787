"""packets.json: every packet reproduced byte for byte, decrypted, and the negative cases."""

import uuid

import pytest

from peernet_proto import (
    Command,
    DecodeError,
    Packet,
    PrivateKey,
    PublicKey,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
)
from peernet_proto.wire import (
    IPV4_BROADCAST_PUBLIC_KEY,
    IPV6_MULTICAST_PUBLIC_KEY,
    decode_lite_packet,
    encode_lite_packet,
    garbage_length_bound,
)
from tests.proto import golden
from tests.vectors.loader import load

PACKETS = load("packets")


@pytest.mark.parametrize("vector", PACKETS["vectors"], ids=lambda v: v["name"])
def test_encode_is_byte_exact(vector):
    packet = Packet(vector["protocol_version"], vector["command"], vector["sequence"], bytes.fromhex(vector["payload"]))
    raw = encode_packet(
        packet,
        sender=PrivateKey.from_hex(vector["sender_private_key"]),
        receiver=PublicKey.from_hex(vector["receiver_public_key"]),
        nonce=bytes.fromhex(vector["nonce"]),
        garbage=bytes.fromhex(vector["garbage"]),
    )
    assert raw.hex() == vector["raw"]


@pytest.mark.parametrize("vector", PACKETS["vectors"], ids=lambda v: v["name"])
def test_decode_recovers_sender_and_content(vector):
    receiver = PublicKey.from_hex(vector["receiver_public_key"])
    packet, sender = decode_packet(bytes.fromhex(vector["raw"]), receiver=receiver)
    assert sender.hex() == vector["sender_public_key"]
    assert packet == Packet(
        vector["protocol_version"], vector["command"], vector["sequence"], bytes.fromhex(vector["payload"])
    )
    assert receiver.salsa20_key.hex() == vector["salsa20_key"]
    assert vector["garbage_length"] < max(1, garbage_length_bound(77 + len(packet.payload)))


@pytest.mark.parametrize(
    "vector", [v for v in PACKETS["vectors"] if "decoded" in v or "decode_error" in v], ids=lambda v: v["name"]
)
def test_packet_payload_decodes_as_reference(vector):
    payload = bytes.fromhex(vector["payload"])
    if "decode_error" in vector or vector["command"] not in set(Command):
        # Unknown commands are ignored by the reference; we report them as UnknownCommandError.
        with pytest.raises(DecodeError):
            decode_message(vector["command"], payload)
        return
    message = decode_message(vector["command"], payload)
    render = {0: golden.announcement, 4: golden.announcement, 1: golden.response, 5: golden.traverse,
              6: golden.get_block, 8: golden.transfer}.get(vector["command"])
    if render is not None:
        assert render(message) == vector["decoded"]
    assert encode_message(message) == [payload]


@pytest.mark.parametrize("vector", PACKETS["vectors"], ids=lambda v: v["name"])
def test_decode_with_an_expected_sender_names_the_true_signer(vector):
    """Verification against the peer believed at the source is a shortcut, never a different answer."""
    receiver = PublicKey.from_hex(vector["receiver_public_key"])
    raw = bytes.fromhex(vector["raw"])
    plain = decode_packet(raw, receiver=receiver)
    for expected in (PublicKey.from_hex(vector["sender_public_key"]), receiver):
        assert decode_packet(raw, receiver=receiver, expected=expected) == plain


def test_discovery_keys_are_the_reference_constants():
    constants = PACKETS["constants"]
    assert IPV4_BROADCAST_PUBLIC_KEY.hex() == constants["ipv4_broadcast_public_key"]
    assert IPV6_MULTICAST_PUBLIC_KEY.hex() == constants["ipv6_multicast_public_key"]


@pytest.mark.parametrize("vector", PACKETS["negatives"], ids=lambda v: v["name"])
def test_negative_packets(vector):
    receiver = PublicKey.from_hex(vector["receiver_public_key"])
    raw = bytes.fromhex(vector["raw"])
    result = vector["result"]
    if not result["ok"]:
        with pytest.raises(DecodeError):
            decode_packet(raw, receiver=receiver)
        if "original_sender_public_key" in vector:
            with pytest.raises(DecodeError):
                decode_packet(raw, receiver=receiver, expected=PublicKey.from_hex(vector["original_sender_public_key"]))
        return
    packet, sender = decode_packet(raw, receiver=receiver)
    if "original_sender_public_key" in vector:  # verifying against the original signer changes nothing
        original = PublicKey.from_hex(vector["original_sender_public_key"])
        assert decode_packet(raw, receiver=receiver, expected=original) == (packet, sender)
    assert sender.hex() == result["sender_public_key"]
    assert packet.payload.hex() == result["payload"]
    assert packet.sequence == result["sequence"]
    assert (sender.hex() == vector.get("original_sender_public_key", sender.hex())) == result["sender_matches_original"]


@pytest.mark.parametrize("vector", PACKETS["lite"], ids=lambda v: v["name"])
def test_lite_packets(vector):
    session = uuid.UUID(vector["id"])
    data = bytes.fromhex(vector["data"])
    assert encode_lite_packet(session, data).hex() == vector["raw"]
    decoded = decode_lite_packet(bytes.fromhex(vector["raw"]))
    assert decoded.session_id == session and decoded.data == data


@pytest.mark.parametrize(
    ("length", "bound"),
    [(111, 20), (487, 20), (488, 20), (489, 19), (490, 18), (507, 1), (508, 0), (509, 20),
     (1212, 20), (1213, 19), (1231, 1), (1232, 0), (1233, 20), (65487, 20)],
)
def test_garbage_rule(length, bound):
    assert garbage_length_bound(length) == bound


def test_random_garbage_never_crosses_alignment_points():
    sender, receiver = PrivateKey.generate(), PrivateKey.generate().public_key
    for payload_size in (411, 430, 431, 1135, 1154, 1155):
        for _ in range(30):
            raw = encode_packet(Packet(0, 2, 1, bytes(payload_size)), sender=sender, receiver=receiver)
            n = 77 + payload_size
            limit = 508 if n <= 508 else 1232
            assert len(raw) <= limit if n <= limit else True
