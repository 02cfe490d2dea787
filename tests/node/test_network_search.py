"""Network search across 100 simulated nodes on the in-memory network (trio MockClock).

Eighty are full Python nodes; every fifth is a Go-style peer: an engine that announces neither
the EXTENSIONS nor the KEYWORD_SEARCH bit, has no DHT handler and answers FIND_VALUE misses with
"not found", as the reference does. A file published by one node must be found by keyword from
every other Python node, and the Go-style peers must keep answering lookups without ever being
sent a search item.
"""

from __future__ import annotations

import trio

from peernet import Node
from peernet_dht import IndexedFile, SearchResult
from peernet_proto import hash_data
from peernet_proto.testing import MemoryNetwork
from tests.node.netsim import start_mixed_network

COUNT = 100
GO_EVERY = 5


def own_file(node: Node, n: int, name: str, folder: str = "", description: str = "") -> IndexedFile:
    return IndexedFile(n.to_bytes(16, "big"), node.public_key.to_bytes(), name, folder, description, own=True,
                       file_hash=hash_data(name.encode()), size=n * 1000)


async def test_a_published_file_is_found_by_keyword_from_every_python_node(autojump_clock):
    network = MemoryNetwork(seed=5, latency=0.02)
    async with trio.open_nursery() as nursery:
        nodes, go = await start_mixed_network(nursery, network, COUNT, GO_EVERY, seed=9)
        assert len(nodes) == 80 and len(go) == 20
        await trio.sleep(20.0)
        publisher = nodes[7]
        files = [
            own_file(publisher, 1, "Lighthouse Sunset.jpg", "pictures/brittany", "evening at the coast"),
            own_file(publisher, 2, "Tax Return 2023.pdf", "documents"),
        ]
        sent_before = network.statistics().sent
        published = await publisher.publish_files(files)
        publish_messages = published.messages
        assert published.stored >= published.entries * 10  # each entry went to many of its closest peers

        results: dict[int, SearchResult] = {}

        async def search(index: int, node: Node) -> None:
            results[index] = await node.dht.search("lighthouse")

        searchers = [(i, n) for i, n in enumerate(nodes) if n is not publisher]
        sent_before = network.statistics().sent
        async with trio.open_nursery() as searches:
            for index, node in searchers:
                searches.start_soon(search, index, node)
        datagrams = network.statistics().sent - sent_before

        found = [i for i, r in results.items() if [h.name for h in r.hits] == ["Lighthouse Sunset.jpg"]]
        messages = [r.messages for r in results.values()]
        asked = [r.asked for r in results.values()]
        sources = [r.hits[0].sources for r in results.values() if r.hits]
        print(f"found from {len(found)}/{len(searchers)} nodes; requests per search mean "
              f"{sum(messages) / len(messages):.1f} max {max(messages)}; queries per search mean "
              f"{sum(asked) / len(asked):.1f}; peers reporting the hit min {min(sources)}; datagrams "
              f"{datagrams / len(searchers):.1f} per search; publish {publish_messages} requests for "
              f"{published.entries} entries to {published.peers} peers")
        assert len(found) == len(searchers)
        assert all(r.junk == 0 for r in results.values())
        hit = results[found[0]].hits[0]
        assert hit.owner == publisher.public_key.to_bytes() and hit.size == 1000 and hit.keywords == {"lighthouse"}

        # A multi-word search ranks the file matching more words first; a quoted one is exact.
        several = await nodes[40].dht.search("sunset tax coast")
        assert [h.name for h in several.hits] == ["Lighthouse Sunset.jpg", "Tax Return 2023.pdf"]
        exact = await nodes[41].search('"Tax Return 2023.pdf"')
        assert [(h.name, h.exact) for h in exact] == [("Tax Return 2023.pdf", True)]
        assert await nodes[42].search("nonexistentword") == []

        # Go-style peers took part in the lookups, answered them, and never saw a search item.
        for peer in go:
            assert peer.recorder.with_extension == 0
            assert any(a.find_peer for a in peer.recorder.announcements)
            assert len(peer.engine) >= 10
        lookups_answered = sum(sum(1 for a in p.recorder.announcements if a.find_peer) for p in go)
        print(f"Go-style peers answered {lookups_answered} FIND_PEER requests, got 0 search items")
        # ... and Python nodes find them.
        target = go[3].public_key
        remote = await nodes[50].find_peer(target.node_id)
        assert remote is not None and remote.public_key == target
        nursery.cancel_scope.cancel()
