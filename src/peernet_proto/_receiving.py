"""The receiving side of the engine: lite packets first, then decryption, admission, the
connection, and dispatch by command through a table (the engine's own handlers, then the
commands behaviours registered, else a generic :class:`MessageReceived` event)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._announcement import Announcement, LocalDiscovery
from ._bisequences import is_request_start
from ._budget import CHARGED_COMMANDS, request_cost
from ._constants import LOCAL_DISCOVERY_PORT, PACKET_LENGTH_MIN, Command
from ._errors import DecodeError, PeernetError
from ._events import AddressObserved, MessageReceived, PeerConnected, PongReceived, ResponseReceived
from ._extensions import ExtensionType, decode_extensions, decode_observed_address
from ._keys import PublicKey
from ._lite import lite_data
from ._lite_sessions import LiteSession
from ._maintenance import DISCOVERY_KEYS
from ._messages import Message, decode_message
from ._packet import Packet
from ._peers import Connection, Peer, is_ipv4
from ._peertable import PeerTable
from ._response import Response
from ._shedding import RecentKeys, ReplayFilter
from ._simple import Ping, Pong
from ._transport import Endpoint
from ._traverse import Traverse
from ._unknown import Admission, UnknownSenders

if TYPE_CHECKING:
    from ._engine import PeerEngine

__all__ = ["Receiver"]

log = logging.getLogger(__name__)

_Handler = Callable[[Peer, Connection, int, Any, float], None]
_MISMATCH_WINDOW = 10.0  # seconds a source signed by an unexpected key goes without the verification shortcut
_MISMATCHES_REMEMBERED = 1024


class Receiver:
    """Turns datagrams into the engine's actions and events."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine
        self._unknown = UnknownSenders(engine)
        # Sources where a packet was signed by another key than the peer known there: packets
        # from them are not verified against that peer first (a forger spoofing a peer's address
        # would otherwise cost a verification and a recovery per packet).
        self._mismatched: RecentKeys[Endpoint] = RecentKeys(_MISMATCHES_REMEMBERED, _MISMATCH_WINDOW)
        self._handlers: dict[int, _Handler] = {
            Command.LOCAL_DISCOVERY: self._on_discovery,
            Command.ANNOUNCEMENT: self._on_announcement,
            Command.RESPONSE: self._on_response,
            Command.PING: self._on_ping,
            Command.PONG: self._on_pong,
            Command.TRAVERSE: self._on_traverse,
        }

    def handles(self, commands: Iterable[int]) -> bool:
        """Whether the engine itself handles any of ``commands``."""
        return any(command in self._handlers for command in commands)

    def receive(self, data: bytes, source: Endpoint, local: Endpoint, now: float) -> None:
        """Process one datagram that arrived from ``source`` on the socket bound to ``local``."""
        engine = self._engine
        session = engine.lite.match(data)
        if session is not None and self._lite(session, data, source, now):
            return
        if len(data) < PACKET_LENGTH_MIN:
            engine.counters.too_short += 1
            return
        discovery = local[1] == LOCAL_DISCOVERY_PORT and local not in engine.outbox.local
        if discovery:
            if source in engine.outbox.local:
                return  # our own broadcast
            receiver = DISCOVERY_KEYS[4 if is_ipv4(source[0]) else 6].public_key
        else:
            receiver = engine.public_key
        shedding = engine.shedding
        admitted, checked = self._admit_source(source, now)
        if not admitted:
            return
        at_source = checked.public_key if checked is not None else None
        expected = None if at_source is None or self._mismatched.seen(source, now) else at_source
        digest = ReplayFilter.digest(data)
        if shedding.replays.seen(digest, now):
            engine.counters.replayed += 1
            return
        try:
            packet, sender = engine.codec.decode(data, receiver, expected)
        except DecodeError:
            engine.counters.undecryptable += 1
            if at_source is not None:
                engine.counters.unexpected_signers += 1
                self._mismatched.remember(source, now)
            return
        shedding.replays.remember(digest, now)
        signed_by_checked = at_source is not None and (sender is at_source or sender == at_source)
        if at_source is not None and not signed_by_checked:
            engine.counters.unexpected_signers += 1
            self._mismatched.remember(source, now)
        if packet.protocol != 0 or (not signed_by_checked and sender == engine.public_key):
            engine.counters.dropped_self_or_protocol += 1
            return
        if discovery:
            if packet.command != Command.LOCAL_DISCOVERY:
                engine.counters.discovery_wrong_command += 1
                return
            locals_ = engine.outbox.locals_for(source[0])
            if not locals_:
                return
            local = locals_[0]
        self._receive_packet(packet, sender, source, local, now, checked if signed_by_checked else None)

    def _admit_source(self, source: Endpoint, now: float) -> tuple[bool, Peer | None]:
        """Before any decryption: an unknown source needs a token of its prefix's bucket; a peer
        (or prefix) in debt of its work budget is not heard until the debt is paid. Returns
        whether the datagram is admitted, and the peer at the source (whose budget was checked)."""
        peer = self._engine.table.at(source)
        if peer is None:
            if self._engine.shedding.admit_unknown_source(source, now):
                return True, None
            self._engine.counters.shed_unknown_source += 1
            return False, None
        if self._engine.work.exhausted(peer.public_key, source[0], now):
            self._engine.counters.over_work_budget += 1
            return False, None
        return True, peer

    def _lite(self, session: LiteSession, data: bytes, source: Endpoint, now: float) -> bool:
        """Hand a lite packet to its session's owner if it comes from the session's peer."""
        peer = self._engine.table.get(session.peer)
        if peer is None or not any(c.remote == source for c in peer.connections):
            self._engine.counters.lite_wrong_endpoint += 1
            return False  # perhaps a full packet after all
        payload = lite_data(data)
        if payload is None:
            return False
        self._engine.counters.lite_received += 1
        try:
            session.owner.handle_lite(session.peer, session.session_id, payload, now)
        except Exception:
            self._engine.counters.behaviour_errors += 1
            log.exception("behaviour %r failed on a lite packet", session.owner)
        return True

    def _receive_packet(
        self,
        packet: Packet,
        sender: PublicKey,
        source: Endpoint,
        local: Endpoint,
        now: float,
        checked: Peer | None,
    ) -> None:
        """A decrypted packet; ``checked`` is its signer when known at the source, whose work
        budget was checked already."""
        engine = self._engine
        known = checked is not None or sender in engine.table
        if not engine.policy.admit(sender, source, packet.command, known):
            engine.counters.not_admitted += 1
            return
        charged = packet.command in CHARGED_COMMANDS
        if charged and checked is None and engine.work.exhausted(sender, source[0], now):
            engine.counters.over_work_budget += 1  # in debt: not even decoded
            return
        try:
            message = decode_message(packet.command, packet.payload)
        except DecodeError:
            engine.counters.undecodable_message += 1
            return
        if charged and not engine.work.charge(sender, source[0], request_cost(message), now):
            engine.counters.over_work_budget += 1
            return
        admission = Admission.EXPECTED
        if not known:
            admission = self._unknown.receive(packet, message, sender, source, local, now)
            if admission is Admission.STATELESS:
                return
        peer = checked if checked is not None else engine.table.get(sender)
        if peer is None:
            peer = engine.table.add(sender, source, now)
            if peer is None:
                return
            engine.maintenance.schedule(peer, now + 1.0)
        proven = not known or self._answers_request(packet, message, sender)
        connection = engine.table.register_connection(peer, source, local, now, proven=proven)
        if connection is None:
            return
        if not known and admission is Admission.PROVEN:
            self._unknown.proven(peer, connection, message, now)
            engine._emit(PeerConnected(peer.public_key, source, peer.user_agent))
            if isinstance(message, Response) and message.extension:
                self._observe(peer, connection, message.extension)
            return
        try:
            self._dispatch(peer, connection, packet.sequence, message, now)
        except PeernetError as error:  # e.g. an answer too large for the wire: drop, never crash
            log.debug("cannot handle %s from %s: %s", type(message).__name__, peer.public_key, error)
            engine.counters.handler_errors += 1
        if not known:
            engine._emit(PeerConnected(peer.public_key, source, peer.user_agent))

    def _answers_request(self, packet: Packet, message: Message, sender: PublicKey) -> bool:
        """Whether the packet answers a request we sent (so its path is proven)."""
        return isinstance(message, Response | Pong) and self._engine.requests.in_use(sender, packet.sequence)

    def _dispatch(self, peer: Peer, connection: Connection, sequence: int, message: Message, now: float) -> None:
        """By command: the engine's own handlers, then behaviours' commands, else an event."""
        handler = self._handlers.get(message.COMMAND)
        if handler is not None:
            handler(peer, connection, sequence, message, now)
            return
        behaviour = self._engine._routes.get(message.COMMAND)
        if behaviour is not None:
            if not self._transfer_sequence(peer, sequence, message, now):
                return
            try:
                behaviour.handle_message(peer.public_key, message, sequence, now)
            except PeernetError:
                raise
            except Exception:
                self._engine.counters.behaviour_errors += 1
                log.exception("behaviour %r failed on %s", behaviour, type(message).__name__)
            return
        self._engine._emit(MessageReceived(peer.public_key, message, sequence, connection.remote, connection.local))

    def _transfer_sequence(self, peer: Peer, sequence: int, message: Message, now: float) -> bool:
        """Transfer and GetBlock messages other than REQUEST_START need a live bidirectional sequence."""
        if message.COMMAND not in (Command.TRANSFER, Command.GET_BLOCK):
            return True
        if is_request_start(message):
            self._engine.bisequences.register(peer.public_key, sequence, message, now)
            return True
        if self._engine.bisequences.accept(peer.public_key, sequence, message, now):
            return True
        self._engine.counters.unmatched_transfer += 1
        return False

    def _on_discovery(
        self, peer: Peer, connection: Connection, sequence: int, message: LocalDiscovery, now: float
    ) -> None:
        PeerTable.update_peer(peer, message, now)
        self._engine.contact(peer.public_key, [connection.remote], now)

    def _on_announcement(
        self, peer: Peer, connection: Connection, sequence: int, message: Announcement, now: float
    ) -> None:
        PeerTable.update_peer(peer, message, now)
        PeerTable.update_connection(connection, message)
        cost = self._engine.answerer.answer(peer, connection, sequence, message, now)
        self._engine.work.debit(peer.public_key, connection.remote[0], cost, now)
        self._engine._emit(MessageReceived(peer.public_key, message, sequence, connection.remote, connection.local))

    def _on_response(self, peer: Peer, connection: Connection, sequence: int, message: Response, now: float) -> None:
        matched = self._engine.requests.match(peer.public_key, sequence, now, last=message.sequence_last)
        if matched is None:
            self._engine.counters.unmatched_response += 1
            return
        request, owner = matched
        rtt = now - request.sent_at
        if not request.answered:
            connection.rtt = rtt
        request.answered = True
        PeerTable.update_peer(peer, message, now)
        PeerTable.update_connection(connection, message)
        self._engine.punching.answered(peer, connection, sequence, now)
        response = ResponseReceived(peer.public_key, message, sequence, rtt)
        if owner is not None and owner is self._engine.maintenance.bootstrap:
            self._engine._deliver(owner, response)  # the engine's own requests: the application sees them too
        self._engine._emit(response, self._engine._external(owner))
        if message.extension:
            self._observe(peer, connection, message.extension)

    def _on_ping(self, peer: Peer, connection: Connection, sequence: int, message: Ping, now: float) -> None:
        if connection.port_internal == 0:
            # Not yet introduced on this connection: introduce ourselves instead of answering.
            self._engine.maintenance.introduce(peer, connection, now, user_agent=True)
        else:
            self._engine.outbox.send_payload(peer, Command.PONG, sequence, b"")

    def _on_pong(self, peer: Peer, connection: Connection, sequence: int, message: Pong, now: float) -> None:
        matched = self._engine.requests.match(peer.public_key, sequence, now)
        if matched is None:
            self._engine.counters.unmatched_pong += 1
            return
        request, owner = matched
        connection.rtt = now - request.sent_at
        self._engine._emit(PongReceived(peer.public_key, connection.rtt), self._engine._external(owner))

    def _on_traverse(self, peer: Peer, connection: Connection, sequence: int, message: Traverse, now: float) -> None:
        self._engine.punching.handle_traverse(peer, message, now)

    def _observe(self, peer: Peer, connection: Connection, extension: bytes) -> None:
        try:
            value = decode_extensions(extension).get(ExtensionType.OBSERVED_ADDRESS)
            if value is None:
                return
            observed = decode_observed_address(value)
        except DecodeError:
            self._engine.counters.bad_extension += 1
            return
        self._engine._emit(AddressObserved(peer.public_key, observed, connection.local, connection.remote))
