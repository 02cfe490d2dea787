"""The sans-IO peer engine with time passed in."""

import pytest
from Crypto.Cipher import Salsa20

from peernet_proto import (
    Announcement,
    BlockList,
    Command,
    EngineLimits,
    Hash2Peer,
    MessageReceived,
    Packet,
    PeerConnected,
    PeerRecord,
    PeerRemoved,
    PongReceived,
    PrivateKey,
    RequestTimedOut,
    Response,
    ResponseReceived,
    RootPeer,
    decode_message,
    decode_packet,
    encode_packet,
)
from peernet_proto.testing import Switch

A, B, C = ("127.0.0.1", 1001), ("127.0.0.1", 1002), ("127.0.0.1", 1003)


def connected_pair():
    switch = Switch()
    a = switch.add(A, seed=1, user_agent="A/1")
    b = switch.add(B, seed=2, user_agent="B/1")
    a.contact(b.public_key, [B], 0.0)
    switch.pump(0.0)
    return switch, a, b


def test_handshake_lists_each_other_with_user_agents():
    _, a, b = connected_pair()
    assert [p.user_agent for p in a.peers()] == ["B/1"]
    assert [p.user_agent for p in b.peers()] == ["A/1"]
    events_a = a.events()
    assert any(isinstance(e, PeerConnected) and e.peer == b.public_key for e in events_a)
    response = next(e for e in events_a if isinstance(e, ResponseReceived))
    assert response.response.user_agent == "B/1"  # the Announcement had a user agent
    assert response.response.port_internal == B[1]  # ports patched per outgoing socket
    received = next(e for e in b.events() if isinstance(e, MessageReceived))
    assert received.message.port_internal == A[1] and received.message.find_self


def test_ping_pong_and_rtt():
    switch, a, b = connected_pair()
    a.events()
    assert a.ping(b.public_key, 1.0) is not None
    switch.pump(1.0)
    assert any(isinstance(e, PongReceived) for e in a.events())


def test_unsolicited_response_is_dropped():
    _switch, a, b = connected_pair()
    (payload,) = Response(user_agent="forged").encode()
    raw = encode_packet(Packet(0, Command.RESPONSE, 12345, payload), sender=b.key, receiver=a.public_key)
    a.events()
    a.receive_datagram(raw, B, A, 2.0)
    assert a.statistics().unmatched_response == 1
    assert not [e for e in a.events() if isinstance(e, ResponseReceived)]


def test_keep_alive_holds_connection_for_minutes():
    switch, a, b = connected_pair()
    switch.run(1.0, 600.0)
    assert len(a) == 1 and len(b) == 1
    assert a.peers()[0].connections[0][2] == "active"


def test_dead_peer_is_dropped_on_time():
    switch, a, b = connected_pair()
    switch.run(1.0, 30.0)
    del switch.engines[B]  # b dies without a word
    switch.run(31.0, 200.0)
    events = a.events()
    assert [e.peer for e in events if isinstance(e, PeerRemoved)] == [b.public_key]
    assert len(a) == 0
    assert any(isinstance(e, RequestTimedOut) and e.peer == b.public_key for e in events)


def test_dead_peer_removal_time_is_invalidate_plus_expiry():
    switch, a, _b = connected_pair()
    del switch.engines[B]
    for now in range(1, 300):
        switch.pump(float(now))
        if len(a) == 0:
            break
    # last packet at 0 s: inactive after 22 s, removed 120 s later (spec wire.md §9.7)
    assert 142 <= now <= 144


def test_multi_packet_response_is_collected_on_one_sequence():
    switch, a, b = connected_pair()
    a.events()
    keys = [i.to_bytes(32, "big") for i in range(2100)]
    sequences = a.send_announcement(b.public_key, Announcement(find_value=keys), 5.0)
    switch.pump(5.0)
    responses = [e for e in a.events() if isinstance(e, ResponseReceived) and e.sequence in sequences]
    # 2100 keys do not fit into one Announcement: two requests, each answered by one Response
    assert sum(len(r.response.hashes_not_found) for r in responses) == 2100


