"""Fair limits on the engine (issue 14, "what to build" 2, 3, 5): work budgets per identity and
per source prefix, pending-request shares per prefix, Traverse only to reported targets, cheap
eviction in a full table, and loopback sources under the per-prefix limits."""

from __future__ import annotations

import random
import time
from collections.abc import Collection

from peernet_proto import (
    Announcement,
    Command,
    EngineConfig,
    EngineLimits,
    Packet,
    PeerEngine,
    PeerRemoved,
    PongReceived,
    PrivateKey,
    PublicKey,
    ResponseReceived,
    Traverse,
    encode_packet,
)
from peernet_proto.testing import Switch

from .harness import Identities

V, B, C, D = ("11.0.0.10", 4010), ("11.0.0.2", 4002), ("12.0.0.3", 4003), ("11.0.0.4", 4004)


def responses(engine: PeerEngine, sequences: Collection[int | None]) -> list[ResponseReceived]:
    return [e for e in engine.events() if isinstance(e, ResponseReceived) and e.sequence in sequences]


def joined(limits: EngineLimits, *others: tuple[str, int]) -> tuple[Switch, PeerEngine, list[PeerEngine]]:
    """A victim at V with ``limits`` and peers at ``others`` that introduced themselves to it."""
    switch = Switch()
    victim = switch.add(V, seed=1, limits=limits)
    peers = [switch.add(endpoint, seed=2 + i) for i, endpoint in enumerate(others)]
    for peer in peers:
        peer.contact(victim.public_key, [V], 0.0)
    switch.pump(0.0)
    for engine in (victim, *peers):
        engine.events()
    return switch, victim, peers


def heavy(tag: int) -> Announcement:
    """A request for 30 keys (31 work units before the answer)."""
    return Announcement(features=1, find_peer=[bytes([tag, j]) + bytes(30) for j in range(30)])


def test_requests_over_a_peers_work_budget_are_dropped_and_others_still_answered() -> None:
    switch, victim, (b, c) = joined(EngineLimits(work_per_peer_rate=1.0, work_per_peer_burst=200.0), B, C)
    asked = [b.request(victim.public_key, heavy(i), 1.0) for i in range(20)]
    light = c.request(victim.public_key, heavy(99), 1.0)
    switch.pump(1.0)
    assert 3 <= len(responses(b, asked)) <= 7  # about 200 units / 31 per request
    assert victim.statistics().over_work_budget >= 13
    assert len(responses(c, [light])) == 1


def test_a_peer_in_debt_is_not_heard_until_it_paid() -> None:
    """An answer of 60 records puts the asker in debt: its datagrams are dropped before decryption."""
    switch, victim, (b, _c, _d) = joined(EngineLimits(work_per_peer_rate=10.0, work_per_peer_burst=40.0), B, C, D)
    sequence = b.request(victim.public_key, heavy(1), 1.0)
    switch.pump(1.0)
    (answer,) = responses(b, [sequence])
    assert sum(len(found.closest) for found in answer.response.hash2peers) == 60
    dropped = victim.statistics().over_work_budget
    victim.events()
    assert victim.ping(b.public_key, 1.0) is not None  # even its Pong is not heard (nor decrypted)
    switch.pump(1.0)
    assert victim.statistics().over_work_budget == dropped + 1
    assert not any(isinstance(e, PongReceived) for e in victim.events())
    switch.run(2.0, 8.0, 1.0)  # the debt is paid at 10 units a second
    victim.events()
    victim.ping(b.public_key, 8.5)
    switch.pump(8.5)
    assert any(isinstance(e, PongReceived) for e in victim.events())


