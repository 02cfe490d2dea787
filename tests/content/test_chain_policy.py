"""Keeping other users' chains: fetch decisions, back-off, flapping, forged and truncated chains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peernet._chains import ChainPolicy, SyncOutcome, sync_chain
from peernet_chain import CacheLimits, ChainCache
from peernet_chain import FileRecord as _FileRecord

from ._helpers import ChainServer, key, open_chain

ALICE, MALLORY = key(40), key(41)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ChainCache]:
    limits = CacheLimits(max_blocks_per_owner=8, max_bytes_per_owner=1 << 20, max_total_bytes=1 << 22)
    with ChainCache(tmp_path / "cache", limits, map_size=1 << 26) as opened:
        yield opened


def _file(number: int) -> _FileRecord:
    import uuid

    return _FileRecord(bytes([number]) * 32, uuid.UUID(int=number + 1), bytes([number]) * 32, 262144, 1, 10, number)


async def test_fetch_then_up_to_date_and_no_downgrade(tmp_path: Path, cache: ChainCache) -> None:
    chain = open_chain(tmp_path / "alice", ALICE)
    chain.add_files([_file(1)], 10)
    chain.add_files([_file(2)], 11)
    server, policy = ChainServer(), ChainPolicy(min_interval=0)
    version, height = server.serve(chain)
    first = await sync_chain(server, cache, policy, ALICE.public_key, version, height, now=0)
    assert first.outcome is SyncOutcome.FETCHED and first.fetched == 2 and first.changed
    again = await sync_chain(server, cache, policy, ALICE.public_key, version, height, now=1)
    assert again.outcome is SyncOutcome.UP_TO_DATE and server.requests == 1
    chain.delete_files([_file(1).id])  # version 1
    new_version, new_height = server.serve(chain)
    assert (await sync_chain(server, cache, policy, ALICE.public_key, new_version, new_height, 2)).changed
    # an older announcement (version 0, height 2) changes nothing
    old = await sync_chain(server, cache, policy, ALICE.public_key, version, height, now=3)
    assert old.outcome is SyncOutcome.UP_TO_DATE
    cached = cache.get(ALICE.public_key)
    assert cached is not None and (cached.version, cached.stored) == (1, 1)


async def test_a_peer_that_keeps_changing_its_chain_is_fetched_once_per_interval(
    tmp_path: Path, cache: ChainCache
) -> None:
    chain = open_chain(tmp_path / "alice", ALICE)
    server, policy = ChainServer(), ChainPolicy(min_interval=60)
    outcomes = []
    for step in range(20):  # a new version every second
        chain.add_files([_file(step)], step)
        if step % 2:
            chain.delete_files([_file(step).id])
        version, height = server.serve(chain)
        outcomes.append((await sync_chain(server, cache, policy, ALICE.public_key, version, height, step)).outcome)
    assert outcomes.count(SyncOutcome.FETCHED) == 1 and server.requests == 1
    assert policy.counters["deferred"] == 19
    version, height = server.serve(chain)
    assert (
        await sync_chain(server, cache, policy, ALICE.public_key, version, height, 61)
    ).outcome is SyncOutcome.FETCHED
    cached = cache.get(ALICE.public_key)
    assert cached is not None and (cached.version, cached.height) == (version, height)


async def test_forged_chain_changes_nothing_and_backs_off(tmp_path: Path, cache: ChainCache) -> None:
    good = open_chain(tmp_path / "alice", ALICE)
    good.add_files([_file(1)], 10)
    server, policy = ChainServer(), ChainPolicy(min_interval=0, backoff_initial=10, backoff_max=40)
    version, height = server.serve(good)
    await sync_chain(server, cache, policy, ALICE.public_key, version, height, 0)
    before = cache.get(ALICE.public_key)
    # Mallory announces a "new version" of Alice's chain, signed with its own key
    forged = open_chain(tmp_path / "forged", MALLORY)
    forged.add_files([_file(9)], 10)
    forged.delete_chain()
    forged.add_files([_file(9)], 11)
    _, raws = forged.snapshot()
    server.chains[ALICE.public_key] = raws
    result = await sync_chain(server, cache, policy, ALICE.public_key, 1, 1, 100)
    assert result.outcome is SyncOutcome.REJECTED and cache.get(ALICE.public_key) == before
    assert policy.retry_at(ALICE.public_key) == 110
    skipped = await sync_chain(server, cache, policy, ALICE.public_key, 1, 1, 105)
    assert skipped.outcome is SyncOutcome.SKIPPED and server.requests == 2
    await sync_chain(server, cache, policy, ALICE.public_key, 1, 1, 110)
    assert policy.retry_at(ALICE.public_key) == 130  # doubled
    for now in (130, 170, 210):
        await sync_chain(server, cache, policy, ALICE.public_key, 1, 1, now)
    assert policy.retry_at(ALICE.public_key) == 250  # capped at backoff_max
    assert cache.get(ALICE.public_key) == before


async def test_truncated_chain_keeps_the_valid_prefix_and_backs_off(tmp_path: Path, cache: ChainCache) -> None:
    chain = open_chain(tmp_path / "alice", ALICE)
    for number in range(4):
        chain.add_files([_file(number)], number)
    server, policy = ChainServer(), ChainPolicy(min_interval=0, backoff_initial=10)
    version, height = server.serve(chain)
    server.chains[ALICE.public_key] = server.chains[ALICE.public_key][:2]  # the peer serves only 2 of 4
    result = await sync_chain(server, cache, policy, ALICE.public_key, version, height, 0)
    assert result.outcome is SyncOutcome.PARTIAL and result.fetched == 2
    cached = cache.get(ALICE.public_key)
    assert cached is not None and cached.stored == 2 and policy.retry_at(ALICE.public_key) == 10
    server.serve(chain)
    result = await sync_chain(server, cache, policy, ALICE.public_key, version, height, 10)
    assert result.outcome is SyncOutcome.FETCHED and result.fetched == 2


async def test_policy_state_is_bounded(tmp_path: Path, cache: ChainCache) -> None:
    policy = ChainPolicy(max_tracked=5)
    server = ChainServer()
    for number in range(50):
        owner = key(100 + number)
        chain = open_chain(tmp_path / f"c{number}", owner)
        chain.add_files([_file(number)], 1)
        version, height = server.serve(chain)
        await sync_chain(server, cache, policy, owner.public_key, version, height, 0)
        chain.close()
    assert len(policy._peers) <= 5
