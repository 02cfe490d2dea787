"""Twenty full nodes on real UDP on loopback form a network; a killed node is dropped on time."""

import random

import trio

from peernet import Node
from peernet_proto import PeerRemoved, PrivateKey, RootPeer, UdpTransport

COUNT = 20


async def run_node(index, roots, scope, *, task_status=trio.TASK_STATUS_IGNORED):
    with scope:
        async with UdpTransport.open([("127.0.0.1", 0)]) as udp:
            node = Node(PrivateKey.generate(), udp, user_agent=f"udp/{index}", root_peers=roots,
                        rng=random.Random(index), refresh_interval=10.0)
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                task_status.started(node)
                await trio.sleep_forever()


def connected(nodes):
    """True if the peer graph (edges in either direction) spans every node."""
    by_key = {node.public_key: node for node in nodes}
    edges = {node.public_key: {p.public_key for p in node.engine.peers()} for node in nodes}
    for key, peers in list(edges.items()):
        for peer in peers:
            edges.setdefault(peer, set()).add(key)
    seen, todo = set(), [nodes[0].public_key]
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(edges.get(key, ()))
    return set(by_key) <= seen


async def test_twenty_nodes_on_loopback_form_a_network_and_drop_a_dead_one():
    async with trio.open_nursery() as nursery:
        nodes, scopes = [], []
        for index in range(COUNT):
            roots = []
            if nodes:
                roots = [RootPeer(nodes[0].public_key, tuple(nodes[0].runner.transport.local_endpoints()))]
            scopes.append(trio.CancelScope())
            nodes.append(await nursery.start(run_node, index, roots, scopes[-1]))

        # A network: connected, every node knows at least half of the others (full mesh is not
        # something the protocol promises; it usually is reached within seconds here).
        with trio.fail_after(60):
            while not (min(len(node.engine) for node in nodes) >= COUNT // 2 and connected(nodes)):
                await trio.sleep(0.5)
        names = {node.public_key: f"udp/{i}" for i, node in enumerate(nodes)}
        for node in nodes:
            assert all(p.user_agent == names[p.public_key] for p in node.engine.peers())

        # The victim: a non-root node that many others know (which one that is depends on timing).
        def knowers(candidate):
            return [n for n in nodes if n is not candidate and n.engine.peer(candidate.public_key) is not None]

        victim_index = max(range(1, COUNT), key=lambda i: len(knowers(nodes[i])))
        victim = nodes[victim_index]
        knew_victim = knowers(victim)
        assert len(knew_victim) >= COUNT // 2
        removed_at: dict[bytes, float] = {}

        def watch(node):
            def handler(event):
                if isinstance(event, PeerRemoved) and event.peer == victim.public_key:
                    removed_at.setdefault(node.public_key.to_bytes(), trio.current_time())
            return handler

        survivors = [node for node in nodes if node is not victim]
        for node in survivors:
            node.runner.add_event_handler(watch(node))
        killed = trio.current_time()
        scopes[victim_index].cancel()
        # silent for 22 s -> inactive; 120 s later -> removed (spec wire.md §9.7)
        with trio.fail_after(170):
            while len(removed_at) < len(knew_victim):
                await trio.sleep(1.0)
        delays = [t - killed for t in removed_at.values()]
        assert all(120 <= d <= 150 for d in delays), delays
        for node in survivors:
            assert node.engine.peer(victim.public_key) is None
        nursery.cancel_scope.cancel()


async def test_node_follows_new_local_addresses():
    async with UdpTransport.open([("127.0.0.1", 0)]) as udp:
        node = Node(PrivateKey.generate(), udp)
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            await udp.update([("127.0.0.1", 0), ("127.0.0.2", 0)])
            with trio.fail_after(15):
                while len(node.engine.local_endpoints) < 2:
                    await trio.sleep(0.5)
            assert sorted(h for h, _ in node.engine.local_endpoints) == ["127.0.0.1", "127.0.0.2"]
            nursery.cancel_scope.cancel()
