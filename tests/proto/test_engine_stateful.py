"""Any sequence of datagrams (valid, forged, replayed, malformed) and clock steps keeps the engine's
invariants: no exception escapes, every table stays within its limits."""

import os
import random

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from peernet_proto import (
    Announcement,
    Command,
    EngineConfig,
    EngineLimits,
    Packet,
    PeerEngine,
    PrivateKey,
    Response,
    Traverse,
    encode_packet,
)
from tests.proto.strategies import KEYS, messages

LOCAL = ("127.0.0.1", 112)
LIMITS = EngineLimits(max_peers=6, max_connections_per_peer=3, max_identities_per_ip=3, max_pending_requests=40,
                      max_pending_per_peer=8, max_outgoing_queue=200, max_events=200)
SOURCES = st.sampled_from([("127.0.0.1", 2000), ("127.0.0.1", 2001), ("10.0.0.1", 5), ("::1", 7), ("192.0.2.1", 9)])


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.key = PrivateKey(bytes([9]) * 32)
        self.engine = PeerEngine(self.key, EngineConfig(limits=LIMITS, local_discovery=False), rng=random.Random(0))
        self.engine.set_local_endpoints([LOCAL], 0.0)
        self.now = 0.0
        self.sent: list[bytes] = []

    def _deliver(self, raw: bytes, source) -> None:
        self.engine.receive_datagram(raw, source, LOCAL, self.now)
        self.sent.append(raw)

    @rule(sender=st.sampled_from(KEYS), message=messages, sequence=st.integers(0, 2**32 - 1), source=SOURCES)
    def valid_message(self, sender, message, sequence, source):
        payload = message.encode()[0]
        packet = Packet(0, message.COMMAND, sequence, payload)
        self._deliver(encode_packet(packet, sender=sender, receiver=self.key.public_key), source)

    @rule(source=SOURCES, data=st.binary(max_size=400))
    def garbage(self, source, data):
        self._deliver(data, source)

    @rule(source=SOURCES, count=st.integers(1, 5))
    def forged_identities(self, source, count):
        (payload,) = Announcement(find_self=True).encode()
        for _ in range(count):
            stranger = PrivateKey(os.urandom(31) + b"\x01")
            packet = encode_packet(Packet(0, 0, 1, payload), sender=stranger, receiver=self.key.public_key)
            self._deliver(packet, source)

    @precondition(lambda self: self.sent)
    @rule(index=st.integers(0, 10**6), source=SOURCES)
    def replay(self, index, source):
        self._deliver(self.sent[index % len(self.sent)], source)

    @rule(sender=st.sampled_from(KEYS), source=SOURCES)
    def contact_and_request(self, sender, source):
        self.engine.contact(sender.public_key, [source], self.now)
        self.engine.send_announcement(sender.public_key, Announcement(find_self=True), self.now)
        self.engine.ping(sender.public_key, self.now)

    @rule(sender=st.sampled_from(KEYS), sequence=st.integers(0, 2**32 - 1), last=st.booleans(), source=SOURCES)
    def response(self, sender, sequence, last, source):
        payload = Response(sequence_last=last).encode()[0]
        packet = Packet(0, Command.RESPONSE, sequence, payload)
        self._deliver(encode_packet(packet, sender=sender, receiver=self.key.public_key), source)

    @rule(sender=st.sampled_from(KEYS), relay=st.sampled_from(KEYS), source=SOURCES)
    def punch(self, sender, relay, source):
        self.engine.request(
            sender.public_key, Announcement(features=1), self.now, endpoints=[source], relay=relay.public_key
        )

    @rule(signer=st.sampled_from(KEYS), other=st.sampled_from(KEYS), us_as=st.sampled_from(["relay", "target"]),
          expires=st.sampled_from([0, 10**10]), source=SOURCES)
    def traverse(self, signer, other, us_as, expires, source):
        me = self.key.public_key
        target, relay = (other.public_key, me) if us_as == "relay" else (me, other.public_key)
        if target == relay:
            return
        inner = encode_packet(Packet(0, 0, 5, Announcement(features=1).encode()[0]), sender=signer, receiver=target)
        traverse = Traverse.create(signer, target, relay, expires, inner).with_addresses(ipv4_port=7)
        sender = signer if us_as == "relay" else other
        packet = Packet(0, Command.TRAVERSE, 0, traverse.encode()[0])
        self._deliver(encode_packet(packet, sender=sender, receiver=me), source)

    @rule(step=st.sampled_from([0.05, 0.5, 1.0, 9.0, 11.0, 23.0, 60.0, 130.0]))
    def advance(self, step):
        self.now += step
        self.engine.handle_timer(self.now)

    @rule()
    def drain(self):
        self.engine.datagrams_to_send()
        self.engine.events()

    @invariant()
    def bounded(self):
        engine = self.engine
        assert len(engine) <= LIMITS.max_peers
        assert all(len(p.connections) <= LIMITS.max_connections_per_peer for p in engine.peers())
        stats = engine.statistics()
        assert stats.pending_requests <= LIMITS.max_pending_requests
        assert stats.outgoing_queued <= LIMITS.max_outgoing_queue
        assert stats.events_queued <= LIMITS.max_events
        assert stats.busiest_ip_identities <= LIMITS.max_identities_per_ip
        assert stats.identities_by_ip == len(engine)
        assert stats.punches <= LIMITS.max_pending_requests
        assert stats.relay_windows <= LIMITS.max_peers


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(max_examples=150 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 30,
                                      stateful_step_count=40, deadline=None)
