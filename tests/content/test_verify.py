"""Verified search: hits are shown only when the owner's signed chain holds the record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from peernet._catalog import ChainFile, chain_files, indexed_file, refresh_index
from peernet._share import FileMetadata, share_file
from peernet._verify import (
    CandidateHit,
    HitVerifier,
    SearchFilter,
    SortOrder,
    VerifiedFile,
    filter_files,
    hits_from_entries,
    hits_from_index,
    merge_results,
    sort_files,
)
from peernet_chain import BlockSource, ChainCache, LocalChain, Warehouse, decode_block
from peernet_dht import IndexedFile, KeywordEntry, LocalIndex, entries_for_file
from peernet_proto import PrivateKey, PublicKey

from ._helpers import ChainServer, key, open_chain

VICTIM, HONEST = key(10), key(11)
LIARS = [key(20), key(21), key(22)]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ChainCache]:
    with ChainCache(tmp_path / "cache", map_size=1 << 26) as opened:
        yield opened


def _share(tmp_path: Path, owner: PrivateKey, files: dict[str, bytes], date: int = 1000) -> LocalChain:
    chain = open_chain(tmp_path / owner.public_key.hex()[:12], owner)
    warehouse = Warehouse(tmp_path / ("wh" + owner.public_key.hex()[:12]))
    for offset, (name, content) in enumerate(files.items()):
        path = tmp_path / name
        path.write_bytes(content)
        share_file(chain, warehouse, path, date + offset, FileMetadata(description="sunset beach"))
    return chain


class Locator:
    """Reaches owners through a ChainServer (the chain state as the owner announced it)."""

    def __init__(self, server: ChainServer, states: dict[PublicKey, tuple[int, int]]) -> None:
        self.server, self.states = server, states

    async def locate(self, owner: PublicKey) -> tuple[BlockSource, int, int] | None:
        state = self.states.get(owner)
        return None if state is None else (self.server, *state)


def _lying_entries(victim_file: ChainFile) -> list[KeywordEntry]:
    """What three lying nodes say the victim shares."""
    keyword = b"\x01" * 32
    owner = VICTIM.public_key.to_bytes()
    fake_hash = b"\xee" * 32
    return [
        KeywordEntry(keyword, uuid.uuid4().bytes, owner, fake_hash, 666, "Sunset (victim's private photos).exe"),
        # a real file ID of the victim but another content hash
        KeywordEntry(
            keyword, victim_file.record.id.bytes, owner, fake_hash, 666, "Sunset (victim's private photos).exe"
        ),
        # the real file ID and hash but a forged size
        KeywordEntry(keyword, victim_file.record.id.bytes, owner, victim_file.record.hash, 1, "x.exe"),
    ]


async def test_forged_hits_are_dropped_and_counted(tmp_path: Path, cache: ChainCache) -> None:
    victim = _share(tmp_path, VICTIM, {"sunset.jpg": b"\xff\xd8\xff" + b"pixels" * 50})
    honest = _share(tmp_path, HONEST, {"sunset.txt": b"a sunset poem"})
    server = ChainServer()
    states = {VICTIM.public_key: server.serve(victim), HONEST.public_key: server.serve(honest)}
    verifier = HitVerifier(cache, locator=Locator(server, states))
    victim_file = ChainFile(VICTIM.public_key, victim.files()[0], 0, 0)
    honest_entries = [e for e in entries_for_file(_indexed(honest)) if e.name][:1]
    hits = hits_from_entries(honest_entries + _lying_entries(victim_file))
    report = await verifier.verify(hits, now=0.0)
    assert [r.file.record.id for r in report.files] == [honest.files()[0].id]
    assert report.files[0].file.name == "sunset.txt"
    assert report.dropped == {"not_in_chain": 1, "mismatch": 2} and report.dropped_total == 3
    assert verifier.dropped == report.dropped
    # the victim's real file, claimed correctly, is shown, with the record's own name
    real = CandidateHit(VICTIM.public_key, victim_file.record.id, victim_file.record.hash)
    report = await verifier.verify([real, real], now=1.0)
    assert len(report.files) == 1 and report.files[0].file.name == "sunset.jpg"
    assert cache.get(VICTIM.public_key) is not None  # fetched once, cached


async def test_unreachable_or_forged_chain_makes_hits_unverifiable(tmp_path: Path, cache: ChainCache) -> None:
    victim = _share(tmp_path, VICTIM, {"a.txt": b"aaa"})
    record = victim.files()[0]
    hit = CandidateHit(VICTIM.public_key, record.id, record.hash)
    assert (await HitVerifier(cache).verify([hit], 0.0)).dropped == {"chain_unavailable": 1}
    # a liar serves a chain for the victim's key, signed by itself
    forger = open_chain(tmp_path / "forger", LIARS[0])
    forger.add_files([record], 5)
    state, raws = forger.snapshot()
    server = ChainServer({VICTIM.public_key: raws})
    verifier = HitVerifier(cache, locator=Locator(server, {VICTIM.public_key: (state.version, state.height)}))
    report = await verifier.verify([hit], 0.0)
    assert report.files == () and report.dropped == {"chain_unavailable": 1}
    assert cache.get(VICTIM.public_key) is None
    assert decode_block(raws[0]).owner == LIARS[0].public_key


def _indexed(chain: LocalChain) -> IndexedFile:
    return indexed_file(next(iter(chain_files(chain.blocks()))))


async def test_local_index_over_own_and_cached_chains(tmp_path: Path, cache: ChainCache) -> None:
    own = _share(tmp_path, key(30), {"sunset own.txt": b"own"})
    other = _share(tmp_path, key(31), {"sunset other.txt": b"other", "moon.txt": b"moon"})
    server = ChainServer()
    verifier = HitVerifier(cache, own_chain=own, locator=Locator(server, {key(31).public_key: server.serve(other)}))
    await verifier.verify([CandidateHit(key(31).public_key, other.files()[0].id)], 0.0)
    index = LocalIndex()
    assert refresh_index(index, cache, own) == 3
    verifier = HitVerifier(cache, own_chain=own)
    report = await verifier.verify(hits_from_index(index, "sunset"), 0.0)  # every description says sunset
    assert sorted(r.file.name for r in report.files) == ["moon.txt", "sunset other.txt", "sunset own.txt"]
    report = await verifier.verify(hits_from_index(index, "moon"), 0.0)
    assert [r.file.name for r in report.files] == ["moon.txt"] and report.dropped == {}
    # a stale index entry (the owner deleted the file) is dropped on verification
    own.delete_files([own.files()[0].id])
    report = await verifier.verify(hits_from_index(index, "own"), 0.0)
    assert report.files == () and report.dropped == {"not_in_chain": 1}


def _result(owner: PrivateKey, name: str, size: int, date: int, file_type: int, content: bytes) -> VerifiedFile:
    from peernet_chain import FileRecord, FileTag

    record = FileRecord(
        content,
        uuid.uuid4(),
        content,
        262144,
        file_type,
        0,
        size,
        (FileTag(0, name.encode()), FileTag(3, date.to_bytes(8, "little"))),
    )
    return VerifiedFile(ChainFile(owner.public_key, record, 0, 0))


def test_filters_sorting_and_merge() -> None:
    a = _result(key(1), "b", 10, 300, 1, b"\x01" * 32)
    b = _result(key(2), "a", 30, 100, 2, b"\x02" * 32)
    c = _result(key(3), "c", 20, 200, 1, b"\x01" * 32)
    results = merge_results([a], [b, c, a])
    assert [r.file.name for r in results] == ["b", "a", "c"]
    assert [r.shared_by for r in results] == [2, 1, 2]
    assert [r.file.name for r in sort_files(results, SortOrder.NAME_ASC)] == ["a", "b", "c"]
    assert [r.file.name for r in sort_files(results, SortOrder.SIZE_DESC)] == ["a", "c", "b"]
    assert [r.file.name for r in sort_files(results, SortOrder.DATE_ASC)] == ["a", "c", "b"]
    assert [r.file.name for r in sort_files(results, SortOrder.SHARED_BY_ASC)] == ["a", "b", "c"]
    assert [r.file.name for r in sort_files(results, 99)] == ["b", "a", "c"]
    assert [r.file.name for r in filter_files(results, SearchFilter(file_type=1))] == ["b", "c"]
    assert [r.file.name for r in filter_files(results, SearchFilter(size_min=15, size_max=25))] == ["c"]
    assert [r.file.name for r in filter_files(results, SearchFilter(date_from=150, date_to=300))] == ["b", "c"]
    assert [r.file.name for r in filter_files(results, SearchFilter(date_from=300, date_to=150))] == ["b", "a", "c"]
    assert [r.file.name for r in filter_files(results, SearchFilter(node=key(2).public_key.node_id))] == ["a"]
