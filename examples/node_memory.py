"""Twelve full nodes on the in-memory network: one stores a value, another finds it.

``peernet.Node`` is the whole node — peer engine, DHT, reachability — over any datagram transport.
Here the transport is a host of ``peernet_proto.testing.MemoryNetwork`` (20 ms latency, 1 % loss)
and the clock is trio's MockClock, so the network's first minute passes in well under a second.

    python examples/node_memory.py
"""

from __future__ import annotations

import random

import trio
import trio.testing

from peernet import Node
from peernet_proto import PrivateKey, RootPeer, hash_data
from peernet_proto.testing import MemoryNetwork


async def main() -> None:
    network = MemoryNetwork(seed=7, latency=0.02, loss=0.01)
    rng = random.Random(7)
    nodes: list[Node] = []
    async with trio.open_nursery() as nursery:
        for index in range(12):
            host = network.add_host([f"10.0.0.{index + 1}"], ports=[112])
            roots = [RootPeer(nodes[0].public_key, (("10.0.0.1", 112),))] if nodes else []
            node = Node(PrivateKey(rng.randbytes(32)), host, user_agent=f"example/{index}", root_peers=roots,
                        rng=random.Random(index), refresh_interval=60.0)
            await nursery.start(node.run)  # returns once the node listens; it keeps running in the nursery
            nodes.append(node)
        await trio.sleep(30)  # bootstrap and the first bucket refreshes
        known = [len(node.engine.peers()) for node in nodes]
        print(f"peers known: {min(known)} to {max(known)}")

        value = b"a value stored in the DHT"
        key = await nodes[3].store(value)  # announces "I hold it" to the closest peers of its hash
        print(f"stored under its BLAKE3 hash: {key == hash_data(value)}")
        print(f"node 9 finds it: {await nodes[9].find_value(key)!r}")
        print(f"an unknown key: {await nodes[9].find_value(hash_data(b'nobody has this'))!r}")

        remote = await nodes[11].find_peer(nodes[5].public_key.node_id)
        print(f"node 11 finds node 5: {remote is not None and remote.public_key == nodes[5].public_key}")
        print(f"simulated seconds: {trio.current_time():.1f}, datagrams: {network.statistics().delivered}")
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
