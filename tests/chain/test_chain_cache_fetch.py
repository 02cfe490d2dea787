"""The cache of other users' chains and fetching through the transfer interface (in-memory fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from test_chain_validation import build_chain

from peernet_chain import (
    CacheLimits,
    ChainCache,
    ChainValidationError,
    FetchError,
    FetchRange,
    RefreshPlan,
    fetch_chain,
)
from peernet_proto import PrivateKey, PublicKey

ALICE = PrivateKey.from_bytes(bytes(31) + b"\x31")
BOB = PrivateKey.from_bytes(bytes(31) + b"\x32")
CAROL = PrivateKey.from_bytes(bytes(31) + b"\x33")

Tamper = Callable[[int, bytes], bytes | None]


class FakePeer:
    """Serves chains like the GetBlock server; ``tamper`` may alter or drop what it sends."""

    def __init__(self, chains: dict[PublicKey, list[bytes]], tamper: Tamper | None = None) -> None:
        self.chains = chains
        self.tamper = tamper
        self.requests: list[tuple[list[FetchRange], int, int]] = []
        self.closed = 0

    async def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[FetchRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        self.requests.append((list(ranges), max_block_size, limit_count))
        chain = self.chains.get(owner, [])
        try:
            for block_range in ranges:
                for number in range(block_range.first, block_range.first + block_range.count):
                    raw = chain[number] if number < len(chain) else None
                    if raw is not None and len(raw) > max_block_size:
                        raw = None
                    if self.tamper is not None and raw is not None:
                        raw = self.tamper(number, raw)
                    yield number, raw
        finally:
            self.closed += 1


@pytest.fixture
def cache(tmp_path: Path) -> ChainCache:
    with ChainCache(tmp_path / "cache", map_size=1 << 26) as opened:
        yield opened


async def test_fetch_validates_and_caches_then_extends(cache: ChainCache) -> None:
    chain = build_chain(ALICE, 2, 6)
    peer = FakePeer({ALICE.public_key: chain[:4]})
    result = await fetch_chain(peer, cache, ALICE.public_key, 2, 4)
    assert result.complete and result.fetched == 4
    assert cache.blocks(ALICE.public_key) == chain[:4]
    peer.chains[ALICE.public_key] = chain
    result = await fetch_chain(peer, cache, ALICE.public_key, 2, 6)
    assert result.fetched == 2 and cache.blocks(ALICE.public_key) == chain
    assert peer.requests[-1][0] == [FetchRange(4, 2)]
    # nothing new announced: nothing requested
    assert (await fetch_chain(peer, cache, ALICE.public_key, 2, 6)).fetched == 0
    assert len(peer.requests) == 2


async def test_higher_version_replaces_lower_version_is_ignored(cache: ChainCache) -> None:
    old, new = build_chain(ALICE, 1, 3), build_chain(ALICE, 2, 2)
    await fetch_chain(FakePeer({ALICE.public_key: old}), cache, ALICE.public_key, 1, 3)
    await fetch_chain(FakePeer({ALICE.public_key: new}), cache, ALICE.public_key, 2, 2)
    assert cache.blocks(ALICE.public_key) == new
    peer = FakePeer({ALICE.public_key: old})
    result = await fetch_chain(peer, cache, ALICE.public_key, 1, 3)  # rollback announcement
    assert result.fetched == 0 and peer.requests == []
    assert cache.blocks(ALICE.public_key) == new
    # a lower height in the same version does not delete either
    await fetch_chain(peer, cache, ALICE.public_key, 2, 1)
    assert cache.blocks(ALICE.public_key) == new
    # a stale plan for an older version cannot overwrite the cache
    stale = RefreshPlan(version=1, height=3, first=0, count=3, replace=True)
    assert cache.store(ALICE.public_key, stale, old).version == 2
    assert cache.blocks(ALICE.public_key) == new


def _forge_with(key: PrivateKey) -> Tamper:
    forged = build_chain(key, 2, 4)
    return lambda number, raw: forged[number] if number == 2 else raw


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_forge_with(CAROL), "owner"),  # block signed by someone else
        (lambda n, raw: build_chain(ALICE, 2, 4, salt=50)[n] if n == 2 else raw, "link"),  # a fork
        (lambda n, raw: build_chain(ALICE, 3, 4)[n] if n == 2 else raw, "version"),  # refactored mid-way
        (lambda n, raw: raw[:-1] if n == 3 else raw, "decode"),  # truncated
    ],
)
async def test_bad_chain_is_rejected_and_cache_untouched(
    cache: ChainCache, tamper: Tamper, reason: str
) -> None:
    before = build_chain(ALICE, 1, 2)
    await fetch_chain(FakePeer({ALICE.public_key: before}), cache, ALICE.public_key, 1, 2)
    peer = FakePeer({ALICE.public_key: build_chain(ALICE, 2, 4)}, tamper)
    with pytest.raises(ChainValidationError) as info:
        await fetch_chain(peer, cache, ALICE.public_key, 2, 4)
    assert info.value.reason == reason
    assert peer.closed == 1
    assert cache.get(ALICE.public_key) is not None and cache.get(ALICE.public_key).version == 1  # type: ignore[union-attr]
    assert cache.blocks(ALICE.public_key) == before


class Misbehaving:
    def __init__(self, answers: list[tuple[int, bytes | None]]) -> None:
        self.answers = answers

    async def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[FetchRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        for answer in self.answers:
            yield answer


async def test_transfer_violations(cache: ChainCache) -> None:
    chain = build_chain(ALICE, 0, 3)
    for answers, reason in [
        ([(0, chain[0]), (2, chain[2])], "range"),  # skipped a number
        ([(0, chain[0]), (0, chain[0])], "range"),  # duplicate
        ([(0, chain[0]), (1, chain[1]), (2, chain[2]), (3, chain[2])], "range"),  # more than asked
        ([(0, b"\x00" * 60_000)], "size"),
    ]:
        with pytest.raises(FetchError) as info:
            await fetch_chain(Misbehaving(answers), cache, ALICE.public_key, 0, 3)
        assert info.value.reason == reason
        assert cache.get(ALICE.public_key) is None


async def test_unavailable_block_keeps_valid_prefix(cache: ChainCache) -> None:
    chain = build_chain(ALICE, 0, 5)
    peer = FakePeer({ALICE.public_key: chain}, lambda n, raw: None if n == 3 else raw)
    result = await fetch_chain(peer, cache, ALICE.public_key, 0, 5)
    assert not result.complete and result.fetched == 3
    assert cache.blocks(ALICE.public_key) == chain[:3]
    peer.tamper = None
    assert (await fetch_chain(peer, cache, ALICE.public_key, 0, 5)).fetched == 2


async def test_request_limits(tmp_path: Path) -> None:
    limits = CacheLimits(
        max_blocks_per_owner=3, max_bytes_per_owner=60_000, max_total_bytes=120_000, max_block_size=50_096
    )
    with ChainCache(tmp_path / "c", limits, map_size=1 << 26) as cache:
        peer = FakePeer({ALICE.public_key: build_chain(ALICE, 0, 10)})
        result = await fetch_chain(peer, cache, ALICE.public_key, 0, 10)
        assert peer.requests == [([FetchRange(0, 3)], 50_096, 3)]
        assert result.fetched == 3 and result.chain is not None and result.chain.height == 10


async def test_quotas_and_lru_eviction(tmp_path: Path) -> None:
    chains = {key.public_key: build_chain(key, 0, 4) for key in (ALICE, BOB, CAROL)}
    size = sum(len(raw) for raw in chains[ALICE.public_key])
    limits = CacheLimits(max_bytes_per_owner=size, max_total_bytes=2 * size + 10, max_block_size=size)
    peer = FakePeer(chains)
    with ChainCache(tmp_path / "c", limits, map_size=1 << 26) as cache:
        await fetch_chain(peer, cache, ALICE.public_key, 0, 4)
        await fetch_chain(peer, cache, BOB.public_key, 0, 4)
        cache.blocks(ALICE.public_key)  # Alice used more recently than Bob
        await fetch_chain(peer, cache, CAROL.public_key, 0, 4)
        assert set(cache.owners()) == {ALICE.public_key, CAROL.public_key}
        assert cache.total_size <= limits.max_total_bytes and cache.owner_count == 2
    limits = CacheLimits(max_owners=1)
    with ChainCache(tmp_path / "d", limits, map_size=1 << 26) as cache:
        for key in (ALICE, BOB):
            await fetch_chain(peer, cache, key.public_key, 0, 4)
        assert cache.owners() == [BOB.public_key]


async def test_per_owner_byte_quota(tmp_path: Path) -> None:
    chain = build_chain(ALICE, 0, 6)
    limits = CacheLimits(
        max_bytes_per_owner=len(chain[0]) * 2 + 5, max_total_bytes=1 << 20, max_block_size=len(chain[0]) + 5
    )
    with ChainCache(tmp_path / "c", limits, map_size=1 << 26) as cache:
        result = await fetch_chain(FakePeer({ALICE.public_key: chain}), cache, ALICE.public_key, 0, 6)
        assert result.fetched == 2 and not result.complete
        assert cache.blocks(ALICE.public_key) == chain[:2]