def test_identities_of_one_prefix_share_its_work_budget() -> None:
    limits = EngineLimits(work_per_prefix_rate=1.0, work_per_prefix_burst=300.0)
    switch, victim, (b, c, d) = joined(limits, B, C, D)  # B and D share 11.0.0.0/24
    asked = [b.request(victim.public_key, heavy(i), 1.0) for i in range(15)]
    switch.pump(1.0)
    from_d = d.request(victim.public_key, heavy(50), 1.0)
    from_c = c.request(victim.public_key, heavy(51), 1.0)
    switch.pump(1.0)
    assert len(responses(b, asked)) < 15
    assert not responses(d, [from_d])  # its own identity budget is full, its prefix's is spent
    assert len(responses(c, [from_c])) == 1


def test_normal_lookups_are_never_throttled_by_the_default_budget() -> None:
    """A node bootstrapping through us: hundreds of one-key lookups at once, repeated."""
    switch, victim, (b,) = joined(EngineLimits(), B)
    asked = set()
    for second in range(1, 4):
        for _ in range(200):
            asked.add(b.request(victim.public_key, Announcement(features=1, find_peer=[random.randbytes(32)]), second))
        switch.pump(float(second))
    assert len(responses(b, asked)) == 600
    assert victim.statistics().over_work_budget == 0


def test_one_prefix_holds_at_most_its_share_of_pending_requests() -> None:
    switch = Switch()
    node = switch.add(V, limits=EngineLimits(max_pending_requests=64, pending_share_per_prefix=0.25))

    def ask(network: str, count: int) -> int:
        keys = [PrivateKey(random.randbytes(31) + b"\x01").public_key for _ in range(count)]
        endpoints = [(f"{network}.{i % 250 + 1}", 4000) for i in range(count)]
        return sum(
            node.request(key, Announcement(features=1), 0.0, endpoints=[endpoint]) is not None
            for key, endpoint in zip(keys, endpoints, strict=True)
        )

    assert ask("45.0.0", 100) == 32  # alone while the table is half empty, then its share is used up
    assert ask("46.0.0", 100) == 16  # a quarter of 64
    assert ask("47.0.0", 100) == 16  # the rest of the table
    assert node.statistics().pending_share_exceeded == 68 + 84 + 84
    assert node.statistics().pending_requests == 64


def _traverse(signer: PrivateKey, target: PublicKey, relay: PublicKey) -> Traverse:
    inner = encode_packet(Packet(0, Command.ANNOUNCEMENT, 9, Announcement(features=1).encode()[0]), sender=signer,
                          receiver=target)
    return Traverse.create(signer, target, relay, 10**10, inner)


def test_traverse_is_relayed_only_to_a_target_reported_to_its_signer() -> None:
    switch, relay, (a, b) = joined(EngineLimits(reported_target_window=60.0), B, C)
    a.send_message(relay.public_key, _traverse(a.key, b.public_key, relay.public_key))
    switch.pump(1.0)
    assert relay.statistics().traverse_target_unreported == 1 and relay.statistics().traverse_relayed == 0
    sequence = a.request(relay.public_key, Announcement(features=1, find_peer=[b.public_key.node_id]), 1.0)
    switch.pump(1.0)
    (found,) = responses(a, [sequence])
    assert [r.public_key for r in found.response.hash2peers[0].closest] == [b.public_key]
    a.send_message(relay.public_key, _traverse(a.key, b.public_key, relay.public_key))
    switch.pump(2.0)
    assert relay.statistics().traverse_relayed == 1
    switch.run(3.0, 70.0, 5.0)  # the report is older than the window now
    a.send_message(relay.public_key, _traverse(a.key, b.public_key, relay.public_key))
    switch.pump(70.0)
    assert relay.statistics().traverse_relayed == 1 and relay.statistics().traverse_target_unreported == 2


def _address(index: int) -> tuple[str, int]:
    return f"{11 + index // 62500}.{index // 250 % 250}.{index % 250}.1", 4000


