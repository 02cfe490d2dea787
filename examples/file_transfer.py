"""A file and two blocks move between two ``TransferBehaviour``s joined by a minimal in-memory engine.

A real node plugs the transfer behaviour into its peer engine; here a 40-line ``WireHost`` plays
the engine's part (the ``EngineHost`` contract: send a message, send a lite packet, keep a table of
lite sessions) so the whole exchange — Transfer request, UDT stream in lite packets, header,
bytes — runs on a virtual clock, encoded and decoded as on the wire.

    python examples/file_transfer.py
"""

from __future__ import annotations

import functools
import heapq
import itertools
import uuid
from collections.abc import Callable

from peernet_proto import Message, PeerInfo, PrivateKey, PublicKey, decode_message, encode_message, hash_data
from peernet_proto.transfer import BehaviourLike, MemoryBlocks, MemoryFiles, TransferBehaviour, TransferError
from peernet_proto.wire import BlockRange, decode_lite_packet, encode_lite_packet

Delivery = Callable[["WireHost"], None]


class Wire:
    """Hosts joined by a 2 ms link, on a virtual clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.hosts: dict[PublicKey, WireHost] = {}
        self.queue: list[tuple[float, int, PublicKey, Delivery]] = []
        self.order = itertools.count()

    def carry(self, to: PublicKey, deliver: Delivery) -> None:
        heapq.heappush(self.queue, (self.now + 0.002, next(self.order), to, deliver))

    def run_until(self, done: Callable[[], bool], limit: float = 30.0) -> None:
        """Deliver packets and run timers in time order until ``done()`` or the time limit."""
        while not done() and self.now < limit:
            deadlines = [d for h in self.hosts.values() if (d := h.behaviour.next_deadline()) is not None]
            self.now = max(self.now, min([*deadlines, *(item[0] for item in self.queue[:1])], default=limit))
            while self.queue and self.queue[0][0] <= self.now:
                _, _, to, deliver = heapq.heappop(self.queue)
                deliver(self.hosts[to])
            for host in self.hosts.values():
                if (d := host.behaviour.next_deadline()) is not None and d <= self.now:
                    host.behaviour.handle_timer(self.now)


class WireHost:
    """The part of a peer engine a behaviour talks to (``EngineHost``), for one node."""

    def __init__(self, wire: Wire, private_key: PrivateKey, behaviour: TransferBehaviour) -> None:
        self.wire, self.key, self.behaviour = wire, private_key.public_key, behaviour
        self.lite: dict[uuid.UUID, tuple[PublicKey, BehaviourLike]] = {}
        self.sequences = itertools.count(1)
        wire.hosts[self.key] = self
        behaviour.attach(self, wire.now)

    def send_message(self, peer: PublicKey, message: Message, sequence: int = 0) -> bool:
        sequence = sequence or next(self.sequences)
        command = message.COMMAND
        for payload in encode_message(message):
            self.wire.carry(peer, functools.partial(WireHost.on_message, sender=self.key, command=command,
                                                    payload=payload, sequence=sequence))
        return True

    def send_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes) -> bool:
        raw = encode_lite_packet(session_id, data)
        self.wire.carry(peer, lambda host: host.on_datagram(self.key, raw))
        return True

    def open_lite_session(self, session_id: uuid.UUID, peer: PublicKey, owner: BehaviourLike) -> bool:
        self.lite[session_id] = (peer, owner)
        return True

    def close_lite_session(self, session_id: uuid.UUID) -> None:
        self.lite.pop(session_id, None)

    def peer(self, key: PublicKey) -> PeerInfo | None:
        return None

    def on_message(self, sender: PublicKey, command: int, payload: bytes, sequence: int) -> None:
        if command in self.behaviour.commands:
            self.behaviour.handle_message(sender, decode_message(command, payload), sequence, self.wire.now)

    def on_datagram(self, sender: PublicKey, raw: bytes) -> None:
        entry = self.lite.get(uuid.UUID(bytes=raw[:16]))  # a lite packet starts with a session we run
        if entry is not None and entry[0] == sender:
            packet = decode_lite_packet(raw)
            entry[1].handle_lite(sender, packet.session_id, packet.data, self.wire.now)


def main() -> None:
    wire = Wire()
    alice_key, bob_key = PrivateKey.generate(), PrivateKey.generate()
    video = bytes(i % 251 for i in range(300_000))
    shared = MemoryFiles({hash_data(video): video})  # any FileSource: a warehouse in a real node
    chain = MemoryBlocks(alice_key.public_key, [b"block zero", b"block one"])  # any BlockProvider
    alice = TransferBehaviour(files=shared, blocks=chain)  # serves files and her own chain
    bob = TransferBehaviour()  # only downloads
    WireHost(wire, alice_key, alice)
    WireHost(wire, bob_key, bob)

    download = bob.request_file(alice_key.public_key, hash_data(video), offset=0, limit=0, now=wire.now)
    received = bytearray()

    def file_done() -> bool:
        received.extend(bob.read(download, wire.now))
        return download.finished

    wire.run_until(file_done)
    print(f"file: {len(received)} bytes in {wire.now:.2f} virtual seconds, hash matches: "
          f"{hash_data(bytes(received)) == hash_data(video)}")

    blocks = bob.request_blocks(alice_key.public_key, alice_key.public_key, [BlockRange(0, 2)], 4096, 10, wire.now)
    got: list[tuple[int, bytes | None]] = []

    def blocks_done() -> bool:
        got.extend(bob.take_blocks(blocks, wire.now))
        return blocks.finished

    wire.run_until(blocks_done)
    print(f"blocks: {got}")

    missing = bob.request_file(alice_key.public_key, hash_data(b"not shared"), 0, 0, wire.now)
    try:
        wire.run_until(lambda: missing.finished)
        bob.read(missing, wire.now)  # raises: Alice answered "not available"
    except TransferError as error:
        print(f"unknown file: TransferError ({error})")


if __name__ == "__main__":
    main()
