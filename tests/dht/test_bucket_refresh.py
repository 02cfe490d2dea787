"""Bucket refresh on real engines joined by the in-memory switch: what a round sends and follows."""

from __future__ import annotations

import random

from peernet_dht import BucketRefresh, RoutingDirectory, RoutingTable, random_id_in_bucket
from peernet_proto import Announcement, MessageReceived, PeerEngine, PublicKey
from peernet_proto.testing import Switch

from ._helpers import node

ROOT = ("127.0.0.1", 5000)


def dht_engine(switch: Switch, port: int, seed: int) -> tuple[PeerEngine, BucketRefresh]:
    """An engine answering from its routing table, with bucket refresh registered."""
    engine = switch.add(("127.0.0.1", port), seed=seed)
    table: RoutingTable[PublicKey] = RoutingTable(engine.public_key.node_id)
    engine.directory = RoutingDirectory(table)
    refresh = BucketRefresh(engine, table, interval=300.0, rng=random.Random(seed))
    engine.register(refresh)
    return engine, refresh


def test_a_round_asks_a_peer_for_several_targets_in_one_announcement() -> None:
    switch = Switch()
    root, _ = dht_engine(switch, ROOT[1], 1)
    nodes = [dht_engine(switch, 5100 + i, 10 + i)[0] for i in range(12)]
    for at, engine in enumerate(nodes):
        engine.contact(root.public_key, [ROOT], float(at))
        switch.pump(float(at))
    switch.run(12.0, 16.0)
    asked = [e.message for e in root.events() if isinstance(e, MessageReceived) and e.message.find_peer]
    assert asked and max(len(a.find_peer) for a in asked) > 1  # targets for the same peer share a packet
    assert max(len(a.find_peer) for a in asked) <= 4  # and the answer still fits one packet


def test_answers_to_requests_of_others_are_not_followed() -> None:
    switch = Switch()
    b, _ = dht_engine(switch, 5200, 2)
    others = [switch.add(("127.0.0.1", 5201 + i), seed=3 + i) for i in range(3)]  # they refresh nothing
    for engine in others:
        engine.contact(b.public_key, [("127.0.0.1", 5200)], 0.0)
    switch.pump(0.0)
    a = switch.add(("127.0.0.1", 5300), seed=9)
    a.contact(b.public_key, [("127.0.0.1", 5200)], 1.0, follow=False)
    switch.pump(1.0)
    assert len(a) == 1
    a.register(BucketRefresh(a, RoutingTable(a.public_key.node_id), interval=300.0))
    asked = Announcement(find_self=True, features=a.features)
    a.send_announcement(b.public_key, asked, 2.0)  # the application's request, answered to it
    switch.pump(2.0)
    assert len(a) == 1  # b listed the others for it, but the refresh did not contact them


def test_a_full_bucket_is_known_as_full() -> None:
    own = 0
    table: RoutingTable = RoutingTable(own.to_bytes(32, "big"), k=2)
    far = [node((1 << 255) | i) for i in range(2)]
    for contact in far:
        table.add(contact, 0.0)
    assert table.bucket_full_for(random_id_in_bucket(own.to_bytes(32, "big"), 255, random.Random(1)))
    assert not table.bucket_full_for(node(1 << 200).node_id)
    assert not table.bucket_full_for(own.to_bytes(32, "big"))
