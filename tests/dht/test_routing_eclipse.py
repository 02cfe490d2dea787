"""No eclipse: live, long-known contacts keep their slots; newcomers wait in the replacement cache."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import AddOutcome, RoutingTable

from ._helpers import IdNode, as_int, node

OWN = 0
BUCKET = 1 << 255  # every ID below 2^256 with the top bit set lands in bucket 255 of OWN


def established(k: int) -> tuple[RoutingTable[IdNode], list[IdNode]]:
    """A bucket of ``k`` slow, far contacts known since 0 and seen again at 100."""
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=k, max_failures=1, replacements=3)
    members = [node(BUCKET | (1 << 200) | i) for i in range(k)]
    for member in members:
        table.add(member, now=0.0, rtt=0.4)
    for member in members:
        table.add(member, now=100.0)
    return table, members


def test_long_known_live_contact_is_not_evicted_for_a_faster_closer_newcomer() -> None:
    table, members = established(2)
    result = table.add(node(BUCKET | 1), now=101.0, rtt=0.001)  # closer and 400 times faster
    assert result.outcome is AddOutcome.CACHED
    assert table.nodes() == members


def test_young_contact_is_still_weighed_against_a_newcomer() -> None:
    table: RoutingTable[IdNode] = RoutingTable(OWN.to_bytes(32, "big"), k=1)
    table.add(node(BUCKET | (1 << 200)), now=0.0, rtt=0.4)
    assert table.add(node(BUCKET | 1), now=10.0, rtt=0.1).outcome is AddOutcome.REPLACED


def test_stale_contact_loses_its_protection() -> None:
    table, members = established(1)
    later = 100.0 + table.stale_after
    result = table.add(node(BUCKET | 1), now=later, rtt=0.1)
    assert result.outcome is AddOutcome.REPLACED and result.evicted == members[0]


def test_unresponsive_contact_is_replaced_by_the_best_replacement() -> None:
    table, members = established(1)
    answered, silent_later = node(BUCKET | 2), node(BUCKET | 3)
    table.add(answered, now=101.0, rtt=0.2)  # cached, and it answered us once
    table.add(silent_later, now=102.0)  # cached later, never answered
    assert table.record_failure(members[0].node_id)
    assert table.nodes() == [answered]


@given(
    k=st.integers(1, 4),
    newcomers=st.lists(
        st.tuples(
            st.integers(0, 2**255 - 1).map(lambda x: BUCKET | x),
            st.one_of(st.none(), st.floats(0.0001, 1.0)),
            st.floats(0.0, 50.0),
        ),
        max_size=60,
    ),
)
def test_no_stream_of_newcomers_evicts_live_long_known_contacts(
    k: int, newcomers: list[tuple[int, float | None, float]]
) -> None:
    """Whatever IDs, RTTs and timing newcomers have, contacts that stay live keep their slots."""
    table, members = established(k)
    now = 100.0
    for value, rtt, pause in newcomers:
        now += pause
        for member in members:  # still live: seen again
            table.add(member, now=now)
        table.add(node(value), now=now, rtt=rtt)
        assert {as_int(m) for m in members} <= {as_int(c) for c in table.nodes()}