def test_split_response_extends_the_sequence_until_the_last_packet():
    switch, a, b = connected_pair()
    a.events()
    (sequence,) = a.send_announcement(b.public_key, Announcement(find_value=[bytes(32)]), 1.0)
    switch.engines.pop(B)
    a.datagrams_to_send()
    payloads = Response(hashes_not_found=[bytes([i % 256]) * 32 for i in range(2500)]).encode()
    assert len(payloads) == 2
    for index, payload in enumerate(payloads):
        raw = encode_packet(Packet(0, Command.RESPONSE, sequence, payload), sender=b.key, receiver=a.public_key)
        a.receive_datagram(raw, B, A, 15.0 + index * 9)  # the second arrives 24 s after the request
    got = [e for e in a.events() if isinstance(e, ResponseReceived)]
    assert len(got) == 2 and got[-1].response.sequence_last


def test_redundant_connections():
    switch = Switch()
    a = switch.add(A, seed=1)
    key_b = PrivateKey.generate()
    b1 = switch.add(B, seed=2, key=key_b)
    a.contact(b1.public_key, [B], 0.0)
    switch.pump(0.0)
    # the same identity now also speaks from another address
    b2 = switch.add(("127.0.0.2", 1002), seed=3, key=key_b)
    b2.contact(a.public_key, [A], 1.0)
    switch.pump(1.0)
    statuses = sorted(c[2] for c in a.peers()[0].connections)
    assert statuses == ["active", "redundant"]


def test_port_change_behind_nat_updates_the_connection():
    switch, a, b = connected_pair()
    switch.rewrite_source[B] = ("127.0.0.1", 40000)
    a.ping(b.public_key, 1.0)
    switch.pump(1.0)
    (connection,) = a.peers()[0].connections
    assert connection[0] == ("127.0.0.1", 40000)


def test_admission_policy_blocks_a_key():
    switch = Switch()
    a = switch.add(A, seed=1)
    b = switch.add(B, seed=2)
    policy = BlockList()
    policy.keys.add(b.public_key)
    a.policy = policy
    b.contact(a.public_key, [A], 0.0)
    switch.pump(0.0)
    assert len(a) == 0 and a.statistics().not_admitted >= 1


def test_forged_identities_from_one_address_are_bounded():
    switch = Switch()
    a = switch.add(A, seed=1, limits=EngineLimits(max_identities_per_ip=5, max_peers=100))
    (payload,) = Announcement(find_self=True).encode()
    keys = [PrivateKey.generate() for _ in range(50)]
    for i, key in enumerate(keys):
        raw = encode_packet(Packet(0, 0, i, payload), sender=key, receiver=a.public_key)
        a.receive_datagram(raw, ("127.0.0.9", 5000 + i), A, 0.0)
    assert len(a) == 0  # answered, but none proved to receive at its address: no state held
    assert a.statistics().answered_statelessly == 50
    challenges = [out for out in a.datagrams_to_send() if out.data and out.destination[0] == "127.0.0.9"]
    (response,) = Response(features=0).encode()
    for out in challenges:
        key = keys[out.destination[1] - 5000]
        packet, _ = decode_packet(out.data, receiver=key.public_key)
        if packet.command != Command.ANNOUNCEMENT:
            continue
        raw = encode_packet(Packet(0, Command.RESPONSE, packet.sequence, response), sender=key, receiver=a.public_key)
        a.receive_datagram(raw, out.destination, A, 0.1)  # echoes the token: proven, and then limited
    assert len(a) == 5
    assert a.statistics().admitted_by_token == 50
    assert a.statistics().identities_per_ip_exceeded == 45


