"""Round trips for every message type and for packets, with hypothesis."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from peernet_proto import (
    Announcement,
    Packet,
    Response,
    decode_lite_packet,
    decode_message,
    decode_packet,
    encode_lite_packet,
    encode_message,
    encode_packet,
)
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


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=1214))
def test_lite_round_trip(session, data):
    session_id = uuid.UUID(bytes=session)
    assert decode_lite_packet(encode_lite_packet(session_id, data)).data == data
