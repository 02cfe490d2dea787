"""Thirty content nodes on the in-memory network (five of them Go-like, without extension bits) under
simulated time: one shares files, the others find each by keyword and download one, verified.

Three lying nodes answer searches with forged hits (a file ID the owner never published, a wrong
hash for a real file, a file of their own that their chain does not hold) and serve forged bytes
of a real file they claim in their chain. No forged hit is shown and no forged byte is kept: every
piece is checked on arrival (against the merkle tree, fetched through the merkle extension, for
files of several pieces).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import attrs
import trio
from trio.testing import MockClock

from peernet import Node
from peernet._content import NodeContent
from peernet._services import ContentService
from peernet_dht import IndexedFile
from peernet_dht._search import entries_for_file
from peernet_proto import PrivateKey, RootPeer, hash_data
from peernet_proto.testing import MemoryNetwork
from peernet_proto.transfer import MemoryFiles
from tests.node.netsim import GoStylePeer

COUNT, GO_EVERY, LIARS = 30, 6, (3, 8, 13)
NAMES = ["alpine meadow.jpg", "harbour lights.mp4", "winter sonata.flac"]


async def _start(nursery: trio.Nursery, network: MemoryNetwork, tmp: Path) -> tuple[list[ContentService], int]:
    rng = random.Random(4)
    services: list[ContentService] = []
    roots: list[RootPeer] = []
    go = 0
    for index in range(COUNT):
        host = network.add_host([f"10.0.{index}.1"], ports=[112])
        key = PrivateKey(rng.getrandbits(255).to_bytes(32, "big"))
        if index % GO_EVERY == GO_EVERY - 1:
            go += 1
            await nursery.start(GoStylePeer(key, host, roots, index).runner.run)
            continue
        content = NodeContent(tmp / f"n{index}", key)
        nursery.start_soon(_close_at_end, content)
        node = Node(key, host, user_agent=f"py/{index}", root_peers=roots, content=content,
                    rng=random.Random(index), refresh_interval=30.0)
        service = ContentService(node, content)
        await nursery.start(node.run)
        await nursery.start(service.run)
        services.append(service)
        if not roots:
            roots = [RootPeer(key.public_key, tuple(host.local_endpoints()))]
    return services, go


async def _close_at_end(content: NodeContent) -> None:
    try:
        await trio.sleep_forever()
    finally:
        content.close()


def _lie(liar: ContentService, victim: ContentService, files: dict[str, bytes], tmp: Path) -> None:
    """Forged search entries, and a real record of the victim's file served with forged bytes."""
    real = next(f for f in victim.content.files(victim.content.owner) if f.name == NAMES[0])
    forged = [
        IndexedFile(os.urandom(16), victim.content.owner.to_bytes(), NAMES[0], file_hash=os.urandom(32), size=99),
        IndexedFile(real.record.id.bytes, victim.content.owner.to_bytes(), NAMES[0], file_hash=os.urandom(32),
                    size=real.record.size),
        IndexedFile(os.urandom(16), liar.content.owner.to_bytes(), NAMES[0] + " remastered", file_hash=os.urandom(32),
                    size=5),
    ]
    own = liar.node.dht.service._own  # an attacker answers from whatever it likes
    for file in forged:
        own.add(list(entries_for_file(file)))
    path = tmp / f"liar-{liar.content.owner.hex()[:8]}" / NAMES[0]
    path.parent.mkdir()
    path.write_bytes(files[NAMES[0]])
    liar.content.share(path, int(time.time()))
    garbage = bytes(b ^ 0x5A for b in files[NAMES[0]])
    liar.node.transfer.files = MemoryFiles({real.record.hash: garbage})


async def test_find_and_download_with_liars(autojump_clock: MockClock, tmp_path: Path) -> None:
    network = MemoryNetwork(seed=3, latency=0.02, loss=0.01)
    # The first file spans five 256 KiB pieces: they are checked against the merkle tree from the owner.
    files = {name: os.urandom(200_000 + 1000 * i) for i, name in enumerate(NAMES)}
    files[NAMES[0]] = os.urandom(1_200_000)
    async with trio.open_nursery() as nursery:
        services, go = await _start(nursery, network, tmp_path)
        assert go == COUNT // GO_EVERY and len(services) == COUNT - go
        await trio.sleep(20.0)
        owner = services[1]
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
            owner.content.share(tmp_path / name, int(time.time()))
        liars = [services[i] for i in LIARS]
        for liar in liars:
            _lie(liar, owner, files, tmp_path)
        await trio.sleep(10.0)  # published; liars' chains announced

        honest = [s for i, s in enumerate(services) if s is not owner and i not in LIARS]
        owner_key = owner.content.owner.to_bytes()
        downloads = tmp_path / "downloads"
        rejected = 0
        for index, seeker in enumerate(honest):
            word = NAMES[index % 3].split()[0]
            result = await seeker.search(word)
            wanted = hash_data(files[NAMES[index % 3]])
            by_owner = [h for h in result.hits if h.owner == owner_key]
            assert [(h.name, h.file_hash) for h in by_owner] == [(NAMES[index % 3], wanted)], (index, result.hits)
            for hit in result.hits:  # every hit shown is in its owner's chain, as shown
                assert any(f.record.hash == hit.file_hash and f.record.id.bytes == hit.file_id
                           for f in seeker.find_file(hit.file_hash))
            if index % 3 == 0:  # the liars' copies verify as chain records: sources with forged bytes
                assert {h.owner for h in result.hits} == {owner_key, *(liar.content.owner.to_bytes() for liar in liars)}
            target = downloads / str(index)
            target.mkdir(parents=True)
            download_id = await seeker.start_download(wanted, None, target)
            with trio.fail_after(120):
                while (info := seeker.downloads.info(download_id)) is not None and info.status < 4:
                    await seeker.downloads.wait_changed()
            assert info is not None and info.status == 5, info
            assert (target / NAMES[index % 3]).read_bytes() == files[NAMES[index % 3]]
            assert [p.name for p in target.iterdir()] == [NAMES[index % 3]]  # nothing else kept
            rejected += info.rejected_pieces
        assert rejected > 0  # the liars were asked, and their bytes refused
        (record,) = [f.record for f in honest[0].find_file(hash_data(files[NAMES[0]]), owner.node.public_key.node_id)]
        assert record.size > 4 * 256 * 1024
        tree = await honest[0].merkle.tree(owner.node.public_key, record.hash, record.size, record.merkle_root)
        assert tree is not None and tree.fragment_count == 5 and tree.root_hash == record.merkle_root
        nursery.cancel_scope.cancel()


def test_forged_entries_are_well_formed() -> None:
    """The forged entries the liars use are valid on the wire (so only verification can stop them)."""
    file = IndexedFile(os.urandom(16), PrivateKey.generate().public_key.to_bytes(), "alpine", file_hash=os.urandom(32))
    entries = entries_for_file(file)
    assert entries and all(attrs.has(type(e)) for e in entries)
