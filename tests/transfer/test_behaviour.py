"""Two transfer behaviours wired through an in-memory host: file ranges, blocks, refusals, limits."""

from __future__ import annotations

import os

import pytest

from peernet_proto import PrivateKey, Transfer, hash_data
from peernet_proto.transfer import (
    BlockDownload,
    FileDownload,
    MemoryBlocks,
    MemoryFiles,
    SessionState,
    TransferBehaviour,
    TransferError,
    TransferLimits,
)
from peernet_proto.wire import BlockRange, GetBlock, GetBlockControl, TransferControl

from .host import MemoryHost, Network

FILE = os.urandom(700_000)
FILE_HASH = hash_data(FILE)


def _setup(
    loss: float = 0.0, seed: int = 1, **kwargs: object
) -> tuple[Network, MemoryHost, TransferBehaviour, MemoryHost, TransferBehaviour]:
    net = Network(seed=seed, loss=loss)
    owner_key = PrivateKey.from_bytes(bytes(31) + b"\x02").public_key
    blocks = MemoryBlocks(owner_key, [os.urandom(100 + i * 7) for i in range(200)])
    owner_host, owner = net.add_node(2, TransferBehaviour(MemoryFiles({FILE_HASH: FILE}), blocks, **kwargs))  # type: ignore[arg-type]
    requester_host, requester = net.add_node(1)
    return net, requester_host, requester, owner_host, owner


def _read_file(net: Network, behaviour: TransferBehaviour, session: FileDownload, limit: float = 120) -> bytes:
    data = bytearray()
    end = net.now + limit
    while not session.finished and net.now < end:
        data += behaviour.read(session, net.now)
        if not net.step():
            break
    data += behaviour.read(session, net.now)
    return bytes(data)


def _read_blocks(net: Network, behaviour: TransferBehaviour, session: BlockDownload) -> list[tuple[int, bytes | None]]:
    out: list[tuple[int, bytes | None]] = []
    while not session.finished and net.now < 120:
        out += behaviour.take_blocks(session, net.now)
        if not net.step():
            break
    return out


@pytest.mark.parametrize(("offset", "limit", "loss"), [(0, 0, 0.0), (1000, 300_000, 0.05), (699_000, 1000, 0.2)])
def test_file_range_download(offset: int, limit: int, loss: float) -> None:
    net, _, requester, owner_host, owner = _setup(loss)
    session = requester.request_file(owner_host.key, FILE_HASH, offset, limit, net.now)
    data = _read_file(net, requester, session)
    assert session.state is SessionState.DONE, session.failure
    assert data == FILE[offset : offset + limit if limit else None]
    assert net.run(lambda: not requester.sessions and not owner.sessions, limit=30)


def test_file_not_available() -> None:
    net, _, requester, owner_host, _ = _setup()
    session = requester.request_file(owner_host.key, b"\x01" * 32, 0, 0, net.now)
    net.run(lambda: session.finished, limit=5)
    assert session.failure == "not available"
    with pytest.raises(TransferError):
        requester.read(session, net.now)
    assert not requester.sessions


def test_bad_range_is_answered_not_available() -> None:
    net, _, requester, owner_host, _ = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, len(FILE) - 10, 100, net.now)
    net.run(lambda: session.finished, limit=5)
    assert session.failure == "not available"


def test_chain_of_200_blocks() -> None:
    net, _, requester, owner_host, owner = _setup(loss=0.05)
    assert owner.blocks is not None
    session = requester.request_blocks(owner_host.key, owner_host.key, [BlockRange(0, 200)], 4096, 200, net.now)
    blocks = _read_blocks(net, requester, session)
    assert session.state is SessionState.DONE, session.failure
    assert blocks == [(i, owner.blocks.block(i)) for i in range(200)]


def test_missing_and_too_large_blocks() -> None:
    net, _, requester, owner_host, owner = _setup()
    ranges = [BlockRange(198, 5), BlockRange(0, 1)]
    session = requester.request_blocks(owner_host.key, owner_host.key, ranges, 1490, 100, net.now)
    blocks = _read_blocks(net, requester, session)
    assert owner.blocks is not None
    missing: list[tuple[int, bytes | None]] = [(199, None), (200, None), (201, None), (202, None)]
    assert blocks == [(198, owner.blocks.block(198)), *missing, (0, owner.blocks.block(0))]
    assert session.state is SessionState.DONE


