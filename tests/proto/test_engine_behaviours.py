"""Behaviours plugged into the engine: feature bits, command routing, owned answers, timers,
lite sessions (with a stub behaviour standing in for the transfer layer)."""

from __future__ import annotations

import uuid

from peernet_proto import (
    Announcement,
    BaseBehaviour,
    Behaviour,
    Chat,
    Command,
    EngineEvent,
    EngineHost,
    Feature,
    Message,
    MessageReceived,
    PeerConnected,
    PeerRemoved,
    PrivateKey,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    Transfer,
)
from peernet_proto.testing import Switch
from peernet_proto.wire import TransferControl, encode_lite_packet

A, B, C = ("127.0.0.1", 1001), ("127.0.0.1", 1002), ("127.0.0.1", 1003)


class Stub(BaseBehaviour):
    """Records everything the engine hands it."""

    feature_bits = 1 << 5  # unused by the reference (spec wire.md §16)
    commands = frozenset({Command.TRANSFER})

    def __init__(self) -> None:
        self.host: EngineHost | None = None
        self.messages: list[tuple[PublicKey, Message, int]] = []
        self.lite: list[tuple[PublicKey, uuid.UUID, bytes]] = []
        self.events: list[EngineEvent] = []
        self.timers: list[float] = []
        self.deadline: float | None = None

    def attach(self, host: EngineHost, now: float) -> None:
        self.host = host

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        self.messages.append((peer, message, sequence))

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        self.lite.append((peer, session_id, data))

    def handle_event(self, event: EngineEvent, now: float) -> None:
        self.events.append(event)

    def handle_timer(self, now: float) -> None:
        self.timers.append(now)
        self.deadline = None

    def next_deadline(self) -> float | None:
        return self.deadline


def pair(stub: Stub) -> tuple[Switch, object, object]:
    switch = Switch()
    a = switch.add(A, seed=1)
    b = switch.add(B, seed=2)
    b.register(stub)
    a.contact(b.public_key, [B], 0.0)
    switch.pump(0.0)
    return switch, a, b


def test_a_stub_is_a_behaviour_and_the_engine_its_host():
    stub = Stub()
    _, _, b = pair(stub)
    behaviour: Behaviour = stub
    host: EngineHost = b
    assert behaviour is stub and stub.host is host
    assert b.features & stub.feature_bits


def test_commands_are_routed_to_their_behaviour_not_the_generic_event():
    stub = Stub()
    switch, a, b = pair(stub)
    b.events()
    transfer = Transfer(TransferControl.REQUEST_START, bytes(32), limit=10, transfer_id=uuid.uuid4())
    assert a.send_message(b.public_key, transfer, sequence=7)
    assert a.send_message(b.public_key, Chat("hello"))
    switch.pump(1.0)
    assert stub.messages == [(a.public_key, transfer, 7)]
    generic = [e.message for e in b.events() if isinstance(e, MessageReceived)]
    assert generic == [Chat("hello")]


def test_answers_go_to_the_behaviour_that_asked_and_nowhere_else():
    stub = Stub()
    switch, a, b = pair(stub)
    b.events()
    stub.events.clear()
    sequence = b.request(a.public_key, Announcement(features=b.features), 1.0, owner=stub)
    switch.pump(1.0)
    answers = [e for e in stub.events if isinstance(e, ResponseReceived)]
    assert [e.sequence for e in answers] == [sequence]
    assert not [e for e in b.events() if isinstance(e, ResponseReceived)]
    del switch.engines[A]  # a is gone: the next request times out, for the stub only
    stub.events.clear()
    sequence = b.request(a.public_key, Announcement(features=b.features), 2.0, owner=stub, timeout=3.0)
    switch.run(2.0, 6.0)
    assert [e.sequence for e in stub.events if isinstance(e, RequestTimedOut)] == [sequence]
    assert not [e for e in b.events() if isinstance(e, RequestTimedOut) and e.sequence == sequence]


