"""Two nodes behind two NATs find each other through a public node and punch through.

Alice and Bob sit behind port-restricted NATs (Linux masquerade: a NAT lets in only what comes
from an address and port its host has sent to). Neither can reach the other directly; both know a
public root node. The root's record of Bob shows he is behind a NAT (the port he listens on is not
the port he is seen at), so Alice's engine sends its request directly *and* inside a Traverse
relayed by the root. Bob's NAT drops the direct request, but it opened Alice's NAT towards Bob;
Bob answers the relayed copy at Alice's public address, which passes her NAT and opens his. From
then on they talk directly — here Alice fetches a value only Bob holds.

Runs on the in-memory network under trio's MockClock: deterministic, and a few seconds of
simulated time pass in a fraction of a real one.

    python examples/nat_punch.py
"""

from __future__ import annotations

import random

import trio
import trio.testing

from peernet import Node
from peernet_proto import PrivateKey, RootPeer
from peernet_proto.testing import MemoryNetwork


async def main() -> None:
    network = MemoryNetwork(seed=1, latency=0.01)
    root_host = network.add_host(["11.0.0.10"], ports=[112])  # a public address: no NAT
    alice_nat = network.add_nat("11.0.0.1", "port-restricted")
    bob_nat = network.add_nat("11.0.0.2", "port-restricted")
    alice_host = network.add_host(["192.168.1.10"], ports=[112], nat=alice_nat)
    bob_host = network.add_host(["192.168.2.20"], ports=[112], nat=bob_nat)

    root = Node(PrivateKey.generate(), root_host, user_agent="root", rng=random.Random(1))
    root_peer = RootPeer(root.public_key, tuple(root_host.local_endpoints()))
    alice = Node(PrivateKey.generate(), alice_host, user_agent="alice", root_peers=[root_peer], rng=random.Random(2))
    bob = Node(PrivateKey.generate(), bob_host, user_agent="bob", root_peers=[root_peer], rng=random.Random(3))

    async with trio.open_nursery() as nursery:
        for node in (root, bob):
            await nursery.start(node.run)
        await trio.sleep(5)  # Bob joins first; the root now knows him behind his NAT
        secret = await bob.store(b"only Bob holds this")
        await nursery.start(alice.run)
        await trio.sleep(2)  # Alice has joined the root; she has never talked to Bob
        print(f"alice connected to bob after joining: {alice.engine.peer(bob.public_key) is not None}")
        remote = await alice.find_peer(bob.public_key.node_id)  # punches through on the way
        assert remote is not None
        print(f"the root reports bob at {remote.endpoints[0]}, behind a NAT (relay is the root): "
              f"{remote.relay == root.public_key}")
        filtered = network.statistics().filtered
        value = await alice.find_value(secret)  # asks Bob, the value's holder: the punch happens here
        print(f"alice fetched bob's value: {value!r}")
        print(f"packets the NATs dropped meanwhile: {network.statistics().filtered - filtered}")
        info = alice.engine.peer(bob.public_key)
        active = [remote for remote, _, status, _ in info.connections if status == "active"] if info else []
        print(f"alice talks to bob directly at {active[0] if active else None}")
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
