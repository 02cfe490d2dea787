"""Requests to known and reported peers, hole punching with Traverse, and the DHT answer hooks."""

from __future__ import annotations

import pytest

from peernet_proto import (
    AddressObserved,
    Announcement,
    Command,
    EncodeError,
    EngineLimits,
    Feature,
    InfoStoreFile,
    Packet,
    PeerRecord,
    PrivateKey,
    RequestTimedOut,
    ResponseReceived,
    Traverse,
    decode_extensions,
    encode_extensions,
    encode_packet,
    hash_data,
    needs_traverse,
)
from peernet_proto.testing import Switch
from peernet_proto.wire import encode_observed_address

# Public-looking addresses: records of local addresses are not shared with remote requesters.
A, B, R, C = ("11.0.0.1", 4001), ("11.0.0.2", 4002), ("11.0.0.10", 4010), ("11.0.0.3", 4003)


def port_restricted(switch: Switch, *behind_nat, opened=()):
    """A packet reaches an endpoint behind NAT only from where that endpoint has sent to before."""
    opened = set(opened)

    def drop(data, source, destination):
        opened.add((source, destination))
        return destination in behind_nat and (destination, source) not in opened

    switch.drop = drop


def three_with_relay(nat=(A, B)):
    switch = Switch()
    a = switch.add(A, seed=1, user_agent="A/1")
    b = switch.add(B, seed=2, user_agent="B/1")
    r = switch.add(R, seed=3, user_agent="R/1")
    port_restricted(switch, *nat)
    a.contact(r.public_key, [R], 0.0)
    b.contact(r.public_key, [R], 0.0)
    switch.pump(0.0)
    # A looks B up at R, as before any punch: R relays a Traverse only to a target it reported.
    a.request(r.public_key, Announcement(features=1, find_peer=[b.public_key.node_id]), 0.0)
    switch.pump(0.0)
    # Forget what the bootstrap opened between A and B (B followed R's answer to A).
    port_restricted(switch, *nat, opened=[(A, R), (B, R)])
    for engine in (a, b, r):
        engine.events()
    return switch, a, b, r


def responses(engine, sequence):
    return [e for e in engine.events() if isinstance(e, ResponseReceived) and e.sequence == sequence]


def test_request_to_a_known_peer_uses_its_connection():
    switch, a, _b, r = three_with_relay(nat=())
    sequence = a.request(r.public_key, Announcement(features=1, find_peer=[bytes(32)]), 1.0)
    assert sequence is not None
    switch.pump(1.0)
    (event,) = responses(a, sequence)
    assert event.sequence == sequence and event.response.hash2peers[0].key == bytes(32)


def test_request_to_a_reported_peer_without_nat_is_answered_directly():
    switch, a, b, _r = three_with_relay(nat=())
    sequence = a.request(b.public_key, Announcement(features=1), 1.0, endpoints=[B])
    assert sequence is not None
    switch.pump(1.0)
    assert len(responses(a, sequence)) == 1
    assert a.peer(b.public_key) is not None  # B answered at the address A asked: proven
    assert b.peer(a.public_key) is not None  # A answered B's token Announcement: proven too
    assert a.statistics().traverse_sent == 0


def test_request_without_any_usable_endpoint_is_refused():
    _switch, a, b, r = three_with_relay()
    assert a.request(b.public_key, Announcement(), 1.0) is None
    assert a.request(b.public_key, Announcement(), 1.0, endpoints=[("2001:db8::1", 5)]) is None  # no IPv6 socket
    assert a.request(a.public_key, Announcement(), 1.0, endpoints=[A]) is None
    with pytest.raises(EncodeError):
        a.request(r.public_key, Announcement(find_value=[bytes(32)] * 3000), 1.0)


def test_hole_punching_through_a_relay_connects_two_peers_behind_port_restricted_nat():
    switch, a, b, r = three_with_relay()
    # Without the relay, the direct request dies at B's NAT.
    plain = a.request(b.public_key, Announcement(features=1), 1.0, endpoints=[B], timeout=3.0)
    switch.run(1.0, 5.0, 0.05)
    events = a.events()
    assert not [e for e in events if isinstance(e, ResponseReceived) and e.sequence == plain]
    assert any(isinstance(e, RequestTimedOut) and e.sequence == plain for e in events)

    sequence = a.request(b.public_key, Announcement(features=1), 6.0, endpoints=[B], relay=r.public_key)
    assert sequence is not None
    switch.pump(6.0)
    assert len(responses(a, sequence)) == 1
    assert r.statistics().traverse_relayed == 1 and b.statistics().traverse_answered == 1
    assert a.statistics().punched == 1
    switch.run(6.0, 8.0, 0.05)  # A's ping after punching lets B register A too
    assert b.peer(a.public_key) is not None and a.peer(b.public_key) is not None
    assert a.statistics().punches == 0  # nothing left to re-send


