"""The download manager: multi-source, verification, pause/resume/cancel, restart, safe paths."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import blake3
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from peernet.downloads import (
    DownloadManager,
    DownloadPathError,
    DownloadStatus,
    MemorySource,
    safe_target,
    temp_path,
)
from peernet_chain import MINIMUM_FRAGMENT_SIZE, MerkleTree, fragment_size
from peernet_proto import PublicKey

from ._helpers import key

PEERS = [key(50 + n).public_key for n in range(3)]
CONTENT = os.urandom(5 * MINIMUM_FRAGMENT_SIZE + 1234)  # 6 fragments
HASH = blake3.blake3(CONTENT).digest()
ROOT = MerkleTree.from_bytes(CONTENT, fragment_size(len(CONTENT))).root_hash


def _source(peers: list[PublicKey], **options: object) -> MemorySource:
    return MemorySource({peer: {HASH: CONTENT} for peer in peers}, **options)  # type: ignore[arg-type]


async def _until(manager: DownloadManager, download_id: uuid.UUID, *statuses: DownloadStatus) -> None:
    with trio.fail_after(600):
        while (info := manager.info(download_id)) is None or info.status not in statuses:
            await trio.sleep(0.01)


async def _download(manager: DownloadManager, download_id: uuid.UUID) -> DownloadStatus:
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await _until(manager, download_id, DownloadStatus.FINISHED, DownloadStatus.CANCELED)
        nursery.cancel_scope.cancel()
    info = manager.info(download_id)
    assert info is not None
    return info.status


async def test_multi_source_download_is_verified_and_placed(tmp_path: Path) -> None:
    source = _source(PEERS)
    manager = DownloadManager(source, tmp_path / "state.json")
    download_id = manager.start(HASH, len(CONTENT), PEERS, tmp_path, "file.bin", merkle_root=ROOT)
    assert await _download(manager, download_id) is DownloadStatus.FINISHED
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    assert not temp_path(tmp_path / "file.bin").exists()
    assert {peer for peer, _, _ in source.requests} == set(PEERS)  # every source served a part
    assert len(source.requests) == 6
    info = manager.info(download_id)
    assert info is not None and info.progress.percentage == 100.0 and info.progress.eta == 0.0


async def test_forged_fragments_are_rejected_and_fetched_from_another_source(tmp_path: Path) -> None:
    liar = PEERS[0]
    source = _source(PEERS, forge=frozenset({liar}), forge_offsets=frozenset({3 * MINIMUM_FRAGMENT_SIZE + 7}))
    manager = DownloadManager(source, tmp_path / "state.json", workers_per_download=1)
    download_id = manager.start(HASH, len(CONTENT), PEERS, tmp_path, "file.bin", merkle_root=ROOT)
    assert await _download(manager, download_id) is DownloadStatus.FINISHED
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    info = manager.info(download_id)
    assert info is not None and info.rejected_pieces >= 1
    fragment_three = [peer for peer, offset, _ in source.requests if offset == 3 * MINIMUM_FRAGMENT_SIZE]
    assert fragment_three[-1] != liar and len(fragment_three) >= 2


async def test_sources_that_forge_are_avoided_then_dropped(tmp_path: Path) -> None:
    source = _source(PEERS[:2], forge=frozenset({PEERS[0]}))
    manager = DownloadManager(source, tmp_path / "state.json", workers_per_download=2)
    download_id = manager.start(HASH, len(CONTENT), PEERS[:2], tmp_path, "file.bin", merkle_root=ROOT)
    assert await _download(manager, download_id) is DownloadStatus.FINISHED
    info = manager.info(download_id)
    liar_requests = sum(1 for peer, _, _ in source.requests if peer == PEERS[0])
    assert info is not None and 1 <= info.rejected_pieces == liar_requests <= 2  # the liar is avoided
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    # when every source lies, each is dropped after three bad fragments and the download fails
    source = _source(PEERS[:2], forge=frozenset(PEERS[:2]))
    manager = DownloadManager(source, tmp_path / "state2.json", workers_per_download=2)
    download_id = manager.start(HASH, len(CONTENT), PEERS[:2], tmp_path, "other.bin", merkle_root=ROOT)
    assert await _download(manager, download_id) is DownloadStatus.CANCELED
    info = manager.info(download_id)
    assert info is not None and info.sources == 0 and 6 <= info.rejected_pieces <= 8  # 2 in flight at most
    assert not (tmp_path / "other.bin").exists()


async def test_without_tree_the_whole_file_hash_decides(tmp_path: Path) -> None:
    source = _source(PEERS[:1], forge=frozenset({PEERS[0]}), forge_offsets=frozenset({5}), trees=False)
    manager = DownloadManager(source, tmp_path / "state.json")
    download_id = manager.start(HASH, len(CONTENT), PEERS[:1], tmp_path, "file.bin")
    assert await _download(manager, download_id) is DownloadStatus.CANCELED
    info = manager.info(download_id)
    assert info is not None and info.error == "file hash does not match"
    assert not (tmp_path / "file.bin").exists() and not temp_path(tmp_path / "file.bin").exists()


async def test_pause_resume_cancel(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    source = _source(PEERS[:1], delay=1.0)
    manager = DownloadManager(source, tmp_path / "state.json", workers_per_download=1)
    first = manager.start(HASH, len(CONTENT), PEERS[:1], tmp_path, "a.bin", merkle_root=ROOT)
    second = manager.start(HASH, len(CONTENT), PEERS[:1], tmp_path, "b.bin", merkle_root=ROOT)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await _until(manager, first, DownloadStatus.ACTIVE)
        await trio.sleep(2.5)
        assert manager.resume(first) is False  # only from pause
        assert manager.pause(first) and not manager.pause(first)
        paused = manager.info(first)
        assert paused is not None and paused.status is DownloadStatus.PAUSE
        requests = len(source.requests)
        await trio.sleep(1.0)
        assert len(source.requests) > requests  # the other download goes on
        assert manager.cancel(second) and not manager.cancel(second)
        assert not temp_path(tmp_path / "b.bin").exists()
        done_before = paused.progress.done
        assert 0 < done_before < len(CONTENT)
        assert manager.resume(first)
        await _until(manager, first, DownloadStatus.FINISHED)
        nursery.cancel_scope.cancel()
    assert (tmp_path / "a.bin").read_bytes() == CONTENT and not (tmp_path / "b.bin").exists()
    second_info = manager.info(second)
    assert second_info is not None and second_info.status is DownloadStatus.CANCELED


async def test_restart_resumes_from_disk(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    state = tmp_path / "state.json"
    source = _source(PEERS[:1], delay=1.0)
    manager = DownloadManager(source, state, workers_per_download=1)
    download_id = manager.start(HASH, len(CONTENT), PEERS[:1], tmp_path, "file.bin", merkle_root=ROOT)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.sleep(3.5)  # three fragments arrive, then the process "dies"
        nursery.cancel_scope.cancel()
    saved = json.loads(state.read_text())["downloads"][0]
    assert saved["done"] == [0, 1, 2] and saved["status"] == DownloadStatus.ACTIVE
    # one stored fragment got damaged on disk meanwhile: it is verified again and refetched
    with open(temp_path(tmp_path / "file.bin"), "r+b") as partial:
        partial.seek(MINIMUM_FRAGMENT_SIZE + 10)
        partial.write(b"\x00\x01\x02")
    fresh = _source(PEERS[:1])
    restarted = DownloadManager(fresh, state)
    assert restarted.load() == 1
    assert await _download(restarted, download_id) is DownloadStatus.FINISHED
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    assert sorted(offset // MINIMUM_FRAGMENT_SIZE for _, offset, _ in fresh.requests) == [1, 3, 4, 5]


async def test_small_file_and_empty_file(tmp_path: Path) -> None:
    small, empty = b"tiny file", b""
    files = {blake3.blake3(small).digest(): small, blake3.blake3(empty).digest(): empty}
    source = MemorySource({PEERS[0]: files})
    manager = DownloadManager(source, tmp_path / "state.json")
    for name, content in (("small", small), ("empty", empty)):
        file_hash = blake3.blake3(content).digest()
        download_id = manager.start(file_hash, len(content), PEERS[:1], tmp_path, name)
        assert await _download(manager, download_id) is DownloadStatus.FINISHED
        assert (tmp_path / name).read_bytes() == content


@pytest.mark.parametrize("name", ["../evil", "..", ".", "a/b", "a\\b", "", "/etc/passwd", "C:evil", "x\x00y", "\n"])
def test_path_traversal_is_refused(tmp_path: Path, name: str) -> None:
    manager = DownloadManager(_source(PEERS), tmp_path / "state.json")
    with pytest.raises(DownloadPathError):
        manager.start(HASH, len(CONTENT), PEERS, tmp_path / "..", name) if name == "" else manager.start(
            HASH, len(CONTENT), PEERS, tmp_path, name
        )
    assert manager.list() == []


def test_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "link").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(DownloadPathError):
        safe_target(tmp_path / "inside", "link")


async def test_no_overwrite_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "file.bin").write_bytes(b"precious")
    manager = DownloadManager(_source(PEERS), tmp_path / "state.json")
    with pytest.raises(DownloadPathError):
        manager.start(HASH, len(CONTENT), PEERS, tmp_path, "file.bin")
    assert (tmp_path / "file.bin").read_bytes() == b"precious"
    download_id = manager.start(HASH, len(CONTENT), PEERS, tmp_path, "file.bin", merkle_root=ROOT, overwrite=True)
    assert await _download(manager, download_id) is DownloadStatus.FINISHED
    assert (tmp_path / "file.bin").read_bytes() == CONTENT


async def test_target_appearing_during_the_download_is_not_replaced(tmp_path: Path) -> None:
    manager = DownloadManager(_source(PEERS, delay=0.01), tmp_path / "state.json")
    download_id = manager.start(HASH, len(CONTENT), PEERS, tmp_path, "file.bin", merkle_root=ROOT)
    (tmp_path / "file.bin").write_bytes(b"arrived meanwhile")
    assert await _download(manager, download_id) is DownloadStatus.CANCELED
    assert (tmp_path / "file.bin").read_bytes() == b"arrived meanwhile"


async def test_waits_for_a_swarm_then_gives_up(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    manager = DownloadManager(_source(PEERS), tmp_path / "state.json", swarm_timeout=30.0)
    download_id = manager.start(HASH, len(CONTENT), [], tmp_path, "file.bin", merkle_root=ROOT)
    late = manager.start(HASH, len(CONTENT), [], tmp_path, "late.bin", merkle_root=ROOT)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await _until(manager, download_id, DownloadStatus.WAIT_SWARM)
        await trio.sleep(10)
        assert manager.add_sources(download_id, PEERS[:2]) == 2 and manager.add_sources(download_id, PEERS[:1]) == 0
        await _until(manager, download_id, DownloadStatus.FINISHED)
        await _until(manager, late, DownloadStatus.CANCELED)
        nursery.cancel_scope.cancel()
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    info = manager.info(late)
    assert info is not None and info.error == "no source" and manager.add_sources(late, PEERS) == 0
    assert manager.forget_ended(keep=3600) == 0
    await trio.sleep(3600)
    assert manager.forget_ended(keep=3600) == 2 and manager.list() == []
    assert json.loads((tmp_path / "state.json").read_text())["downloads"] == []


@settings(max_examples=25)
@given(
    liars=st.sets(st.integers(0, 2), max_size=2),
    offsets=st.sets(st.integers(0, len(CONTENT) - 1), min_size=1, max_size=4),
    workers=st.integers(1, 4),
)
def test_any_forgery_with_one_honest_source_still_gives_the_file(
    tmp_path_factory: pytest.TempPathFactory, liars: set[int], offsets: set[int], workers: int
) -> None:
    directory = tmp_path_factory.mktemp("dl")
    source = _source(PEERS, forge=frozenset(PEERS[i] for i in liars), forge_offsets=frozenset(offsets))
    manager = DownloadManager(source, directory / "state.json", workers_per_download=workers)
    download_id = manager.start(HASH, len(CONTENT), PEERS, directory, "file.bin", merkle_root=ROOT)
    assert trio.run(_download, manager, download_id) is DownloadStatus.FINISHED
    assert (directory / "file.bin").read_bytes() == CONTENT


async def test_runs_fetch_consecutive_pieces_in_one_request_and_check_each(tmp_path: Path) -> None:
    liar, honest = PEERS[0], PEERS[1]
    size = MINIMUM_FRAGMENT_SIZE
    source = _source([liar, honest], forge=frozenset({liar}), forge_offsets=frozenset({2 * size + 7}))
    manager = DownloadManager(source, tmp_path / "state.json", workers_per_download=1, run_bytes=4 << 20)
    download_id = manager.start(HASH, len(CONTENT), [liar, honest], tmp_path, "file.bin", merkle_root=ROOT)
    assert await _download(manager, download_id) is DownloadStatus.FINISHED
    assert (tmp_path / "file.bin").read_bytes() == CONTENT
    # six pieces, two sources, one worker: the first request asks for three pieces at once; of
    # them only the forged one was rejected and asked again, from the other source
    assert source.requests[0] == (liar, 0, 3 * size)
    assert len(source.requests) < 6
    covering = [(peer, offset) for peer, offset, length in source.requests if offset <= 2 * size + 7 < offset + length]
    assert covering == [(liar, 0), (honest, 2 * size)]
    info = manager.info(download_id)
    assert info is not None and info.rejected_pieces == 1
