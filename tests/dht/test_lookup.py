"""The sans-IO lookup on scripted networks: convergence, timeouts, retries, liars, values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import Lookup, LookupStatus
from peernet_proto import hash_data

from ._helpers import IdNode, as_int, node

KEY = node(0).node_id


def far(i: int) -> IdNode:
    return node((1 << 200) + i)


def test_converges_when_the_k_closest_answered_and_queries_nearest_first() -> None:
    lookup = Lookup(KEY, [node(1000 + i) for i in range(10)], k=3, alpha=2)
    step = lookup.start(0.0)
    assert [as_int(r.peer) for r in step.requests] == [1000, 1001]
    assert step.deadline == 1.0  # request timeout
    step = lookup.on_response(node(1000), [node(5), node(6)], 0.1)
    assert [as_int(r.peer) for r in step.requests] == [5]
    step = lookup.on_response(node(5), [node(7)], 0.2)
    assert [as_int(r.peer) for r in step.requests] == [6]  # 7 is in the top 3 but only 2 in flight
    step = lookup.on_response(node(6), [], 0.3)
    assert [as_int(r.peer) for r in step.requests] == [7]
    step = lookup.on_response(node(7), [node(1000)], 0.4)
    assert lookup.done and step.deadline is None
    result = lookup.result
    assert result.status is LookupStatus.CONVERGED
    assert [as_int(c) for c in result.closest] == [5, 6, 7]
    assert result.hops == 2  # node 5 was learned from a peer of our own table
    assert result.requests_sent == 5  # 1001 never answered and was not needed


def test_silent_peer_is_retried_then_dropped_and_reported() -> None:
    lookup = Lookup(KEY, [node(1), node(2)], k=2, alpha=1, request_timeout=1.0, attempts=2)
    assert [as_int(r.peer) for r in lookup.start(0.0).requests] == [1]
    step = lookup.handle_timer(1.0)
    assert step.timed_out == (node(1),)
    # The retry of node 1 does not hold the single alpha slot: node 2 is asked at once.
    assert sorted(as_int(r.peer) for r in step.requests) == [1, 2]
    lookup.on_response(node(2), [], 1.1)
    step = lookup.handle_timer(2.0)
    assert step.timed_out == (node(1),) and lookup.done
    assert [as_int(c) for c in lookup.result.closest] == [2]


def test_overall_deadline_ends_the_lookup_with_what_answered() -> None:
    lookup = Lookup(KEY, [node(i) for i in range(1, 8)], k=3, request_timeout=5.0, lookup_timeout=2.0)
    lookup.start(0.0)
    lookup.on_response(node(3), [], 0.5)
    assert lookup.next_deadline == 2.0
    lookup.handle_timer(2.0)
    assert lookup.result.status is LookupStatus.DEADLINE
    assert [as_int(c) for c in lookup.result.closest] == [3]


def test_unsolicited_and_duplicate_responses_change_nothing() -> None:
    lookup = Lookup(KEY, [node(10)], k=2, alpha=1)
    lookup.start(0.0)
    step = lookup.on_response(node(99), [node(1)], 0.1)  # never asked
    assert step.requests == () and lookup.result.closest == ()
    lookup.on_response(node(10), [], 0.2)
    assert lookup.done and lookup.result.status is LookupStatus.CONVERGED


def test_lying_peer_costs_only_timeouts() -> None:
    # A liar reports fake close IDs that never answer; honest peers lead to the real target.
    lookup = Lookup(KEY, [node(500), far(1)], k=2, alpha=2, request_timeout=1.0, attempts=1)
    lookup.start(0.0)
    lookup.on_response(far(1), [node(2), node(3), node(4), node(4)], 0.1)
    lookup.on_response(node(500), [node(7)], 0.1)
    now = 0.1
    while not lookup.done:
        now = lookup.next_deadline or now
        lookup.handle_timer(now)
        lookup.on_response(node(7), [], now)
    assert [as_int(c) for c in lookup.result.closest] == [7, 500]
    assert now < 5.0


def test_own_id_and_malformed_ids_are_ignored() -> None:
    own = node(1)
    lookup = Lookup(KEY, [node(100)], self_id=own.node_id, k=5)
    lookup.start(0.0)
    step = lookup.on_response(node(100), [own, IdNode(b"\x00" * 20), node(50)], 0.1)
    assert [as_int(r.peer) for r in step.requests] == [50]


def test_candidate_list_is_bounded() -> None:
    lookup = Lookup(KEY, [node(1 << 100)], k=2, alpha=1, max_per_response=50, max_candidates=10)
    lookup.start(0.0)
    lookup.on_response(node(1 << 100), [node(i) for i in range(1000, 1050)], 0.1)
    assert len(lookup._by_id) == 10


def test_a_full_candidate_list_still_takes_closer_contacts() -> None:
    # Three candidates fill the list; the farthest has answered. A closer contact must replace it,
    # or a lookup in a large network stalls short of the key (and misses the closest node).
    lookup = Lookup(KEY, [node(1 << 102)], k=2, alpha=1, max_candidates=3)
    lookup.start(0.0)
    step = lookup.on_response(node(1 << 102), [node(1 << 101), node(1 << 100)], 0.1)
    assert [as_int(r.peer) for r in step.requests] == [1 << 100]
    step = lookup.on_response(node(1 << 100), [node(5)], 0.2)
    assert [as_int(r.peer) for r in step.requests] == [5]
    assert len(lookup._by_id) == 3


def test_stop_at_target() -> None:
    lookup = Lookup(KEY, [node(9)], stop_at_target=True)
    lookup.start(0.0)
    lookup.on_response(node(9), [node(0)], 0.1)
    assert lookup.result.status is LookupStatus.FOUND_NODE
    assert lookup.result.closest[0] == node(0)


def test_value_lookup_checks_the_hash() -> None:
    data = b"hello peernet"
    key = hash_data(data)
    lookup = Lookup(key, [node(1), node(2)], find_value=True, alpha=2)
    lookup.start(0.0)
    lookup.on_value(node(1), b"forged", 0.1)
    assert not lookup.done
    lookup.on_value(node(2), data, 0.2)
    result = lookup.result
    assert result.status is LookupStatus.FOUND_VALUE and result.value == data and result.value_from == node(2)


def test_no_contacts_means_exhausted() -> None:
    lookup: Lookup[IdNode] = Lookup(KEY, [])
    assert lookup.start(0.0).requests == ()
    assert lookup.result.status is LookupStatus.EXHAUSTED


@given(
    members=st.lists(st.integers(1, 2**64), min_size=1, max_size=120, unique=True),
    target=st.integers(0, 2**64),
    seed_size=st.integers(1, 5),
)
def test_full_knowledge_network_always_finds_the_true_closest(
    members: list[int], target: int, seed_size: int
) -> None:
    """Every peer knows everyone and answers with the 20 members closest to the requested key (as a
    Kademlia peer answers FIND_PEER): the result must be the true top k."""
    key = node(target).node_id
    truth = sorted(members, key=lambda x: x ^ target)
    lookup = Lookup(key, [node(x) for x in members[:seed_size]], k=4, alpha=2)
    step = lookup.start(0.0)
    queue = list(step.requests)
    while queue:
        peer = queue.pop(0).peer
        nearby = sorted(members, key=lambda x: x ^ target)[:20]
        queue += lookup.on_response(peer, [node(x) for x in nearby], 0.1).requests
    assert lookup.done
    closest = [as_int(c) for c in lookup.result.closest]
    assert closest[0] == truth[0] or set(closest) <= set(truth)
    assert truth[0] in closest


def test_start_twice_is_a_bug() -> None:
    lookup = Lookup(KEY, [node(1)])
    lookup.start(0.0)
    with pytest.raises(RuntimeError):
        lookup.start(1.0)
