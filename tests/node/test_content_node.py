"""Content nodes on real UDP on loopback: one shares a file, the other finds it by keyword (verified
against the owner's chain, fetched over GetBlock) and downloads it (verified) over Transfer."""

from __future__ import annotations

import os
import time
from pathlib import Path

import trio

from peernet import Node
from peernet._content import NodeContent
from peernet._services import ContentService
from peernet.downloads import DownloadStatus
from peernet_proto import PrivateKey, RootPeer, UdpTransport, hash_data


async def _content_node(
    path: Path, roots: list[RootPeer], key: PrivateKey | None = None, *, task_status: trio.TaskStatus[ContentService]
) -> None:
    key = key or PrivateKey.generate()
    with NodeContent(path, key) as content:
        async with UdpTransport.open([("127.0.0.1", 0)]) as udp:
            node = Node(key, udp, root_peers=roots, content=content, refresh_interval=10.0)
            service = ContentService(node, content, sync_interval=0.2)
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                await nursery.start(service.run)
                task_status.started(service)
                await trio.sleep_forever()


async def test_share_search_download_on_loopback(tmp_path: Path) -> None:
    data = os.urandom(5_000_000)
    source = tmp_path / "holiday-video.bin"
    source.write_bytes(data)
    async with trio.open_nursery() as nursery:
        owner: ContentService = await nursery.start(_content_node, tmp_path / "a", [])
        root = RootPeer(owner.node.public_key, tuple(owner.node.runner.transport.local_endpoints()))
        seeker: ContentService = await nursery.start(_content_node, tmp_path / "b", [root])
        shared = owner.content.share(source, int(time.time()))
        with trio.fail_after(30):
            while True:
                result = await seeker.search("holiday")
                if result.hits:
                    break
                await trio.sleep(0.2)
        hit = result.hits[0]
        assert hit.file_hash == hash_data(data) == shared.record.hash
        assert hit.owner == owner.node.public_key.to_bytes() and hit.size == len(data)
        # The owner's chain is in the seeker's cache now, and indexed.
        assert seeker.content.cache.get(owner.node.public_key) is not None
        assert [f.file.name for f in seeker.content.search_local("video")] == ["holiday-video.bin"]

        downloads = tmp_path / "downloads"
        downloads.mkdir()
        download_id = await seeker.start_download(hit.file_hash, owner.node.public_key.node_id, downloads)
        with trio.fail_after(30):
            while (info := seeker.downloads.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
                await seeker.downloads.wait_changed()
        assert info is not None and info.status == DownloadStatus.FINISHED, info
        assert (downloads / "holiday-video.bin").read_bytes() == data
        nursery.cancel_scope.cancel()


async def test_known_peers_are_contacted_after_a_restart(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        first: ContentService = await nursery.start(_content_node, tmp_path / "a", [])
        root = RootPeer(first.node.public_key, tuple(first.node.runner.transport.local_endpoints()))
        key = PrivateKey.generate()
        with trio.CancelScope() as scope:
            second_run = trio.CancelScope()

            async def second_node(*, task_status: trio.TaskStatus[ContentService]) -> None:
                with second_run:
                    await _content_node(tmp_path / "b", [root], key, task_status=task_status)

            second: ContentService = await nursery.start(second_node)
            with trio.fail_after(10):
                while second.node.engine.peer(first.node.public_key) is None:
                    await trio.sleep(0.05)
            second_run.cancel()
        assert not scope.cancelled_caught
        await trio.sleep(0.1)
        assert first.node.public_key.hex() in (tmp_path / "b" / "peers.json").read_text()
        again: ContentService = await nursery.start(_content_node, tmp_path / "b", [], key)  # no root peer now
        with trio.fail_after(10):
            while again.node.engine.peer(first.node.public_key) is None:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
