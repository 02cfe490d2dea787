"""Twenty full nodes on real UDP on loopback form a network; a killed node is dropped on time."""

import random

import trio

from peernet import Node
from peernet_proto import PeerRemoved, PrivateKey, RootPeer, UdpTransport

COUNT = 20


async def run_node(index, roots, scope, *, task_status=trio.TASK_STATUS_IGNORED):
    with scope:
        async with UdpTransport.open([("127.0.0.1", 0)]) as udp:
            node = Node(PrivateKey.generate(), udp, user_agent=f"udp/{index}", root_peers=roots, rng=random.Random(index))
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                task_status.started(node)
                await trio.sleep_forever()


async def test_twenty_nodes_on_loopback_form_a_network_and_drop_a_dead_one():
    async with trio.open_nursery() as nursery:
        nodes, scopes = [], []
        for index in range(COUNT):
            roots = [] if not nodes else [RootPeer(nodes[0].public_key, tuple(nodes[0].runner.transport.local_endpoints()))]
            scopes.append(trio.CancelScope())
            nodes.append(await nursery.start(run_node, index, roots, scopes[-1]))

        with trio.fail_after(60):
            while not all(len(node.engine) == COUNT - 1 for node in nodes):
                await trio.sleep(0.5)
        # every node lists every other with its user agent
        for node in nodes:
            agents = sorted(p.user_agent for p in node.engine.peers())
            assert agents == sorted(f"udp/{i}" for i in range(COUNT) if nodes[i] is not node)

        victim = nodes[-1]
        removed_at: dict[bytes, float] = {}

        def watch(node):
            def handler(event):
                if isinstance(event, PeerRemoved) and event.peer == victim.public_key:
                    removed_at.setdefault(node.public_key.to_bytes(), trio.current_time())
            return handler

        for node in nodes[:-1]:
            node.runner.add_event_handler(watch(node))
        killed = trio.current_time()
        scopes[-1].cancel()
        # silent for 22 s -> inactive; 120 s later -> removed (spec wire.md §9.7)
        with trio.fail_after(170):
            while len(removed_at) < COUNT - 1:
                await trio.sleep(1.0)
        delays = [t - killed for t in removed_at.values()]
        assert all(120 <= d <= 150 for d in delays), delays
        for node in nodes[:-1]:
            assert victim.public_key not in {p.public_key for p in node.engine.peers()}
            assert len(node.engine) == COUNT - 2
        nursery.cancel_scope.cancel()


async def test_node_follows_new_local_addresses():
    async with UdpTransport.open([("127.0.0.1", 0)]) as udp:
        node = Node(PrivateKey.generate(), udp)
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            await udp.update([("127.0.0.1", 0), ("127.0.0.2", 0)])
            with trio.fail_after(15):
                while len(node.engine._local) < 2:
                    await trio.sleep(0.5)
            assert sorted(h for h, _ in node.engine._local) == ["127.0.0.1", "127.0.0.2"]
            nursery.cancel_scope.cancel()
