"""Whatever the loss pattern, the bytes arrive complete and in order, or the connection fails cleanly."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peernet_proto.udt import (
    UdtConfig,
    UdtConnection,
    UdtHandshake,
    UdtState,
    decode_udt_frame,
    encode_udt_frame,
)

from .strategies import udt_frames
from .wire import Pair


def _pattern(bits: list[bool]) -> itertools.cycle[bool]:
    return itertools.cycle(bits or [False])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(min_size=0, max_size=40_000),
    forward=st.lists(st.booleans(), max_size=50),
    backward=st.lists(st.booleans(), max_size=50),
    seed=st.integers(0, 2**32),
    jitter=st.sampled_from([0.0, 0.002, 0.02]),
    duplicate=st.sampled_from([0.0, 0.2]),
)
def test_bytes_arrive_or_the_session_fails_cleanly(
    data: bytes, forward: list[bool], backward: list[bool], seed: int, jitter: float, duplicate: float
) -> None:
    pair = Pair(seed=seed, jitter=jitter, duplicate=duplicate, config=UdtConfig(idle_timeout=20.0))
    lose_forward, lose_backward = _pattern(forward), _pattern(backward)
    pair.forward.drop = lambda _frame: next(lose_forward)
    pair.backward.drop = lambda _frame: next(lose_backward)
    ok = pair.transfer(data, limit=200)
    broken = UdtState.BROKEN in (pair.dialer.state, pair.listener.state)
    if not ok:
        assert broken or pair.listener.state is not UdtState.CONNECTED or not data
    # whatever was delivered is a prefix of what was sent, in order
    assert bytes(pair.received) == data[: len(pair.received)]
    # and the run ended well within its bound: no hang
    assert pair.now < 200 + 61


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.one_of(udt_frames(), st.binary(max_size=80)), max_size=20))
def test_fuzzed_frames_into_live_connections(frames: list[object]) -> None:
    pair = Pair(seed=1)
    assert pair.run(lambda: pair.listener.state is UdtState.CONNECTED and pair.dialer.state is UdtState.CONNECTED)
    pair.dialer.send(b"a" * 10_000)
    pair.step()
    for item in frames:
        raw = item if isinstance(item, bytes) else encode_udt_frame(item)  # type: ignore[arg-type]
        for conn in (pair.dialer, pair.listener):
            conn.receive_frame(raw, pair.now)
            if len(raw) >= 16:  # the same frame addressed to this socket
                conn.receive_frame(raw[:12] + conn.socket_id.to_bytes(4, "big") + raw[16:], pair.now)
            for frame in conn.frames_to_send(pair.now):
                decoded = decode_udt_frame(frame)  # we never emit an undecodable frame
                # nor a non-handshake frame to socket 0 (Go's receiver would stop for good)
                assert isinstance(decoded, UdtHandshake) or decoded.destination_socket_id != 0
    # the sessions either carry on or end cleanly within their timeouts
    end = pair.now + 70
    while pair.now < end and pair.step():
        pass
    assert pair.dialer.state is not UdtState.CONNECTING
    for conn in (pair.dialer, pair.listener):
        assert conn.state in (UdtState.CONNECTED, UdtState.BROKEN, UdtState.CLOSED)
        assert len(conn._control) < 1000


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(st.one_of(udt_frames(), st.binary(max_size=80)), max_size=10))
def test_fuzzed_frames_before_the_handshake(frames: list[object]) -> None:
    listener = UdtConnection.listen(7, 0.0)
    dialer = UdtConnection.dial(8, 9, 0.0)
    for item in frames:
        raw = item if isinstance(item, bytes) else encode_udt_frame(item)  # type: ignore[arg-type]
        for conn in (listener, dialer):
            conn.receive_frame(raw, 0.1)
            for frame in conn.frames_to_send(0.1):
                decode_udt_frame(frame)
