"""The DHT's sans-IO lookup driven by hand over a toy in-process network.

`peernet_dht.Lookup` does no IO and reads no clock: you give it the nearest contacts you know and
the current time, it tells you whom to ask (`LookupStep.requests`) and when to call it back
(`LookupStep.deadline`); you feed it answers (`on_response`, `on_value`), failures and timer
calls until `done`. Here the "network" is a dictionary of 300 nodes with their routing tables, a
clock that only moves when we say so, 20 ms per answer, and a fifth of the nodes offline (their
requests time out and are retried, then given up). The same loop runs over real UDP in the node
(`peernet_dht.LookupDriver` glues it to the peer engine).

    python examples/dht_lookup.py
"""

from __future__ import annotations

import heapq
import itertools
import random

import attrs

from peernet_dht import K, Lookup, LookupStatus, RoutingTable, distance
from peernet_proto import hash_data

LATENCY = 0.020  # seconds until an answer arrives


@attrs.frozen
class Node:
    """A contact: the lookup and the routing table only need a 32-byte ``node_id``."""

    node_id: bytes


def build_network(rng: random.Random, size: int) -> dict[Node, RoutingTable[Node]]:
    """Every node gets a routing table holding 60 random others (buckets keep what fits)."""
    nodes = [Node(rng.randbytes(32)) for _ in range(size)]
    tables: dict[Node, RoutingTable[Node]] = {}
    for node in nodes:
        table: RoutingTable[Node] = RoutingTable(node.node_id)
        for other in rng.sample(nodes, 60):
            if other != node:
                table.add(other, now=0.0)
        tables[node] = table
    return tables


def run_lookup(
    lookup: Lookup[Node], tables: dict[Node, RoutingTable[Node]], offline: set[Node], values: dict[Node, bytes]
) -> None:
    """The event loop: answers arrive LATENCY after a request; the clock jumps from event to event."""
    now = 0.0
    arrivals: list[tuple[float, int, Node]] = []  # (time, tie-breaker, peer whose answer arrives)
    order = itertools.count()
    step = lookup.start(now)
    while not lookup.done:
        for request in step.requests:
            if request.peer not in offline:  # an offline peer never answers: its request times out
                heapq.heappush(arrivals, (now + LATENCY, next(order), request.peer))
        deadline = step.deadline if step.deadline is not None else float("inf")
        if arrivals and arrivals[0][0] <= deadline:
            now, _, peer = heapq.heappop(arrivals)
            if lookup.find_value and peer in values:
                step = lookup.on_value(peer, values[peer], now)
            else:
                step = lookup.on_response(peer, tables[peer].closest(lookup.key, K), now)
        else:
            now = deadline
            step = lookup.handle_timer(now)


def main() -> None:
    rng = random.Random(1)
    tables = build_network(rng, 300)
    nodes = list(tables)
    me = nodes[0]
    offline = set(rng.sample(nodes[1:], 60))

    # FIND_PEER: which live nodes are closest to a random key?
    key = rng.randbytes(32)
    lookup = Lookup(key, tables[me].closest(key, K), self_id=me.node_id, attempts=2, request_timeout=0.5)
    run_lookup(lookup, tables, offline, {})
    result = lookup.result
    online = [n for n in nodes if n not in offline and n != me]
    truth = sorted(online, key=lambda n: distance(n.node_id, key))[:K]
    found = len(set(result.closest) & set(truth))
    print(f"find peer: {result.status.value}, {found}/{K} of the true closest live nodes found")
    print(f"  hops {result.hops}, requests sent {result.requests_sent}")
    assert result.status is LookupStatus.CONVERGED and result.closest[0] == truth[0]

    # FIND_VALUE: the key of a value is its hash; the nodes nearest to it hold it.
    value = b"a small value stored in the DHT"
    value_key = hash_data(value)
    holders = {n: value for n in sorted(online, key=lambda n: distance(n.node_id, value_key))[:3]}
    lookup = Lookup(value_key, tables[me].closest(value_key, K), self_id=me.node_id, find_value=True)
    run_lookup(lookup, tables, offline, holders)
    result = lookup.result
    print(f"find value: {result.status.value}, value {result.value!r}")
    print(f"  from a holder: {result.value_from in holders}, requests sent {result.requests_sent}")


if __name__ == "__main__":
    main()
