"""A small engine stand-in for transfer tests: it implements the EngineHost contract by really
encoding, routing and decoding messages and lite packets between nodes, with optional loss."""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable

from peernet_proto import PeerRemoved, PrivateKey, PublicKey, decode_message, encode_message
from peernet_proto._engine import PeerInfo
from peernet_proto._messages import Message
from peernet_proto.transfer import BehaviourLike, TransferBehaviour
from peernet_proto.wire import decode_lite_packet, encode_lite_packet

__all__ = ["MemoryHost", "Network"]


class MemoryHost:
    """One node's engine: its behaviours, its lite session table, its outgoing traffic."""

    def __init__(self, network: Network, key: PublicKey, max_lite_sessions: int = 1000) -> None:
        self.network = network
        self.key = key
        self.behaviours: list[BehaviourLike] = []
        self.lite: dict[uuid.UUID, tuple[PublicKey, BehaviourLike]] = {}
        self.max_lite_sessions = max_lite_sessions
        self.sent_lite = 0
        self.received: list[Message] = []
        self._sequences = itertools.count(1)

    def register(self, behaviour: BehaviourLike) -> None:
        self.behaviours.append(behaviour)
        behaviour.attach(self, self.network.now)

    # EngineHost
    def send_message(self, peer: PublicKey, message: Message, sequence: int = 0) -> bool:
        if sequence == 0:
            sequence = next(self._sequences)
        for payload in encode_message(message):
            self.network.carry(
                self.key, peer, lambda node, p=payload: node.deliver_message(self.key, message.COMMAND, p, sequence)
            )
        return True

    def send_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes) -> bool:
        raw = encode_lite_packet(session_id, data)
        self.sent_lite += 1
        self.network.carry(self.key, peer, lambda node: node.deliver_datagram(self.key, raw))
        return True

    def open_lite_session(self, session_id: uuid.UUID, peer: PublicKey, owner: BehaviourLike) -> bool:
        if session_id in self.lite or len(self.lite) >= self.max_lite_sessions:
            return False
        self.lite[session_id] = (peer, owner)
        return True

    def close_lite_session(self, session_id: uuid.UUID) -> None:
        self.lite.pop(session_id, None)

    def peer(self, key: PublicKey) -> PeerInfo | None:
        return None

    # what the engine does with arriving traffic
    def deliver_message(self, sender: PublicKey, command: int, payload: bytes, sequence: int) -> None:
        message = decode_message(command, payload)
        self.received.append(message)
        for behaviour in self.behaviours:
            if command in behaviour.commands:
                behaviour.handle_message(sender, message, sequence, self.network.now)

    def deliver_datagram(self, sender: PublicKey, raw: bytes) -> None:
        entry = self.lite.get(uuid.UUID(bytes=raw[:16]))
        if entry is None or entry[0] != sender:
            return  # falls through to full-packet processing in a real engine
        packet = decode_lite_packet(raw)
        entry[1].handle_lite(sender, packet.session_id, packet.data, self.network.now)

    def remove_peer(self, peer: PublicKey) -> None:
        for session_id in [s for s, (p, _) in self.lite.items() if p == peer]:
            del self.lite[session_id]
        for behaviour in self.behaviours:
            behaviour.handle_event(PeerRemoved(peer, "test"), self.network.now)

    def next_deadline(self) -> float | None:
        return min((d for b in self.behaviours if (d := b.next_deadline()) is not None), default=None)

    def run_timers(self) -> None:
        for behaviour in self.behaviours:
            deadline = behaviour.next_deadline()
            if deadline is not None and deadline <= self.network.now:
                behaviour.handle_timer(self.network.now)


class Network:
    """Nodes joined by links with a delay and a loss rate, on a virtual clock."""

    def __init__(self, seed: int = 1, loss: float = 0.0, delay: float = 0.001) -> None:
        self.rng = random.Random(seed)
        self.loss = loss
        self.delay = delay
        self._now = 0.0
        self.clock: Callable[[], float] | None = None  # e.g. trio.current_time under a MockClock
        self.wake: Callable[[], None] | None = None  # told when something new was queued
        self.nodes: dict[PublicKey, MemoryHost] = {}
        self.cut: set[PublicKey] = set()
        self._queue: list[tuple[float, int, PublicKey, Callable[[MemoryHost], None]]] = []
        self._order = itertools.count()

    @property
    def now(self) -> float:
        return self._now if self.clock is None else max(self._now, self.clock())

    def add_node(self, seed: int, behaviour: TransferBehaviour | None = None) -> tuple[MemoryHost, TransferBehaviour]:
        key = PrivateKey.from_bytes(bytes(31) + bytes([seed])).public_key
        host = self.nodes[key] = MemoryHost(self, key)
        behaviour = behaviour or TransferBehaviour()
        host.register(behaviour)
        return host, behaviour

    def carry(self, sender: PublicKey, receiver: PublicKey, deliver: Callable[[MemoryHost], None]) -> None:
        if sender in self.cut or receiver in self.cut or self.rng.random() < self.loss:
            return
        heapq.heappush(self._queue, (self.now + self.delay, next(self._order), receiver, deliver))
        if self.wake is not None:
            self.wake()

    def next_time(self) -> float | None:
        times = [t for t in (h.next_deadline() for h in self.nodes.values()) if t is not None]
        if self._queue:
            times.append(self._queue[0][0])
        return min(times, default=None)

    def advance(self, to: float) -> None:
        self._now = max(self.now, to)
        while self._queue and self._queue[0][0] <= self.now:
            _, _, receiver, deliver = heapq.heappop(self._queue)
            node = self.nodes.get(receiver)
            if node is not None:
                deliver(node)
        for node in list(self.nodes.values()):
            node.run_timers()

    def step(self) -> bool:
        when = self.next_time()
        if when is None:
            return False
        self.advance(when)
        return True

    def run(self, until: Callable[[], bool], limit: float = 120.0) -> bool:
        end = self.now + limit
        while not until():
            if self.now > end or not self.step():
                return until()
        return True