def test_unknown_senders_are_answered_but_hold_no_state():
    """Return routability: spoofed sources get an answer and a challenge; nothing else."""
    switch = Switch()
    a = switch.add(A, seed=1)
    (payload,) = Announcement(find_self=True).encode()
    for i in range(20):
        raw = encode_packet(Packet(0, 0, i, payload), sender=PrivateKey.generate(), receiver=a.public_key)
        a.receive_datagram(raw, ("203.0.113.9", 5000 + i), A, 0.0)
    sent = a.datagrams_to_send()
    assert len(sent) == 40  # a Response and our Announcement (the token) each
    assert len(a) == 0 and a.statistics().pending_requests == 0
    assert not any(isinstance(e, PeerConnected) for e in a.events())


def test_exact_replay_is_dropped_before_decryption():
    _, a, b = connected_pair()
    raw = encode_packet(Packet(0, Command.PING, 77, b""), sender=a.key, receiver=b.public_key)
    b.receive_datagram(raw, A, B, 1.0)
    b.receive_datagram(raw, A, B, 1.1)
    b.receive_datagram(raw, ("127.0.0.7", 9), B, 1.2)
    assert b.statistics().replayed == 2
    assert sum(1 for out in b.datagrams_to_send() if out.data) == 1  # one Pong


_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _malleated(raw: bytes, receiver) -> bytes:
    """The same packet with the signature's ECDSA twin: (r, n - s) and the other recovery id.
    Anyone can compute it: the obfuscation key is the receiver's public key."""
    nonce = raw[:4]
    keystream = Salsa20.new(key=receiver.to_bytes()[1:], nonce=nonce + nonce).encrypt(bytes(65))
    signature = bytes(x ^ k for x, k in zip(raw[-65:], keystream, strict=True))
    header, r, s = signature[0], signature[1:33], int.from_bytes(signature[33:], "big")
    twin = bytes(((header - 27 ^ 1) + 27,)) + r + (_CURVE_ORDER - s).to_bytes(32, "big")
    return raw[:-65] + bytes(x ^ k for x, k in zip(twin, keystream, strict=True))


def test_replay_with_the_signature_twin_is_dropped():
    """A replay is recognised by the signed part: re-encoding the signature does not make it new."""
    _, a, b = connected_pair()
    raw = encode_packet(Packet(0, Command.PING, 78, b""), sender=a.key, receiver=b.public_key)
    twin = _malleated(raw, b.public_key)
    assert twin != raw
    assert decode_packet(twin, receiver=b.public_key) == decode_packet(raw, receiver=b.public_key)
    b.receive_datagram(raw, A, B, 1.0)
    b.receive_datagram(twin, A, B, 1.1)
    assert b.statistics().replayed == 1
    assert sum(1 for out in b.datagrams_to_send() if out.data) == 1  # one Pong


def test_a_packet_from_a_known_endpoint_is_attributed_to_its_true_signer():
    """The peer known at a source is only a hint for the signature check: another key's packet from
    the same endpoint is answered as that key's."""
    _, a, b = connected_pair()
    b.datagrams_to_send()
    other = PrivateKey.generate()
    raw = encode_packet(Packet(0, Command.PING, 79, b""), sender=other, receiver=b.public_key)
    b.receive_datagram(raw, A, B, 1.0)
    answers = [out.data for out in b.datagrams_to_send() if out.data]
    assert answers
    for data in answers:  # addressed to the signer: only its key decrypts them
        assert decode_packet(data, receiver=other.public_key)[1] == b.public_key
    assert b.statistics().unexpected_signers == 1
    for sequence in (80, 81):  # the peer itself from there: still its own, however it was checked
        raw = encode_packet(Packet(0, Command.PING, sequence, b""), sender=a.key, receiver=b.public_key)
        b.receive_datagram(raw, A, B, 1.1)
    pongs = [out.data for out in b.datagrams_to_send() if out.data]
    assert [decode_packet(data, receiver=a.public_key)[0].sequence for data in pongs] == [80, 81]
    assert b.statistics().unexpected_signers == 1
    raw = encode_packet(Packet(0, Command.PING, 82, b""), sender=other, receiver=b.public_key)
    b.receive_datagram(raw, A, B, 1.2)
    assert b.statistics().unexpected_signers == 2


