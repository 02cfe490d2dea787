"""Return routability before state: packets of senders the peer table does not hold.

An unknown sender gets its answer, but enters the table only once it has shown that it receives
at its source address:

* its packet answers a request we sent it (a Response or Pong matching a pending sequence: we
  chose the address), or
* it echoes our routability token: every Announcement of an unknown sender is answered
  statelessly, and to it (or to a Ping) we add an Announcement of our own whose sequence is a
  keyed hash of (sender, address, epoch); the Response that every peer, the Go reference
  included, sends to an Announcement carries that sequence back (spec wire.md §10: a Response
  echoes the sequence). A sender already challenged within the last two seconds is not
  challenged again: its echo is on its way.

A Go node thus still connects with one packet each way (its Announcement, our Response); we add it
to our table one round trip later, when it answers our Announcement. Spoofed sources never answer,
so they never hold a table slot, a pending request or any other state.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ._announcement import Announcement, LocalDiscovery
from ._events import MessageReceived
from ._keys import PublicKey
from ._messages import Message
from ._packet import Packet
from ._peers import Connection, ConnectionStatus, Peer
from ._peertable import PeerTable
from ._response import Response
from ._simple import Ping, Pong
from ._transport import Endpoint

if TYPE_CHECKING:
    from ._engine import PeerEngine

__all__ = ["Admission", "UnknownSenders"]


class Admission(enum.Enum):
    """What to do with a packet of an unknown sender."""

    STATELESS = "stateless"  # handled (or dropped) without creating any state
    PROVEN = "proven"  # it echoed our token: admit the sender; the packet carried only the proof
    EXPECTED = "expected"  # it answers a request of ours: admit the sender and handle the packet


class UnknownSenders:
    """Stateless handling of unknown senders and the check of their proofs."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine

    def receive(
        self, packet: Packet, message: Message, sender: PublicKey, source: Endpoint, local: Endpoint, now: float
    ) -> Admission:
        """Decide on one packet of ``sender`` (not in the table), answering it if it asks."""
        engine = self._engine
        if isinstance(message, Response | Pong):
            if engine.requests.in_use(sender, packet.sequence):
                return Admission.EXPECTED
            if engine.shedding.tokens.valid(sender, source, packet.sequence, now):
                engine.shedding.tokens.forget(sender, source)
                engine.counters.admitted_by_token += 1
                return Admission.PROVEN
        elif isinstance(message, Announcement):
            self._answer(packet.sequence, message, sender, source, local, now)
            self._challenge(sender, source, local, now)
            return Admission.STATELESS
        elif isinstance(message, Ping):
            self._challenge(sender, source, local, now)
            return Admission.STATELESS
        elif isinstance(message, LocalDiscovery):
            engine.contact(sender, [source], now)
            return Admission.STATELESS
        engine.counters.unproven_dropped += 1
        return Admission.STATELESS

    def _answer(
        self, sequence: int, message: Announcement, sender: PublicKey, source: Endpoint, local: Endpoint, now: float
    ) -> None:
        """The Response, built for a peer that exists only for this answer."""
        connection = Connection(source, local, ConnectionStatus.ACTIVE, now)
        PeerTable.update_connection(connection, message)
        peer = Peer(sender, now, 0, connections=[connection], latest=connection)
        PeerTable.update_peer(peer, message, now)
        self._engine.counters.answered_statelessly += 1
        cost = self._engine.answerer.answer(peer, connection, sequence, message, now)
        self._engine.work.debit(sender, source[0], cost, now)
        self._engine._emit(MessageReceived(sender, message, sequence, source, local))

    def _challenge(self, sender: PublicKey, source: Endpoint, local: Endpoint, now: float) -> None:
        """Our Announcement whose sequence is the token the sender's Response must echo."""
        engine = self._engine
        if not engine.shedding.tokens.should_challenge(sender, source, now):
            engine.counters.challenges_repeated_later += 1
            return
        token = engine.shedding.tokens.token(sender, source, now)
        engine.outbox.send_raw(sender, source, local, engine.announcement(user_agent=True), token)

    @staticmethod
    def proven(peer: Peer, connection: Connection, message: Message, now: float) -> None:
        """What the proving packet says about its sender (a Response: features, ports)."""
        if isinstance(message, Response):
            PeerTable.update_peer(peer, message, now)
            PeerTable.update_connection(connection, message)

