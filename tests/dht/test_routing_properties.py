"""Routing-table properties against a brute-force model (hypothesis)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import (
    AddOutcome,
    KeySizeError,
    RoutingTable,
    bucket_index,
    evict_slower_or_farther,
    random_id_in_bucket,
)

from ._helpers import IdNode, as_int, node

ids = st.integers(min_value=0, max_value=2**256 - 1)
# IDs clustered around a few prefixes so that buckets fill up and evictions happen.
clustered_ids = st.tuples(st.integers(0, 3), st.integers(0, 2**12 - 1)).map(lambda t: (t[0] << 254) | t[1])


def first_differing_bit(a: int, b: int) -> int | None:
    bits_a, bits_b = f"{a:0256b}", f"{b:0256b}"
    return next((i for i in range(256) if bits_a[i] != bits_b[i]), None)


@given(ids, ids)
def test_bucket_index_is_255_minus_first_differing_bit(a: int, b: int) -> None:
    p = first_differing_bit(a, b)
    expected = 0 if p is None else 255 - p
    assert bucket_index(a.to_bytes(32, "big"), b.to_bytes(32, "big")) == expected


@given(ids, st.integers(0, 255), st.randoms(use_true_random=False))
def test_refresh_ids_are_256_bit_and_land_in_their_bucket(own: int, bucket: int, rng: random.Random) -> None:
    target = random_id_in_bucket(own.to_bytes(32, "big"), bucket, rng)
    assert len(target) == 32
    assert bucket_index(own.to_bytes(32, "big"), target) == bucket


class Model:
    """Brute force: a flat list per bucket, same rules, no cleverness."""

    def __init__(
        self, own: int, k: int, max_failures: int, replacements: int, settle: float = 60.0, stale: float = 900.0
    ) -> None:
        self.own, self.k, self.max_failures, self.replacements = own, k, max_failures, replacements
        self.settle, self.stale = settle, stale
        self.buckets: dict[int, list[list[object]]] = {}  # entries: [id, rtt, failures, first seen, last seen]
        self.cache: dict[int, list[list[object]]] = {}

    def index(self, x: int) -> int:
        p = first_differing_bit(self.own, x)
        return 0 if p is None else 255 - p

    def add(self, x: int, rtt: float | None, now: float = 0.0) -> AddOutcome:
        if x == self.own:
            return AddOutcome.IGNORED
        b = self.buckets.setdefault(self.index(x), [])
        cache = self.cache.setdefault(self.index(x), [])
        for e in b:
            if e[0] == x:
                b.remove(e)
                b.append([x, rtt if rtt is not None else e[1], 0, e[3], now])
                return AddOutcome.UPDATED
        cache[:] = [e for e in cache if e[0] != x]
        if len(b) < self.k:
            b.append([x, rtt, 0, now, now])
            return AddOutcome.ADDED
        failing = [e for e in b if e[2] > 0]  # type: ignore[operator]
        victim = failing[0] if failing else b[0]
        live = victim[2] == 0 and now - victim[3] >= self.settle and now - victim[4] < self.stale  # type: ignore[operator]
        if not live and evict_slower_or_farther(victim[1], rtt, victim[2], victim[0] ^ self.own, x ^ self.own):  # type: ignore[arg-type, operator]
            b.remove(victim)
            b.append([x, rtt, 0, now, now])
            return AddOutcome.REPLACED
        if self.replacements:
            cache.append([x, rtt, 0, now, now])
            del cache[: max(0, len(cache) - self.replacements)]
        return AddOutcome.CACHED

    def fail(self, x: int) -> None:
        b = self.buckets.get(self.index(x), [])
        for e in b:
            if e[0] == x:
                e[2] += 1  # type: ignore[operator]
                if e[2] >= self.max_failures:  # type: ignore[operator]
                    self.remove(x)
                return

    def remove(self, x: int) -> None:
        i = self.index(x)
        b = self.buckets.get(i, [])
        cache = self.cache.get(i, [])
        cache[:] = [e for e in cache if e[0] != x]
        for e in b:
            if e[0] == x:
                b.remove(e)
                if cache:
                    answered = [e for e in cache if e[1] is not None]
                    best = (answered or cache)[-1]
                    cache.remove(best)
                    b.append(best)
                return

    def nodes(self) -> list[int]:
        return [e[0] for i in sorted(self.buckets) for e in self.buckets[i]]  # type: ignore[misc]


operation = st.one_of(
    st.tuples(st.just("add"), clustered_ids, st.one_of(st.none(), st.integers(1, 500).map(lambda r: r / 1000))),
    st.tuples(st.just("fail"), clustered_ids, st.none()),
    st.tuples(st.just("remove"), clustered_ids, st.none()),
)


@given(
    own=clustered_ids,
    k=st.integers(1, 4),
    max_failures=st.integers(1, 3),
    replacements=st.integers(0, 3),
    ops=st.lists(operation, max_size=120),
    target=ids,
    count=st.integers(0, 30),
    settle=st.sampled_from([0.0, 5.0, 60.0]),
    stale=st.sampled_from([10.0, 900.0]),
)
def test_table_matches_brute_force_model(
    own: int,
    k: int,
    max_failures: int,
    replacements: int,
    ops: list[tuple[str, int, float | None]],
    target: int,
    count: int,
    settle: float,
    stale: float,
) -> None:
    table: RoutingTable[IdNode] = RoutingTable(
        own.to_bytes(32, "big"),
        k=k,
        max_failures=max_failures,
        replacements=replacements,
        settle=settle,
        stale_after=stale,
    )
    model = Model(own, k, max_failures, replacements, settle, stale)
    for step, (op, x, rtt) in enumerate(ops):
        if op == "add":
            assert table.add(node(x), now=float(step), rtt=rtt).outcome == model.add(x, rtt, float(step))
        elif op == "fail":
            table.record_failure(node(x).node_id)
            model.fail(x)
        else:
            table.remove(node(x).node_id)
            model.remove(x)
        assert [as_int(c) for c in table.nodes()] == model.nodes()
    assert all(size <= k for size in table.bucket_sizes().values())
    everything = model.nodes()
    truth = sorted(everything, key=lambda x: x ^ target)[:count]
    assert [as_int(c) for c in table.closest(target.to_bytes(32, "big"), count)] == truth
    if everything:
        excluded = node(everything[0])
        truth = sorted((x for x in everything if x != everything[0]), key=lambda x: x ^ target)[:count]
        got = table.closest(target.to_bytes(32, "big"), count, exclude=excluded)
        assert [as_int(c) for c in got] == truth


@given(own=ids, members=st.lists(ids, max_size=200, unique=True), target=ids, count=st.integers(0, 40))
def test_closest_with_filter_is_true_xor_order(own: int, members: list[int], target: int, count: int) -> None:
    table: RoutingTable[IdNode] = RoutingTable(own.to_bytes(32, "big"), k=200)
    for x in members:
        table.add(node(x), now=0.0)
    odd = [x for x in members if x % 2 and x != own]
    got = table.closest(target.to_bytes(32, "big"), count, accept=lambda c: as_int(c) % 2 == 1)
    assert [as_int(c) for c in got] == sorted(odd, key=lambda x: x ^ target)[:count]


# -- eviction, one branch each ---------------------------------------------------------------

OWN = 0
FAR = [(1 << 255) | i for i in (100, 200)]  # bucket 255, distances 2^255+100 and 2^255+200


def full_bucket(head_rtt: float | None) -> RoutingTable[IdNode]:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=1)
    table.add(node(FAR[1]), now=0.0, rtt=head_rtt)
    return table


def test_head_without_rtt_is_evicted() -> None:
    result = full_bucket(None).add(node(FAR[0]), now=1.0)
    assert result.outcome is AddOutcome.REPLACED and result.evicted == node(FAR[1])


def test_faster_newcomer_wins_and_slower_loses() -> None:
    assert full_bucket(0.2).add(node(FAR[0]), now=1.0, rtt=0.1).outcome is AddOutcome.REPLACED
    assert full_bucket(0.2).add(node(FAR[0]), now=1.0, rtt=0.3).outcome is AddOutcome.CACHED


def test_without_newcomer_rtt_the_closer_node_wins() -> None:
    # The reference evicts the closer node here (spec dht.md §3.2, inverted); we keep the closer one.
    assert full_bucket(0.2).add(node(FAR[0]), now=1.0).outcome is AddOutcome.REPLACED
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=1)
    table.add(node(FAR[0]), now=0.0, rtt=0.2)
    assert table.add(node(FAR[1]), now=1.0).outcome is AddOutcome.CACHED
    assert table.nodes() == [node(FAR[0])]


def test_failing_peer_is_evicted_first_and_dead_peer_removed() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=2, max_failures=2)
    a, b, c = (node((1 << 255) | i) for i in (1, 2, 3))
    table.add(a, now=0.0, rtt=0.01)
    table.add(b, now=0.0, rtt=0.01)
    assert table.record_failure(b.node_id) is False
    assert table.add(c, now=1.0, rtt=0.5).evicted == b
    assert table.record_failure(a.node_id) is False
    assert table.record_failure(a.node_id) is True
    assert table.nodes() == [c]


def test_replacement_fills_the_slot_of_a_removed_peer() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=1, max_failures=1)
    table.add(node(FAR[0]), now=0.0, rtt=0.01)
    assert table.add(node(FAR[1]), now=1.0).outcome is AddOutcome.CACHED
    assert table.record_failure(node(FAR[0]).node_id)
    assert table.nodes() == [node(FAR[1])]


def test_seen_moves_to_tail_and_own_id_is_ignored() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"))
    a, b = node(1 << 255), node((1 << 255) | 1)
    table.add(a, now=0.0)
    table.add(b, now=1.0)
    assert table.add(a, now=2.0, rtt=0.1).outcome is AddOutcome.UPDATED
    assert table.bucket(255) == [b, a]
    assert table.rtt(a.node_id) == 0.1
    assert table.stale(now=2.5, older_than=1.0) == [b]
    assert table.add(node(OWN), now=3.0).outcome is AddOutcome.IGNORED


def test_refresh_targets_cover_underfilled_buckets() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=2)
    table.add(node(1 << 250), now=0.0)
    targets = table.refresh_targets(random.Random(1))
    assert targets[0] == OWN.to_bytes(32, "big")
    assert [bucket_index(table.self_id, t) for t in targets[1:]] == list(range(250, 256))


def test_wrong_key_size_is_a_local_error() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"))
    with pytest.raises(KeySizeError):
        table.closest(b"\x00" * 20, 5)
    with pytest.raises(KeySizeError):
        RoutingTable(b"\x00" * 31)