def test_unknown_source_prefix_is_shed_before_decryption():
    switch = Switch()
    a = switch.add(A, seed=1, limits=EngineLimits(unknown_prefix_rate=10.0, unknown_prefix_burst=20.0))
    (payload,) = Announcement().encode()
    for i in range(100):
        raw = encode_packet(Packet(0, 0, i, payload), sender=PrivateKey.generate(), receiver=a.public_key)
        a.receive_datagram(raw, (f"198.51.100.{i}", 7000), A, 0.0)
    stats = a.statistics()
    assert stats.answered_statelessly == 20 and stats.shed_unknown_source == 80
    raw = encode_packet(Packet(0, 0, 1, payload), sender=PrivateKey.generate(), receiver=a.public_key)
    a.receive_datagram(raw, ("198.51.101.1", 7000), A, 0.0)  # another /24 has its own share
    assert a.statistics().answered_statelessly == 21


def test_peer_table_is_bounded_and_evicts_silent_peers():
    switch = Switch()
    a = switch.add(A, seed=1, limits=EngineLimits(max_peers=10))
    (payload,) = Announcement().encode()
    for i in range(30):
        raw = encode_packet(Packet(0, 0, i, payload), sender=PrivateKey.generate(), receiver=a.public_key)
        a.receive_datagram(raw, (f"198.51.100.{i}", 5000), A, float(i * 30))
        a.handle_timer(float(i * 30))
    assert len(a) <= 10


def test_closest_peers_are_answered_from_connectable_peers():
    switch = Switch()
    root = switch.add(A, seed=1)
    others = [switch.add(("127.0.0.1", 2000 + i), seed=10 + i) for i in range(8)]
    for engine in others:
        engine.contact(root.public_key, [A], 0.0)
    switch.pump(0.0)
    asker = others[0]
    asker.events()
    (sequence,) = asker.send_announcement(root.public_key, Announcement(find_self=True, features=1), 1.0)
    switch.pump(1.0)
    (answer,) = [e for e in asker.events() if isinstance(e, ResponseReceived) and e.sequence == sequence]
    (entry,) = answer.response.hash2peers
    assert len(entry.closest) == 5
    assert asker.public_key not in {r.public_key for r in entry.closest}
    own = int.from_bytes(asker.public_key.node_id, "big")
    distances = [int.from_bytes(r.node_id, "big") ^ own for r in entry.closest]
    assert distances == sorted(distances)


def test_bootstrap_follows_find_self_records_to_a_full_table():
    switch = Switch()
    root = switch.add(A, seed=1)
    nodes = [switch.add(("127.0.0.1", 3000 + i), seed=20 + i) for i in range(6)]
    for i, node in enumerate(nodes):
        node.contact(root.public_key, [A], float(i))
        switch.pump(float(i))
    switch.run(6.0, 20.0)
    # the last node learned the others from the root's FIND_SELF answer and contacted them
    assert len(nodes[-1]) == 6


def test_bootstrap_contacts_a_peer_once_when_several_answers_report_it_at_once():
    """Two roots answer at the same moment and both report C: one Announcement to C, not two
    (each answer to a duplicate would be followed again, and the walk would grow without end)."""
    switch = Switch()
    r1, r2 = switch.add(("10.0.1.1", 112), seed=1), switch.add(("10.0.2.1", 112), seed=2)
    c = switch.add(("10.0.3.1", 112), seed=3)
    for root, at in ((r1, ("10.0.1.1", 112)), (r2, ("10.0.2.1", 112))):
        c.contact(root.public_key, [at], 0.0)
        switch.pump(0.0)
    a = switch.add(("10.0.4.1", 112), seed=4)
    a.contact(r1.public_key, [("10.0.1.1", 112)], 1.0)
    a.contact(r2.public_key, [("10.0.2.1", 112)], 1.0)
    switch.pump(1.0)
    assert a.peer(c.public_key) is not None
    assert c.statistics().answered_statelessly == 1


