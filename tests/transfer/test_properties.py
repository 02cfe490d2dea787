"""Whatever the loss, a download completes with the exact bytes or fails with TransferError, in bounded time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from peernet_proto.transfer import SessionState, TransferError
from peernet_proto.wire import BlockRange

from .test_behaviour import FILE, FILE_HASH, _read_blocks, _read_file, _setup


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    loss=st.sampled_from([0.0, 0.1, 0.3, 0.6, 0.95]),
    offset=st.integers(0, len(FILE)),
    size=st.integers(0, 60_000),
)
def test_file_download_completes_or_fails_cleanly(seed: int, loss: float, offset: int, size: int) -> None:
    net, _, requester, owner_host, owner = _setup(loss=loss, seed=seed)
    limit = min(size, len(FILE) - offset)
    session = requester.request_file(owner_host.key, FILE_HASH, offset, limit, net.now)
    try:
        data = _read_file(net, requester, session, limit=300)
    except TransferError:
        assert session.state is SessionState.FAILED
    else:
        assert session.state is SessionState.DONE
        assert data == FILE[offset : offset + limit if limit else None]
    assert net.now < 300
    assert net.run(lambda: not requester.sessions and not owner.sessions, limit=200)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from([0.0, 0.2, 0.5]), first=st.integers(0, 210),
       count=st.integers(1, 40))
def test_block_download_completes_or_fails_cleanly(seed: int, loss: float, first: int, count: int) -> None:
    net, _, requester, owner_host, owner = _setup(loss=loss, seed=seed)
    assert owner.blocks is not None
    session = requester.request_blocks(owner_host.key, owner_host.key, [BlockRange(first, count)], 1 << 16, count,
                                       net.now)
    try:
        blocks = _read_blocks(net, requester, session)
    except TransferError:
        blocks = []
    if loss == 0.0 or session.state is SessionState.DONE:
        assert session.state is SessionState.DONE, session.failure
        assert blocks == [(n, owner.blocks.block(n)) for n in range(first, first + count)]
    assert net.run(lambda: not requester.sessions and not owner.sessions, limit=200)