def test_behaviours_see_engine_events_and_get_their_timer():
    stub = Stub()
    switch, a, b = pair(stub)
    assert any(isinstance(e, PeerConnected) and e.peer == a.public_key for e in stub.events)
    stub.deadline = 5.0
    assert b.next_deadline() <= 5.0
    switch.pump(4.0)
    assert stub.timers == []
    switch.pump(5.5)
    assert stub.timers == [5.5]


def test_lite_packets_of_an_open_session_reach_its_owner_before_any_decryption():
    stub = Stub()
    switch, a, b = pair(stub)
    session = uuid.uuid4()
    assert b.open_lite_session(session, a.public_key, stub)
    assert a.send_lite(b.public_key, session, b"frame one")
    switch.pump(1.0)
    assert stub.lite == [(a.public_key, session, b"frame one")]
    stats = b.statistics()
    assert stats.lite_received == 1 and stats.undecryptable == 0 and stats.lite_sessions == 1
    # Short lite packets (below a full packet's minimum) get through too.
    b.receive_datagram(encode_lite_packet(session, b"x"), A, B, 1.5)
    assert stub.lite[-1] == (a.public_key, session, b"x")


def test_lite_packets_from_elsewhere_or_of_unknown_sessions_are_not_handed_over():
    stub = Stub()
    _switch, a, b = pair(stub)
    session = uuid.uuid4()
    assert b.open_lite_session(session, a.public_key, stub)
    b.receive_datagram(encode_lite_packet(session, b"spoofed"), C, B, 1.0)  # not a's endpoint
    b.receive_datagram(encode_lite_packet(uuid.uuid4(), b"unknown"), A, B, 1.0)
    assert stub.lite == []
    stats = b.statistics()
    assert stats.lite_wrong_endpoint == 1 and stats.lite_received == 0
    b.close_lite_session(session)
    b.receive_datagram(encode_lite_packet(session, b"closed"), A, B, 1.0)
    assert stub.lite == [] and b.statistics().lite_sessions == 0


def test_send_lite_uses_the_peers_current_connection():
    stub = Stub()
    switch, a, b = pair(stub)
    session = uuid.uuid4()
    assert b.send_lite(a.public_key, session, b"data")
    (out,) = b.datagrams_to_send()
    assert out.destination == A and out.local == B
    assert out.data == encode_lite_packet(session, b"data")
    assert not b.send_lite(PrivateKey.generate().public_key, session, b"data")  # unknown peer
    del switch


def test_a_removed_peer_closes_its_lite_sessions_and_the_owner_hears_of_it():
    stub = Stub()
    switch, a, b = pair(stub)
    assert b.open_lite_session(uuid.uuid4(), a.public_key, stub)
    del switch.engines[A]
    switch.run(1.0, 200.0)
    assert any(isinstance(e, PeerRemoved) and e.peer == a.public_key for e in stub.events)
    assert b.statistics().lite_sessions == 0


def test_lite_session_limits_refuse_more():
    stub = Stub()
    _switch, a, b = pair(stub)
    per_peer = b.limits.max_lite_sessions_per_peer
    assert all(b.open_lite_session(uuid.uuid4(), a.public_key, stub) for _ in range(per_peer))
    assert not b.open_lite_session(uuid.uuid4(), a.public_key, stub)
    assert b.statistics().lite_sessions_refused == 1


def test_feature_bits_of_behaviours_are_announced():
    stub = Stub()
    _switch, a, b = pair(stub)
    assert a.peer(b.public_key).features & stub.feature_bits
    assert b.features & Feature.EXTENSIONS


def test_register_refuses_wide_feature_bits_and_taken_commands():
    switch = Switch()
    engine = switch.add(A, seed=1)
    wide = Stub()
    wide.feature_bits = 1 << 8
    taken = Stub()
    taken.commands = frozenset({Command.PING})
    for bad in (wide, taken):
        try:
            engine.register(bad)
        except ValueError:
            continue
        raise AssertionError("registered")
    engine.register(Stub())
    try:
        engine.register(Stub())  # Transfer is taken now
    except ValueError:
        return
    raise AssertionError("registered twice")