def test_garbage_and_forged_packets_never_raise():
    _switch, a, _b = connected_pair()
    import os

    for size in (0, 10, 76, 77, 100, 1500):
        a.receive_datagram(os.urandom(size), ("192.0.2.1", 9), A, 3.0)
    assert len(a) <= 2


@pytest.mark.parametrize("command", [6, 8, 10])
def test_other_messages_reach_the_application(command):
    _switch, a, b = connected_pair()
    a.events()
    from tests.proto.strategies import messages  # noqa: F401  (strategy module imports fine)

    payload = {10: b"hello", 8: bytes([3, 0]) + bytes(32), 6: bytes([3]) + b.public_key.to_bytes()}[command]
    raw = encode_packet(Packet(0, command, 0, payload), sender=b.key, receiver=a.public_key)
    a.receive_datagram(raw, B, A, 3.0)
    (event,) = [e for e in a.events() if isinstance(e, MessageReceived)]
    assert event.message == decode_message(command, payload)


def test_unknown_peer_ping_gets_an_introduction_instead_of_pong():
    switch = Switch()
    a = switch.add(A, seed=1)
    stranger = PrivateKey.generate()
    raw = encode_packet(Packet(0, Command.PING, 77, b""), sender=stranger, receiver=a.public_key)
    a.receive_datagram(raw, B, A, 0.0)
    (out,) = a.datagrams_to_send()
    packet, _ = decode_packet(out.data, receiver=stranger.public_key)
    assert packet.command == Command.ANNOUNCEMENT
    assert decode_message(0, packet.payload).user_agent


def test_response_records_describe_reachable_peers_only():
    # A peer learned over a private LAN address is not shared with a requester on loopback.
    switch = Switch()
    root = switch.add(A, seed=1)
    lan_peer = switch.add(("192.168.1.5", 112), seed=2)
    asker = switch.add(C, seed=3)
    lan_peer.contact(root.public_key, [A], 0.0)
    switch.pump(0.0)
    asker.contact(root.public_key, [A], 1.0)
    switch.pump(1.0)
    answers = [e for e in asker.events() if isinstance(e, ResponseReceived)]
    records = [r for e in answers for h in e.response.hash2peers for r in h.closest]
    assert lan_peer.public_key not in {r.public_key for r in records}
    assert isinstance(Hash2Peer(bytes(32)), Hash2Peer) and PeerRecord  # public names exist


def test_packet_from_new_host_does_not_move_a_working_connection():
    """A captured packet replayed from elsewhere (a fresh one, past the replay filter) leaves the
    peer's working path in place; an answer on the new path would prove it."""
    _, a, b = connected_pair()
    (payload,) = Announcement(find_self=True).encode()
    raw = encode_packet(Packet(0, 0, 99, payload), sender=a.key, receiver=b.public_key)
    b.receive_datagram(raw, ("127.0.0.66", 4444), B, 1.0)
    (info,) = b.peers()
    assert info.connections[0][0] == A and info.connections[0][2] == "active"
    assert [c[2] for c in info.connections if c[0] == ("127.0.0.66", 4444)] == ["redundant"]
    assert b.statistics().unproven_path_kept == 1


def test_one_prefix_holds_a_bounded_share_of_the_table():
    """Identities that prove their addresses, all inside one IPv6 /64: the prefix's quota holds."""
    switch = Switch()
    a = switch.add(A, seed=1, limits=EngineLimits(max_identities_per_prefix=4, unknown_prefix_burst=1000))
    (payload,) = Announcement(find_self=True).encode()
    (answer,) = Response(features=0).encode()
    for i in range(10):
        key, source = PrivateKey.generate(), (f"2a00:1:2:3::{i + 1:x}", 7000)
        a.receive_datagram(encode_packet(Packet(0, 0, i, payload), sender=key, receiver=a.public_key), source, A, 0.0)
        for out in a.datagrams_to_send():
            packet, _ = decode_packet(out.data, receiver=key.public_key)
            if packet.command == Command.ANNOUNCEMENT:
                echo = Packet(0, Command.RESPONSE, packet.sequence, answer)
                a.receive_datagram(encode_packet(echo, sender=key, receiver=a.public_key), source, A, 0.1)
    assert len(a) == 4
    assert a.statistics().identities_per_prefix_exceeded == 6


