"""Two hundred full nodes (real engine, real codecs, real routing tables) on the in-memory network,
bootstrapping from one root under simulated time: every routing table ends up complete.

"Complete" compares each node's routing table with a brute-force ideal: every bucket holds
min(k, nodes that exist in that bucket's range).

Completion grows with refresh rounds, not with time. A round asks, per under-filled bucket, for
one random target, and an answer lists only the 5 peers closest to it: a bucket whose range holds
6 to about 25 nodes fills only once random targets have landed near each missing node, so the
last tables complete after some tens of rounds. Measured on this code (seeds as below, time from
the last node's start): refreshing every 10 s, all 200 tables are complete after 110 s without
loss and 180 s with 10 % loss; refreshing every second, after 18-20 s and 30-32 s. The keepalive
traffic of 200 nodes with ~90 peers each costs wall time per simulated second whatever the
interval, so the test refreshes every second (every half second costs more: more rounds).

Known fault, tolerated with loss: if the root's answer to a node's FIND_SELF is lost and the root
then reaches the node first (a refresh request or a ping), the node's engine counts the root as
known and stops bootstrapping, while Node's refresh loop waits for two contacts: the node keeps the
root as its only contact, and the others rarely learn of it (seen once in five runs with loss).
"""

import pytest
import trio
from trio.testing import MockClock

from peernet_proto import MemoryNetwork
from tests.node.netsim import missing_contacts, start_network

COUNT = 200
REFRESH_INTERVAL = 1.0
DEADLINE = 120.0  # simulated seconds; four to six times what the measured runs needed
CHECK_EVERY = 1.0
# Known fault (see the module docstring): with loss, a node can be left with the root as its only
# contact for good. Such "lone" nodes are counted once every other node has had time to bootstrap
# (with 10 % loss, six tries 7 s apart all fail for one of 200 nodes once in 100 runs), and the
# other nodes' tables are checked against the nodes that are not lone.
LONE_GRACE = 45.0
MAX_LONE = {0.0: 0, 0.1: 2}


@pytest.mark.parametrize("loss", [0.0, 0.1])
async def test_two_hundred_nodes_bootstrap_from_one_root_to_complete_tables(
    autojump_clock: MockClock, loss: float
) -> None:
    network = MemoryNetwork(seed=7, latency=0.02, loss=loss)
    async with trio.open_nursery() as nursery:
        nodes = await start_network(nursery, network, COUNT, seed=3, refresh_interval=REFRESH_INTERVAL)
        start = trio.current_time()
        while True:
            lone = {index for index, node in enumerate(nodes) if len(node.table) < 2}
            members = [node for index, node in enumerate(nodes) if index not in lone]
            ids = [node.public_key.node_id for node in members]
            gaps = {index: missing_contacts(node, [i for i in ids if i != node.public_key.node_id])
                    for index, node in enumerate(nodes) if index not in lone}
            missing = {index: buckets for index, buckets in gaps.items() if buckets}
            elapsed = trio.current_time() - start
            if (not missing and (not lone or elapsed >= LONE_GRACE)) or elapsed >= DEADLINE:
                break
            await trio.sleep(CHECK_EVERY)
        peers = [len(node.engine) for node in members]
        print(f"loss {loss}: {len(members) - len(missing)}/{COUNT} complete after {elapsed:.0f} s simulated, "
              f"lone {sorted(lone)}, peers min {min(peers)}, {network.statistics().sent} datagrams")
        assert not missing, f"node -> {{bucket: contacts missing}} after {elapsed:.0f} s: {missing}"
        assert len(lone) <= MAX_LONE[loss], f"nodes left with fewer than two contacts: {sorted(lone)}"
        assert min(peers) >= 40  # every node connected well beyond its bootstrap contacts
        nursery.cancel_scope.cancel()
