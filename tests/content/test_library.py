"""The content library end to end: share on one node, find it on another, download it verified."""

from __future__ import annotations

from pathlib import Path

import trio

from peernet._library import ContentLibrary
from peernet._share import FileMetadata
from peernet._verify import CandidateHit, SearchFilter
from peernet.downloads import DownloadManager, DownloadStatus
from peernet_chain import MINIMUM_FRAGMENT_SIZE, MerkleTree
from peernet_proto import PublicKey

from ._helpers import ChainServer, key


class LibrarySource:
    """A RangeSource serving from libraries' warehouses, as the transfer layer will."""

    def __init__(self, libraries: dict[PublicKey, ContentLibrary]) -> None:
        self.libraries = libraries

    async def read_range(self, peer: PublicKey, file_hash: bytes, offset: int, length: int) -> bytes:
        await trio.sleep(0)
        return self.libraries[peer].read_range(file_hash, offset, length)

    async def merkle_tree(self, peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        return self.libraries[peer].tree_of(file_hash)


async def test_share_find_download(tmp_path: Path) -> None:
    alice = ContentLibrary(tmp_path / "alice", key(80))
    bob = ContentLibrary(tmp_path / "bob", key(81))
    content = bytes(range(256)) * (3 * MINIMUM_FRAGMENT_SIZE // 256 + 7)
    (tmp_path / "Sunset Beach.mp4").write_bytes(content)
    shared = alice.share(tmp_path / "Sunset Beach.mp4", 1_700_000_000, FileMetadata(folder="holiday"))
    assert [r.file.name for r in alice.search_local("sunset")] == ["Sunset Beach.mp4"]

    # Bob hears Alice's announcement and fetches her chain
    server = ChainServer()
    version, height = server.serve(alice.chain)
    result = await bob.on_chain_state(server, alice.owner, version, height, 0.0)
    assert result.changed
    (found,) = bob.search_local("beach", SearchFilter(file_type=3))
    assert found.file.owner == alice.owner
    assert found.file.record.id == shared.record.id and found.file.folder == "holiday"
    assert bob.search_local("beach", SearchFilter(file_type=1)) == []
    assert [f.record.id for f in bob.recent()] == [shared.record.id]
    report = await bob.verify_hits([CandidateHit(alice.owner, shared.record.id, shared.record.hash)], 1.0)
    assert len(report.files) == 1 and report.dropped == {}

    # Bob downloads it from Alice, verified fragment by fragment
    record = found.file.record
    manager = DownloadManager(LibrarySource({alice.owner: alice}), tmp_path / "downloads.json")
    (tmp_path / "dl").mkdir()
    download_id = manager.start(
        record.hash, record.size, [alice.owner], tmp_path / "dl", found.file.name, merkle_root=record.merkle_root
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        with trio.fail_after(30):
            while (info := manager.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
                await manager.wait_changed()
        nursery.cancel_scope.cancel()
    assert info is not None and info.status is DownloadStatus.FINISHED
    assert (tmp_path / "dl" / "Sunset Beach.mp4").read_bytes() == content

    # Alice stops sharing; the restarted libraries still hold their state
    alice.unshare([shared.record.id], delete_content=True)
    assert alice.search_local("sunset") == [] and alice.tree_of(record.hash) is None
    version, height = server.serve(alice.chain)
    await bob.on_chain_state(server, alice.owner, version, height, 1000.0)
    assert bob.search_local("sunset") == []
    alice.close()
    bob.close()
    with ContentLibrary(tmp_path / "bob", key(81)) as reopened:
        cached = reopened.cache.get(key(80).public_key)
        assert cached is not None and cached.version == 1