def test_punching_between_unreachable_peers_fails_within_its_timeout():
    switch, a, b, r = three_with_relay()
    blocked = switch.drop

    def drop(data, source, destination):  # symmetric NAT on both sides: no pair of ports ever matches
        return blocked(data, source, destination) or {source, destination} == {A, B}

    switch.drop = drop
    punch = a.request(b.public_key, Announcement(features=1), 1.0, endpoints=[B], relay=r.public_key, timeout=5.0)
    sent_before = switch.delivered
    switch.run(1.0, 7.0, 0.05)
    events = a.events()
    assert not [e for e in events if isinstance(e, ResponseReceived) and e.sequence == punch]
    (failed,) = [e for e in events if isinstance(e, RequestTimedOut) and e.sequence == punch]
    assert not failed.answered and a.statistics().punches == 0
    assert b.statistics().traverse_answered == 1
    assert switch.delivered - sent_before < 40  # bounded re-sends, keep-alives only


def _traverse_from(signer: PrivateKey, target, relay, expires, inner_sender=None, command=Command.ANNOUNCEMENT):
    inner = encode_packet(
        Packet(0, command, 9, Announcement(features=1).encode()[0]), sender=inner_sender or signer, receiver=target
    )
    return Traverse.create(signer, target, relay, expires, inner)


def test_relay_refuses_forwarding_for_someone_else_expired_or_unknown_targets():
    switch, a, b, r = three_with_relay(nat=())
    stranger = PrivateKey.generate()
    a.send_message(r.public_key, _traverse_from(stranger, b.public_key, r.public_key, 10**10))  # A relays X's
    a.send_message(r.public_key, _traverse_from(a.key, b.public_key, r.public_key, 1))  # expired
    a.send_message(r.public_key, _traverse_from(a.key, stranger.public_key, r.public_key, 10**10))  # unknown target
    switch.pump(1.0)
    assert r.statistics().traverse_relay_refused == 3 and r.statistics().traverse_relayed == 0


def test_relay_forwards_at_most_thirty_per_minute_for_one_signer():
    switch, a, b, r = three_with_relay(nat=())
    for _ in range(40):
        a.send_message(r.public_key, _traverse_from(a.key, b.public_key, r.public_key, 10**10))
    switch.pump(1.0)
    assert r.statistics().traverse_relayed == 30 and r.statistics().traverse_relay_rate_limited == 10


def test_target_ignores_traverses_not_relayed_by_the_named_relay_or_with_a_foreign_packet():
    switch, a, b, r = three_with_relay()  # B does not know A
    stranger = PrivateKey.generate()
    # Signed by A but embedding a packet of someone else.
    a.send_message(r.public_key, _traverse_from(a.key, b.public_key, r.public_key, 10**10, inner_sender=stranger))
    switch.pump(1.0)
    assert b.statistics().traverse_invalid == 1
    inner_ping = _traverse_from(a.key, b.public_key, r.public_key, 10**10, command=Command.PING)
    a.send_message(r.public_key, inner_ping)
    switch.pump(2.0)
    assert b.statistics().traverse_invalid == 2
    direct = _traverse_from(a.key, b.public_key, r.public_key, 10**10).with_addresses(ipv4_port=1)
    # A Traverse straight from A, naming R as relay: B checks that the sender is the relay.
    raw = encode_packet(Packet(0, Command.TRAVERSE, 0, direct.encode()[0]), sender=a.key, receiver=b.public_key)
    b.receive_datagram(raw, A, B, 3.0)
    assert b.statistics().unproven_dropped == 1  # B does not know A: dropped before the Traverse is read


def test_needs_traverse_follows_firewall_bit_and_port_mismatch():
    key = PrivateKey.generate().public_key
    assert not needs_traverse(PeerRecord(key, ipv4="11.0.0.1", ipv4_port=112, ipv4_port_internal=112))
    assert needs_traverse(PeerRecord(key, ipv4="11.0.0.1", ipv4_port=40000, ipv4_port_internal=112))
    assert not needs_traverse(
        PeerRecord(key, ipv4="11.0.0.1", ipv4_port=40000, ipv4_port_internal=112, ipv4_port_external=112)
    )
    assert needs_traverse(PeerRecord(key, ipv4="11.0.0.1", ipv4_port=112, ipv4_port_internal=112, features=4))
    assert not needs_traverse(PeerRecord(key, ipv4="11.0.0.1", ipv4_port=112))  # internal port unknown


class Handler:
    def __init__(self, values, providers=()):
        self.values = values
        self.providers = list(providers)
        self.stored: list = []
        self.extensions: list = []

    def find_value(self, key, requester, now):
        if key in self.values:
            return self.values[key]
        return self.providers or None

    def info_store(self, requester, records, now):
        self.stored.append((requester, tuple(records)))

    def extension(self, requester, features, items, now):
        self.extensions.append(items)
        return {1: b"answer:" + items[1]}