def test_refusal_in_a_table_full_of_live_peers_is_cheap(pool: Identities) -> None:
    """10,000 live peers: a refused newcomer costs ≤ 0.1 ms (the scan for a silent peer, ~3 ms)."""
    node = PeerEngine(PrivateKey(bytes(range(1, 33))), EngineConfig(local_discovery=False), rng=random.Random(1))
    node.set_local_endpoints([V], 0.0)
    for index, key in enumerate(pool.take(node.limits.max_peers)):
        assert node.install_peer(key.public_key, _address(index), 0.0, port_internal=4000)
    newcomers = [(key.public_key, _address(20_000 + i)) for i, key in enumerate(pool.take(1000))]
    began = time.process_time()
    refused = [node.install_peer(key, address, 1.0) for key, address in newcomers]
    assert (time.process_time() - began) / len(newcomers) <= 0.0001
    assert not any(refused) and node.statistics().peer_table_full == len(newcomers)


def test_eviction_takes_the_longest_silent_peer_and_never_a_live_one() -> None:
    switch, victim, (early, late, live) = joined(EngineLimits(max_peers=3), B, C, D)
    switch.engines.pop(early.local_endpoints[0])  # gone at 0 s
    switch.run(1.0, 20.0, 1.0)
    switch.engines.pop(late.local_endpoints[0])  # gone at 20 s
    switch.run(21.0, 80.0, 1.0)  # both silent long enough to be inactive; ``live`` answers
    victim.events()
    newcomers = [switch.add((f"13.0.0.{i}", 4000), seed=20 + i) for i in range(3)]
    for newcomer in newcomers:
        newcomer.contact(victim.public_key, [V], 81.0)
        switch.pump(81.0)
    removed = [e.peer for e in victim.events() if isinstance(e, PeerRemoved) and e.reason == "evicted"]
    assert removed == [early.public_key, late.public_key]
    assert victim.peer(live.public_key) is not None
    assert victim.peer(newcomers[2].public_key) is None and victim.statistics().peer_table_full >= 1


def test_loopback_sources_are_limited_per_address_by_default() -> None:
    junk = bytes(200)
    shed = {}
    for mode in ("address", "exempt"):
        node = PeerEngine(PrivateKey(bytes(range(1, 33))), EngineConfig(local_discovery=False,
                          limits=EngineLimits(private_sources=mode)), rng=random.Random(1))
        node.set_local_endpoints([("127.0.0.1", 5000)], 0.0)
        for _ in range(300):
            node.receive_datagram(junk, ("127.0.0.5", 6000), ("127.0.0.1", 5000), 1.0)
        before = node.statistics().shed_unknown_source
        for _ in range(10):
            node.receive_datagram(junk, ("127.0.0.6", 6000), ("127.0.0.1", 5000), 1.0)  # another local node
        assert node.statistics().shed_unknown_source == before
        shed[mode] = before
    assert shed["address"] == 300 - int(EngineLimits().unknown_prefix_burst)
    assert shed["exempt"] == 0


def test_a_request_its_prefix_cannot_pay_costs_the_identity_nothing() -> None:
    """The identity's bucket is charged first and refunded when the prefix's lacks the units, so a
    peer whose prefix a neighbour spent keeps its own budget for later."""
    limits = EngineLimits(work_per_peer_rate=0.01, work_per_peer_burst=40.0, work_per_prefix_rate=0.1,
                          work_per_prefix_burst=40.0)
    switch, victim, (b, d) = joined(limits, B, D)  # B and D share 11.0.0.0/24
    b.request(victim.public_key, heavy(1), 100.0)  # 31 of the prefix's 40 units
    switch.pump(100.0)
    for _ in range(40):
        d.ping(victim.public_key, 100.1)  # the first few pass, the rest are refused at the prefix
    switch.pump(100.1)
    answered = sum(isinstance(e, PongReceived) for e in d.events())
    assert answered < 15 and victim.statistics().over_work_budget >= 25
    switch.run(100.2, 200.0, 5.0)  # the prefix earns ten units back, the identity one
    d.events()
    for _ in range(5):
        d.ping(victim.public_key, 200.0)
    switch.pump(200.0)
    assert sum(isinstance(e, PongReceived) for e in d.events()) == 5
