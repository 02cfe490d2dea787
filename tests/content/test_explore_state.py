"""Explore (recent files, a peer's files and profile) and the state files that survive a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from peernet._chains import ChainPolicy, sync_chain
from peernet._explore import TYPE_BINARY_LIKE, owner_files, profile_of, recent_files
from peernet._state import (
    KnownPeer,
    load_known_peers,
    load_published_keywords,
    save_known_peers,
    save_published_keywords,
    write_json_atomic,
)
from peernet_chain import ChainCache, FileRecord, FileTag, ProfileField

from ._helpers import ChainServer, key, open_chain


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ChainCache]:
    with ChainCache(tmp_path / "cache", map_size=1 << 26) as opened:
        yield opened


def _file(number: int, file_type: int) -> FileRecord:
    return FileRecord(
        bytes([number]) * 32,
        uuid.UUID(int=number + 1),
        bytes([number]) * 32,
        262144,
        file_type,
        0,
        number,
        (FileTag(0, b"file %d" % number),),
    )


async def _cache_chains(tmp_path: Path, cache: ChainCache) -> None:
    server, policy = ChainServer(), ChainPolicy(min_interval=0)
    prolific, quiet = open_chain(tmp_path / "prolific", key(60)), open_chain(tmp_path / "quiet", key(61))
    for number in range(20):
        prolific.add_files([_file(number, 1)], 1000 + number)  # block 0 holds file 0
    quiet.add_files([_file(100, 6)], 500)
    quiet.write_profile([ProfileField(0, b"Quiet Quentin")], 400)
    for chain in (prolific, quiet):
        version, height = server.serve(chain)
        await sync_chain(server, cache, policy, chain.owner.public_key, version, height, 0)


async def test_recent_files_share_the_page_and_include_block_zero(tmp_path: Path, cache: ChainCache) -> None:
    await _cache_chains(tmp_path, cache)
    page = recent_files(cache, limit=5)
    # the prolific owner gets its 20 % quota (1) first; the quiet one's old file is not crowded out
    assert [f.record.size for f in page] == [19, 18, 17, 16, 100]
    assert [f.record.size for f in recent_files(cache, limit=5, offset=5)] == [15, 14, 13, 12, 11]
    assert [f.record.size for f in recent_files(cache, limit=3, file_type=TYPE_BINARY_LIKE)] == [100]
    assert [f.record.size for f in recent_files(cache, limit=3, file_type=6)] == [100]
    assert recent_files(cache, limit=0) == []
    files = owner_files(key(60).public_key, cache, limit=100)
    assert len(files) == 20 and files[-1].block_number == 0 and files[0].date == 1019
    own = open_chain(tmp_path / "own", key(62))
    own.add_files([_file(7, 1)], 5)
    assert [f.record.size for f in owner_files(key(62).public_key, cache, own)] == [7]
    assert profile_of(key(61).public_key, cache) == {0: b"Quiet Quentin"}
    assert profile_of(key(63).public_key, cache) == {}


def test_known_peers_round_trip_bounded_and_tolerant(tmp_path: Path) -> None:
    path = tmp_path / "state" / "peers.json"
    assert load_known_peers(path) == []
    peers = [
        KnownPeer(key(70 + n).public_key, (("127.0.0.1", 1000 + n), ("::1", 2000 + n)), float(n)) for n in range(5)
    ]
    assert save_known_peers(path, peers) == 5
    assert load_known_peers(path) == sorted(peers, key=lambda p: -p.last_seen)
    write_json_atomic(path, {"peers": [{"key": "zz", "endpoints": [], "seen": 1}, {"key": key(1).public_key.hex()}]})
    assert load_known_peers(path) == []
    path.write_text("{not json")
    assert load_known_peers(path) == []
    assert [p.name for p in path.parent.iterdir()] == ["peers.json"]  # no temporary files left


def test_published_keywords_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keywords.json"
    published = {bytes([n]) * 32: 100.0 + n for n in range(3)}
    save_published_keywords(path, published)
    assert load_published_keywords(path) == published
    write_json_atomic(path, {"keywords": {"00": 1, "ab" * 32: "x", "cd" * 32: 5}})
    assert load_published_keywords(path) == {bytes.fromhex("cd" * 32): 5.0}