@pytest.mark.parametrize(
    ("foreign", "empty", "reason"),
    [(True, False, "not available"), (False, True, "the chain is empty")],
)
def test_get_block_refusals(foreign: bool, empty: bool, reason: str) -> None:
    net, _, requester, owner_host, owner = _setup()
    if empty:
        assert isinstance(owner.blocks, MemoryBlocks)
        owner.blocks.blocks.clear()
    chain = PrivateKey.from_bytes(bytes(31) + b"\x09").public_key if foreign else owner_host.key
    session = requester.request_blocks(owner_host.key, chain, [BlockRange(0, 3)], 4096, 3, net.now)
    net.run(lambda: session.finished, limit=5)
    assert session.failure == reason


def test_get_block_zero_limit_is_terminated() -> None:
    net, requester_host, _, owner_host, owner = _setup()
    requester_host.send_message(
        owner_host.key, GetBlock(GetBlockControl.REQUEST_START, owner_host.key, 0, 10, ranges=(BlockRange(0, 1),))
    )
    net.run(lambda: False, limit=1)
    assert not owner.sessions
    assert requester_host.received[-1] == GetBlock(GetBlockControl.TERMINATE, owner_host.key)


def test_terminate_ends_the_session() -> None:
    net, requester_host, requester, owner_host, owner = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: bool(owner.sessions), limit=1)
    requester_host.send_message(owner_host.key, Transfer(TransferControl.TERMINATE, FILE_HASH))
    net.run(lambda: not owner.sessions, limit=1)
    assert not owner.sessions
    requester.cancel(session, net.now)
    assert not requester.sessions


def test_sessions_per_peer_and_rate_limits() -> None:
    net, _, requester, owner_host, owner = _setup(
        limits=TransferLimits(max_sessions_per_peer=2, requests_per_peer_per_minute=3)
    )
    sessions = [requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now) for _ in range(4)]
    net.run(lambda: False, limit=0.05)
    assert len(owner.sessions) == 2
    for s in sessions:
        requester.cancel(s, net.now)
    net.run(lambda: not owner.sessions, limit=70)
    assert net.now < 30
    refused = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: False, limit=0.05)
    assert not owner.sessions  # three requests this minute already (one refused for the session limit)
    requester.cancel(refused, net.now)
    net.advance(net.now + 0.01)  # what is in flight arrives (and is refused)
    net.advance(net.now + 61)
    again = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: False, limit=0.05)
    assert len(owner.sessions) == 1
    requester.cancel(again, net.now)


def test_requester_that_stops_reading_bounds_owner_memory() -> None:
    net, _, requester, owner_host, owner = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: False, limit=5)  # nobody reads
    config = owner.limits.udt
    assert session.conn.readable <= config.flow_window * config.payload_size
    (upload,) = owner.sessions.values()
    assert upload.conn.send_capacity == 0 or upload.state is not SessionState.DONE
    assert upload.conn._tx is not None
    assert len(upload.conn._tx.pending) <= config.send_buffer
    assert len(upload.conn._tx.unacked) <= config.flow_window
    data = _read_file(net, requester, session)
    assert data == FILE


def test_peer_removed_ends_its_sessions() -> None:
    net, requester_host, requester, owner_host, owner = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: bool(owner.sessions), limit=1)
    requester_host.remove_peer(owner_host.key)
    owner_host.remove_peer(requester_host.key)
    assert session.state is SessionState.FAILED
    assert not requester.sessions and not owner.sessions
    assert not requester_host.lite and not owner_host.lite


def test_vanished_owner_times_out() -> None:
    net, _, requester, owner_host, _ = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: session.conn.readable > 0, limit=1)
    data = requester.read(session, net.now)
    net.cut.add(owner_host.key)
    with pytest.raises(TransferError, match="timed out"):
        _read_file(net, requester, session, limit=200)
    assert session.state is SessionState.FAILED
    assert net.now < 70
    assert FILE.startswith(data)
    assert not requester.sessions


def test_not_available_from_the_requester_does_not_end_an_upload() -> None:
    net, requester_host, requester, owner_host, owner = _setup()
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    net.run(lambda: bool(owner.sessions), limit=1)
    requester_host.send_message(owner_host.key, Transfer(TransferControl.NOT_AVAILABLE, FILE_HASH))
    assert _read_file(net, requester, session) == FILE


class _FailingFiles(MemoryFiles):
    def read_file(self, file_hash: bytes, offset: int, size: int) -> bytes:
        if offset > 100_000:
            raise OSError("disk gone")
        return super().read_file(file_hash, offset, size)


def test_file_source_errors_end_the_upload() -> None:
    net, _, requester, owner_host, owner = _setup()
    owner.files = _FailingFiles({FILE_HASH: FILE})
    session = requester.request_file(owner_host.key, FILE_HASH, 0, 0, net.now)
    with pytest.raises(TransferError, match="timed out"):
        _read_file(net, requester, session)
    assert not owner.sessions