def test_find_value_info_store_and_extensions_go_through_the_handler():
    switch, a, b, r = three_with_relay(nat=())
    value = b"some small value"
    handler = Handler({hash_data(value): value})
    r.handler = handler
    missing = bytes(range(32))
    request = Announcement(
        features=a.features,
        find_value=[hash_data(value), missing],
        info_store=[InfoStoreFile(bytes(32), 10)],
        extension=encode_extensions({1: b"ext"}),
    )
    sequence = a.request(r.public_key, request, 1.0)
    switch.pump(1.0)
    (event,) = responses(a, sequence)
    assert [f.data for f in event.response.embedded_files] == [value]
    (miss,) = event.response.hash2peers
    assert miss.key == missing and [p.public_key for p in miss.closest] == [b.public_key]  # closest on a miss
    assert decode_extensions(event.response.extension) == {1: b"answer:ext", 2: encode_observed_address(A)}
    assert handler.stored == [(a.public_key, (InfoStoreFile(bytes(32), 10),))]

    handler.providers = [b.public_key]
    sequence = a.request(r.public_key, Announcement(features=1, find_value=[missing]), 2.0)
    switch.pump(2.0)
    (event,) = responses(a, sequence)
    (entry,) = event.response.hash2peers
    assert [p.public_key for p in entry.storing] == [b.public_key] and not entry.closest


def test_without_handler_find_value_misses_answer_with_closest_peers():
    switch, a, b, r = three_with_relay(nat=())
    sequence = a.request(r.public_key, Announcement(features=1, find_value=[bytes(32)]), 1.0)
    switch.pump(1.0)
    (event,) = responses(a, sequence)
    assert [p.public_key for p in event.response.hash2peers[0].closest] == [b.public_key]
    assert event.response.extension == b""  # the request did not show the EXTENSIONS bit: a reference peer


def test_peers_with_extensions_learn_the_address_they_are_seen_at():
    switch, a, _b, r = three_with_relay(nat=())
    a.request(r.public_key, Announcement(features=a.features), 1.0)
    switch.pump(1.0)
    observed = [e for e in a.events() if isinstance(e, AddressObserved)]
    assert [(e.peer, e.observed, e.local) for e in observed] == [(r.public_key, A, A)]
    assert a.features & Feature.EXTENSIONS

def test_a_failed_punch_is_reported_at_its_timeout_not_on_the_next_tick():
    switch, a, b, r = three_with_relay()
    switch.drop = lambda data, source, destination: {source, destination} == {A, B}
    punch = a.request(b.public_key, Announcement(features=1), 1.3, endpoints=[B], relay=r.public_key, timeout=2.0)
    assert a.next_deadline() <= 1.35  # the first re-send
    now = 1.3
    while not any(isinstance(e, RequestTimedOut) and e.sequence == punch for e in a.events()):
        now = a.next_deadline()
        assert now <= 3.3 + 1e-9
        switch.pump(now)
    assert abs(now - 3.3) < 1e-9


def test_requests_carry_our_blockchain_state():
    switch, a, _b, r = three_with_relay(nat=())
    a.set_blockchain(5, 2)
    a.request(r.public_key, Announcement(features=a.features, find_peer=[bytes(32)]), 1.0)
    switch.pump(1.0)
    info = r.peer(a.public_key)
    assert (info.blockchain_height, info.blockchain_version) == (5, 2)
    a.send_announcement(r.public_key, Announcement(features=a.features), 2.0)
    switch.pump(2.0)
    assert r.peer(a.public_key).blockchain_height == 5


def test_a_value_too_large_to_embed_is_answered_as_a_miss():
    switch, a, b, r = three_with_relay(nat=())
    value = bytes(65_349)
    r.handler = Handler({hash_data(value): value})
    sequence = a.request(
        r.public_key, Announcement(features=1, find_value=[hash_data(value)], user_agent="x" * 200), 1.0
    )
    switch.pump(1.0)
    (event,) = responses(a, sequence)
    assert not event.response.embedded_files and r.statistics().value_too_large == 1
    assert [p.public_key for p in event.response.hash2peers[0].closest] == [b.public_key]


def test_relay_bytes_are_budgeted_per_target():
    """However many signers ask, one target gets at most its byte budget a minute relayed."""
    switch = Switch()
    limits = EngineLimits(relay_bytes_per_target=200_000, relay_bytes_per_prefix=10_000_000)
    r = switch.add(R, seed=3, limits=limits)
    b = switch.add(B, seed=2)
    b.contact(r.public_key, [R], 0.0)
    switch.pump(0.5)
    signers = [switch.add(("127.0.0.1", 2000 + i), seed=10 + i) for i in range(10)]
    for signer in signers:
        signer.contact(r.public_key, [R], 0.5)
    switch.pump(1.0)
    for signer in signers:
        traverse = Traverse.create(signer.key, b.public_key, r.public_key, 10**10, bytes(50_000))
        signer.send_message(r.public_key, traverse)
    switch.pump(1.5)
    assert r.statistics().traverse_relayed == 3  # 3 × ~50 KB fit into 200 KB
    assert r.statistics().traverse_relay_rate_limited == 7
