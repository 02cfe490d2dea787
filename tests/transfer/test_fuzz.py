"""Fuzzed Transfer/GetBlock messages and lite data into live sessions: a value or a typed error,
never a crash or a stall."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peernet_proto import Command, DecodeError, decode_message
from peernet_proto.transfer import SessionState, TransferError
from peernet_proto.udt import encode_udt_frame

from ..udt.strategies import udt_frames
from .test_behaviour import FILE, FILE_HASH, _read_file, _setup


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payloads=st.lists(
        st.tuples(
            st.sampled_from([Command.TRANSFER, Command.GET_BLOCK]),
            st.one_of(
                st.binary(max_size=120),
                st.tuples(st.integers(0, 5), st.binary(min_size=0, max_size=90)).map(
                    lambda t: bytes([t[0], 0]) + FILE_HASH + t[1]
                ),
            ),
        ),
        max_size=8,
    ),
    frames=st.lists(st.one_of(udt_frames(), st.binary(max_size=64)), max_size=8),
    session_seed=st.integers(0, 2**32),
)
def test_fuzz_into_live_sessions(payloads: list[tuple[int, bytes]], frames: list[object], session_seed: int) -> None:
    net, requester_host, requester, owner_host, owner = _setup(seed=session_seed % 1000)
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: bool(owner.sessions) and session.conn.readable > 0, limit=2)
    for command, payload in payloads:
        try:
            message = decode_message(command, payload)
        except DecodeError:
            continue
        owner.handle_message(requester_host.key, message, 1, net.now)
        requester.handle_message(owner_host.key, message, 1, net.now)
    for item in frames:
        raw = item if isinstance(item, bytes) else encode_udt_frame(item)  # type: ignore[arg-type]
        for behaviour, peer in ((owner, requester_host.key), (requester, owner_host.key)):
            for sid in list(behaviour.sessions):
                behaviour.handle_lite(peer, sid, raw, net.now)
            behaviour.handle_lite(peer, uuid.UUID(int=session_seed), raw, net.now)
    try:
        data = _read_file(net, requester, session, limit=200)
    except Exception as exc:  # only the typed error is allowed
        assert isinstance(exc, TransferError)
        assert session.state is SessionState.FAILED
    else:
        assert session.state is SessionState.DONE
        assert data == FILE
    assert net.run(lambda: not owner.sessions and not requester.sessions, limit=130)