def test_go_peer_connects_with_one_packet_each_way():
    """A reference peer's first Announcement gets our Response at once (its connection, one packet
    each way); our token Announcement rides along, and its ordinary Response admits it to our table."""
    switch = Switch()
    a = switch.add(A, seed=1)
    go = PrivateKey.generate()
    hello = Announcement(features=1, find_self=True, user_agent="Peernet Core/0.1", port_internal=B[1])
    (payload,) = hello.encode()
    a.receive_datagram(encode_packet(Packet(0, 0, 4242, payload), sender=go, receiver=a.public_key), B, A, 0.0)
    answers = [decode_packet(out.data, receiver=go.public_key)[0] for out in a.datagrams_to_send()]
    assert (answers[0].command, answers[0].sequence) == (Command.RESPONSE, 4242)  # Go is connected
    (token,) = [p.sequence for p in answers if p.command == Command.ANNOUNCEMENT]
    assert len(a) == 0
    (response,) = Response(features=1, user_agent="Peernet Core/0.1", port_internal=B[1]).encode()
    a.receive_datagram(encode_packet(Packet(0, 1, token, response), sender=go, receiver=a.public_key), B, A, 0.1)
    (info,) = a.peers()
    assert info.public_key == go.public_key and info.user_agent == "Peernet Core/0.1"
    assert any(isinstance(e, PeerConnected) and e.peer == go.public_key for e in a.events())


def test_an_unknown_sender_is_challenged_once_while_its_echo_is_on_its_way():
    switch = Switch()
    a = switch.add(A, seed=1)
    stranger = PrivateKey.generate()
    (payload,) = Announcement(find_self=True).encode()

    def announce(sequence: int, now: float) -> int:
        raw = encode_packet(Packet(0, 0, sequence, payload), sender=stranger, receiver=a.public_key)
        a.receive_datagram(raw, ("203.0.113.9", 5000), A, now)
        return len(a.datagrams_to_send())

    assert announce(1, 0.0) == 2  # the answer and the challenge
    assert announce(2, 0.5) == 1  # the answer only: the challenge is on its way
    assert announce(3, 1.9) == 1
    assert a.statistics().challenges_repeated_later == 2
    assert announce(4, 2.5) == 2  # no echo came back: challenged again


def test_roots_that_listed_nobody_are_asked_again_once_they_know_us():
    """Seven nodes start together: the root answers them all before any proved its address, so
    its FIND_SELF answers list nobody. A second FIND_SELF shortly after finds the others."""
    switch = Switch()
    root = switch.add(A, seed=1)
    roots = [RootPeer(root.public_key, (A,))]
    nodes = [switch.add(("127.0.0.1", 4000 + i), seed=30 + i, root_peers=roots) for i in range(7)]
    switch.pump(0.0)
    assert all(len(node) == 1 for node in nodes)  # the root only
    switch.pump(0.5)
    switch.pump(1.0)
    assert all(len(node) >= 6 for node in nodes)  # the root and the five closest it listed


def test_a_root_that_listed_enough_peers_is_not_asked_again():
    switch = Switch()
    root = switch.add(A, seed=1)
    roots = [RootPeer(root.public_key, (A,))]
    for i in range(6):  # six nodes known to the root one after another
        switch.add(("127.0.0.1", 4100 + i), seed=40 + i, root_peers=roots)
        switch.pump(float(i))
    late = switch.add(("127.0.0.1", 4200), seed=50, root_peers=roots)
    switch.pump(6.0)
    asked = [e for e in root.events() if isinstance(e, MessageReceived) and e.peer == late.public_key]
    switch.run(6.5, 9.0, 0.5)
    asked += [e for e in root.events() if isinstance(e, MessageReceived) and e.peer == late.public_key]
    assert len([e for e in asked if e.message.find_self]) == 1
