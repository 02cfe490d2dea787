"""The outbox: queued datagrams, the choice of connection and socket, port patching, lite sending.

Announcements and Responses carry the port of the socket they leave from (and its external
port); the outbox patches them into the encoded header (``PORT_INTERNAL_OFFSET``) per socket.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import attrs

from ._constants import Command
from ._header import PORT_INTERNAL_OFFSET
from ._keys import PrivateKey, PublicKey
from ._lite import encode_lite_packet
from ._messages import Message
from ._packet import Packet, encode_packet
from ._peers import Connection, Peer, is_ipv4, is_link_local
from ._stats import EngineCounters
from ._transport import Endpoint

__all__ = ["Outbox", "Outgoing"]

_PORTS_END = PORT_INTERNAL_OFFSET + 4  # internal port (2) and external port (2)


@attrs.frozen
class Outgoing:
    """A datagram to send from the socket bound to ``local``."""

    data: bytes
    destination: Endpoint
    local: Endpoint


class Outbox:
    """Encrypts, addresses and queues what the engine sends; bounded by ``max_queue``."""

    def __init__(self, key: PrivateKey, *, port_forward: int, max_queue: int, counters: EngineCounters) -> None:
        self.key = key
        self.port_forward = port_forward
        self.max_queue = max_queue
        self.local: list[Endpoint] = []
        self.external_ports: dict[Endpoint, int] = {}
        self._counters = counters
        self._queue: list[Outgoing] = []

    def take(self) -> list[Outgoing]:
        """Everything queued since the last call."""
        out, self._queue = self._queue, []
        return out

    def __len__(self) -> int:
        return len(self._queue)

    def set_local(self, endpoints: Iterable[Endpoint]) -> None:
        """The main sockets packets can leave from."""
        self.local = list(endpoints)

    def locals_for(self, host: str) -> list[Endpoint]:
        """Our sockets of the same family (and link-local scope) as ``host``."""
        family_v4 = is_ipv4(host)
        link_local = is_link_local(host)
        return [
            local for local in self.local if is_ipv4(local[0]) == family_v4 and is_link_local(local[0]) == link_local
        ]

    def patched(self, payload: bytes, local: Endpoint) -> bytes:
        """An Announcement/Response payload with the ports of the socket ``local``."""
        external = self.port_forward or self.external_ports.get(local, 0)
        ports = local[1].to_bytes(2, "little") + external.to_bytes(2, "little")
        return payload[:PORT_INTERNAL_OFFSET] + ports + payload[_PORTS_END:]

    def queue(self, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        """Queue one datagram, or count it dropped when the queue is full."""
        if len(self._queue) < self.max_queue:
            self._queue.append(Outgoing(data, destination, local))
        else:
            self._counters.outgoing_dropped += 1

    def packet(self, receiver: PublicKey, command: int, sequence: int, payload: bytes) -> bytes:
        """One encrypted, signed full packet."""
        return encode_packet(Packet(0, command, sequence, payload), sender=self.key, receiver=receiver)

    def send_raw(
        self, receiver: PublicKey, destination: Endpoint, local: Endpoint, message: Message, sequence: int
    ) -> None:
        """``message`` to an address (not necessarily a known peer's connection)."""
        for payload in message.encode():
            if message.COMMAND in (Command.ANNOUNCEMENT, Command.RESPONSE):
                payload = self.patched(payload, local)
            self.queue(self.packet(receiver, message.COMMAND, sequence, payload), destination, local)

    def send_payload(
        self, peer: Peer, command: int, sequence: int, payload: bytes, *, patch_ports: bool = False
    ) -> None:
        """One payload over the peer's current connection(s)."""
        for connection in self.connections(peer):
            data = self.patched(payload, connection.local) if patch_ports else payload
            self.queue(self.packet(peer.public_key, command, sequence, data), connection.remote, connection.local)

    def send_lite(self, peer: Peer, session_id: uuid.UUID, data: bytes) -> bool:
        """A lite packet over the peer's current connection; False when it has none."""
        connections = self.connections(peer)
        if not connections:
            return False
        raw = encode_lite_packet(session_id, data)
        for connection in connections:
            self.queue(raw, connection.remote, connection.local)
        return True

    @staticmethod
    def connections(peer: Peer) -> list[Connection]:
        """The latest connection, else the active ones, else the last known one."""
        if peer.latest is not None:
            return [peer.latest]
        return peer.active_connections() or peer.connections[-1:]
