"""Building networks of full nodes on the in-memory network."""

from __future__ import annotations

import random

import trio

from peernet import Node
from peernet_proto import EngineConfig, EngineRunner, PrivateKey, RootPeer
from peernet_proto.testing import MemoryNetwork
from tests.dht.go_style import GoStyleEngine, Recorder


def ideal_bucket_sizes(node_id: bytes, others: list[bytes], k: int = 20) -> dict[int, int]:
    """How many contacts each bucket of a complete Kademlia table holds, by brute force."""
    own = int.from_bytes(node_id, "big")
    counts: dict[int, int] = {}
    for other in others:
        index = max((int.from_bytes(other, "big") ^ own).bit_length() - 1, 0)
        counts[index] = counts.get(index, 0) + 1
    return {index: min(k, count) for index, count in counts.items()}


def table_is_complete(node: Node, others: list[bytes]) -> bool:
    return not missing_contacts(node, others)


def missing_contacts(node: Node, others: list[bytes]) -> dict[int, int]:
    """Bucket -> how many contacts the node's table lacks there, for incomplete buckets only."""
    ideal = ideal_bucket_sizes(node.public_key.node_id, others)
    return {index: size - len(node.table.bucket(index)) for index, size in ideal.items()
            if len(node.table.bucket(index)) < size}


async def start_network(
    nursery: trio.Nursery, network: MemoryNetwork, count: int, seed: int = 0, refresh_interval: float = 60.0
) -> list[Node]:
    rng = random.Random(seed)
    nodes: list[Node] = []
    for index in range(count):
        host = network.add_host([f"10.{index // 250}.{index % 250}.1"], ports=[112])
        key = PrivateKey(rng.getrandbits(255).to_bytes(32, "big") or b"\x01" * 32)
        roots = [] if not nodes else [RootPeer(nodes[0].public_key, tuple(nodes[0].runner.transport.local_endpoints()))]
        node = Node(key, host, user_agent=f"sim/{index}", root_peers=roots, rng=random.Random(seed * 1000 + index),
                    refresh_interval=refresh_interval)
        nodes.append(node)
        await nursery.start(node.run)
    return nodes


class GoStylePeer:
    def __init__(self, key: PrivateKey, host: object, roots: list[RootPeer], seed: int) -> None:
        config = EngineConfig(user_agent="go-style/0.1", root_peers=tuple(roots), local_discovery=False)
        self.engine = GoStyleEngine(key, config, rng=random.Random(seed))
        self.recorder = Recorder()
        self.runner = EngineRunner(self.engine, host, self.recorder.note)  # type: ignore[arg-type]

    @property
    def public_key(self):  # type: ignore[no-untyped-def]
        return self.engine.public_key


async def start_mixed_network(
    nursery: trio.Nursery, network: MemoryNetwork, count: int, go_every: int, seed: int
) -> tuple[list[Node], list[GoStylePeer]]:
    """``count`` hosts bootstrapping from the first (a Python node); every ``go_every``-th is Go-style."""
    rng = random.Random(seed)
    nodes: list[Node] = []
    go: list[GoStylePeer] = []
    root: list[RootPeer] = []
    for index in range(count):
        host = network.add_host([f"10.{index // 250}.{index % 250}.1"], ports=[112])
        key = PrivateKey(rng.getrandbits(255).to_bytes(32, "big"))
        if go_every and index % go_every == go_every - 1:
            peer = GoStylePeer(key, host, root, seed * 1000 + index)
            go.append(peer)
            await nursery.start(peer.runner.run)
        else:
            node = Node(key, host, user_agent=f"py/{index}", root_peers=root, rng=random.Random(seed * 1000 + index),
                        refresh_interval=60.0)
            nodes.append(node)
            await nursery.start(node.run)
        if not root:
            root = [RootPeer(key.public_key, tuple(host.local_endpoints()))]
    return nodes, go
