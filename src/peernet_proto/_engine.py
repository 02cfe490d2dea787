"""The sans-IO peer engine: connections, request matching, keep-alive, answering, bootstrap.

Feed it datagrams with :meth:`PeerEngine.receive_datagram` and the time with
:meth:`PeerEngine.handle_timer`; collect :meth:`PeerEngine.datagrams_to_send` and
:meth:`PeerEngine.events`. It owns no socket, clock, task or global state (spec wire.md §8–§10).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from ._announcement import Announcement, InfoStoreFile, LocalDiscovery
from ._codec import PacketCodec, SignedPacketCodec
from ._constants import (
    ANNOUNCEMENT_HEADER_SIZE,
    EMBEDDED_FILE_HEADER_SIZE,
    IPV4_BROADCAST_PRIVATE_KEY,
    IPV6_MULTICAST_GROUP,
    IPV6_MULTICAST_PRIVATE_KEY,
    LOCAL_DISCOVERY_PORT,
    MAX_PAYLOAD_SIZE,
    PACKET_LENGTH_MIN,
    Command,
    Feature,
)
from ._errors import DecodeError, EncodeError, PeernetError
from ._events import (
    AddressObserved,
    EngineEvent,
    MessageReceived,
    PeerConnected,
    PeerRemoved,
    PongReceived,
    RequestTimedOut,
    ResponseReceived,
)
from ._extensions import (
    ExtensionType,
    decode_extensions,
    decode_observed_address,
    encode_extensions,
    encode_observed_address,
)
from ._header import user_agent_bytes
from ._keys import PrivateKey, PublicKey
from ._messages import Message, decode_message
from ._packet import Packet
from ._peers import Connection, ConnectionStatus, Peer, is_ipv4, is_link_local, is_local_address
from ._response import EmbeddedFile, Hash2Peer, PeerRecord, Response
from ._sequences import REPLY_TIMEOUT, PendingRequest, SequenceTable
from ._simple import Ping, Pong
from ._transport import Endpoint
from ._traverse import Traverse

__all__ = [
    "AdmissionPolicy",
    "BlockList",
    "EngineConfig",
    "EngineLimits",
    "Outgoing",
    "PeerDirectory",
    "PeerEngine",
    "PeerInfo",
    "RequestHandler",
    "RootPeer",
    "needs_traverse",
    "record_endpoints",
]

log = logging.getLogger(__name__)

BOOTSTRAP = "bootstrap FIND_SELF"
KEEPALIVE = "keep-alive"
_DISCOVERY_KEYS = {4: PrivateKey(IPV4_BROADCAST_PRIVATE_KEY), 6: PrivateKey(IPV6_MULTICAST_PRIVATE_KEY)}

# Keep-alive timings of the reference (spec wire.md §9.7).
PING_INTERVAL = 10.0
INVALIDATE_AFTER = 22.0
INACTIVE_EXPIRY = 120.0
REDUNDANT_FACTOR = 4.0
BLOCKCHAIN_INFO_MAX_AGE = 60.0
CLOSEST_PER_KEY = 5
TICK = 1.0
# Feature bits as plain ints: bit tests on IntFlag members are slow on the hot paths.
_IPV4_LISTEN, _IPV6_LISTEN, _FIREWALL = int(Feature.IPV4_LISTEN), int(Feature.IPV6_LISTEN), int(Feature.FIREWALL)
# Hole punching (spec wire.md §11): a Traverse is valid for an hour, as the reference makes them;
# the direct Announcement is re-sent on this schedule (seconds after the first) until answered.
TRAVERSE_LIFETIME = 3600
PUNCH_RESENDS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
RELAYED_PER_MINUTE = 30  # Traverse packets relayed for one signer


@attrs.frozen
class Outgoing:
    """A datagram to send from the socket bound to ``local``."""

    data: bytes
    destination: Endpoint
    local: Endpoint


@attrs.frozen
class RootPeer:
    public_key: PublicKey
    endpoints: tuple[Endpoint, ...]


@attrs.frozen
class EngineLimits:
    """Bounds on everything a remote party can make the engine hold."""

    max_peers: int = 10_000
    max_connections_per_peer: int = 8
    max_identities_per_ip: int = 32
    max_pending_requests: int = 8192
    max_pending_per_peer: int = 256
    max_outgoing_queue: int = 20_000
    max_events: int = 20_000


@attrs.frozen
class EngineConfig:
    user_agent: str = "peernet-py/0.1"
    root_peers: tuple[RootPeer, ...] = ()
    port_forward: int = 0  # external port to report (0 = none); overrides a mapped port
    firewall: bool = False
    local_discovery: bool = True
    limits: EngineLimits = EngineLimits()


@attrs.frozen
class PeerInfo:
    """A snapshot of one peer, for display and for the application."""

    public_key: PublicKey
    user_agent: str
    features: int
    blockchain_height: int
    blockchain_version: int
    connections: tuple[tuple[Endpoint, Endpoint, str, float | None], ...]  # remote, local, status, rtt

    @property
    def node_id(self) -> bytes:
        return self.public_key.node_id


class AdmissionPolicy(Protocol):
    """Decides whether a packet from ``peer`` (new or known) is processed at all."""

    def admit(self, peer: PublicKey, source: Endpoint, command: int, known: bool) -> bool: ...


class BlockList:
    """The default policy: admit everyone except blocked keys and addresses."""

    def __init__(self) -> None:
        self.keys: set[PublicKey] = set()
        self.hosts: set[str] = set()

    def admit(self, peer: PublicKey, source: Endpoint, command: int, known: bool) -> bool:
        return peer not in self.keys and source[0] not in self.hosts


class PeerDirectory(Protocol):
    """Answers "which peers are closest to this key" (the DHT implements this)."""

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]: ...


class RequestHandler(Protocol):
    """What the DHT adds to answering an Announcement: values, provider records, extensions."""

    def find_value(self, key: bytes, requester: PublicKey, now: float) -> bytes | Sequence[PublicKey] | None:
        """The value itself (embedded in the Response), peers storing it, or None for a miss."""
        ...

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        """``requester`` says it stores these values."""
        ...

    def extension(self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float) -> Mapping[int, bytes]:
        """Extension items answering a request's extension items (see ``_extensions``)."""
        ...


@attrs.define
class _Punch:
    """A request to a peer behind NAT, re-sent directly until its Response arrives."""

    targets: list[tuple[Endpoint, Endpoint]]  # (remote, local)
    packets: list[bytes]  # the encrypted Announcement per target
    started: float
    expires: float  # when the request times out: reported then, not on the next tick
    resends: int = 0


class _OwnTableDirectory:
    """Closest peers by XOR distance from the engine's own peer table."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]:
        target = int.from_bytes(key, "big")
        candidates = (p for p in self._engine._peers.values() if p.public_key != exclude)
        ranked = sorted(candidates, key=lambda p: int.from_bytes(p.node_id, "big") ^ target)
        return [p.public_key for p in ranked[: count * 4]]


class PeerEngine:
    def __init__(
        self,
        key: PrivateKey,
        config: EngineConfig = EngineConfig(),
        *,
        directory: PeerDirectory | None = None,
        policy: AdmissionPolicy | None = None,
        handler: RequestHandler | None = None,
        rng: random.Random | None = None,
        blockchain: Callable[[], tuple[int, int]] = lambda: (0, 0),
        codec: PacketCodec | None = None,
    ) -> None:
        self.key = key
        # How packets become datagrams: the signed wire format unless a simulation trusts its peers.
        self.codec: PacketCodec = codec or SignedPacketCodec()
        self.public_key = key.public_key
        self.config = config
        self.limits = config.limits
        self.directory: PeerDirectory = directory or _OwnTableDirectory(self)
        self.policy: AdmissionPolicy = policy or BlockList()
        self.handler = handler
        self.firewall = config.firewall  # the FIREWALL feature bit; reachability detection may change it
        self.extra_features = 0  # feature bits layers above add (keyword search, ...)
        # Unix time = ``now`` + this offset; the trio shell sets it (Traverse expiry is in Unix time).
        self.unix_offset = 0.0
        self._punches: dict[tuple[PublicKey, int], _Punch] = {}
        self._relayed: dict[PublicKey, tuple[float, int]] = {}  # signer -> (window start, count)
        self._rng = rng or random.Random()
        self._blockchain = blockchain
        self._peers: dict[PublicKey, Peer] = {}
        self._identities_per_ip: dict[str, int] = {}
        self._sequences = SequenceTable(self.limits.max_pending_requests, self.limits.max_pending_per_peer)
        self._local: list[Endpoint] = []
        self._locals_by_kind: dict[tuple[bool, bool], list[Endpoint]] = {}
        self._outgoing: list[Outgoing] = []
        self._events: list[EngineEvent] = []
        self._next_tick: float | None = None
        self._bootstrap_round = 0
        self._next_bootstrap: float | None = None
        self._next_discovery: float | None = None
        self._external_ports: dict[Endpoint, int] = {}
        self.counters: dict[str, int] = {}

    # ---- configuration -------------------------------------------------------------------------

    def set_local_endpoints(self, endpoints: Iterable[Endpoint], now: float) -> None:
        """The main sockets packets can leave from (the transport's local endpoints)."""
        self._local = list(endpoints)
        self._locals_by_kind = {}
        if self._next_tick is None:
            self._start(now)

    def set_external_port(self, local: Endpoint, port: int) -> None:
        """The external port a mapping gave to ``local`` (reported in Announcements/Responses);
        0 removes it."""
        if port:
            self._external_ports[local] = port
        else:
            self._external_ports.pop(local, None)

    def set_firewall(self, firewall: bool) -> None:
        """Set or clear the FIREWALL feature bit: "reach me through a Traverse" (spec wire.md §9.5)."""
        self.firewall = firewall

    def _start(self, now: float) -> None:
        self._next_tick = now
        if self.config.root_peers:
            self._next_bootstrap = now
        if self.config.local_discovery:
            self._next_discovery = now

    @property
    def features(self) -> int:
        bits = Feature.EXTENSIONS | self.extra_features
        for host, _ in self._local:
            if is_link_local(host):
                continue
            bits |= Feature.IPV4_LISTEN if is_ipv4(host) else Feature.IPV6_LISTEN
        if self.firewall:
            bits |= Feature.FIREWALL
        return bits

    # ---- output ----------------------------------------------------------------------------------

    def datagrams_to_send(self) -> list[Outgoing]:
        out, self._outgoing = self._outgoing, []
        return out

    def events(self) -> list[EngineEvent]:
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        if self._punches and self._next_tick is not None:
            return min(self._next_tick, min(self._punch_due(p) for p in self._punches.values()))
        return self._next_tick

    def peers(self) -> list[PeerInfo]:
        return [self._info(p) for p in self._peers.values()]

    def peer(self, key: PublicKey) -> PeerInfo | None:
        peer = self._peers.get(key)
        return None if peer is None else self._info(peer)

    def __len__(self) -> int:
        return len(self._peers)

    def _info(self, peer: Peer) -> PeerInfo:
        return PeerInfo(
            peer.public_key,
            peer.user_agent,
            peer.features,
            peer.blockchain_height,
            peer.blockchain_version,
            tuple((c.remote, c.local, c.status.value, c.rtt) for c in peer.connections),
        )

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _emit(self, event: EngineEvent) -> None:
        if len(self._events) < self.limits.max_events:
            self._events.append(event)
        else:
            self._count("events_dropped")

    # ---- actions ---------------------------------------------------------------------------------

    def contact(self, public_key: PublicKey, endpoints: Iterable[Endpoint], now: float, *, tag: Any = BOOTSTRAP) -> None:
        """First contact with addresses of a known key: Announcement with user agent and FIND_SELF on
        every local socket of the same family, each with its own random sequence."""
        if public_key == self.public_key:
            return
        announcement = self._announcement(find_self=True, user_agent=True)
        for endpoint in endpoints:
            for local in self._locals_for(endpoint[0]):
                sequence = self._rng.getrandbits(32)
                if self._register(public_key, sequence, Command.ANNOUNCEMENT, now, tag):
                    self._send_raw(public_key, endpoint, local, announcement, sequence)

    def send_announcement(self, peer_key: PublicKey, announcement: Announcement, now: float, *, tag: Any = None) -> list[int]:
        """Send an Announcement to a known peer; returns the sequences of the packets sent."""
        peer = self._peers.get(peer_key)
        if peer is None:
            return []
        sequences = []
        for payload in self._with_blockchain(announcement).encode():
            sequence = self._announce(peer, payload, now, tag, REPLY_TIMEOUT)
            if sequence is not None:
                sequences.append(sequence)
        return sequences

    def _announce(self, peer: Peer, payload: bytes, now: float, tag: Any, timeout: float) -> int | None:
        """One Announcement payload to a known peer over its connection, awaiting its Response."""
        sequence = peer.next_sequence()
        if not self._register(peer.public_key, sequence, Command.ANNOUNCEMENT, now, tag, timeout):
            return None
        self._send_payload(peer, Command.ANNOUNCEMENT, sequence, payload, patch_ports=True)
        return sequence

    def ping(self, peer_key: PublicKey, now: float) -> int | None:
        peer = self._peers.get(peer_key)
        if peer is None:
            return None
        sequence = peer.next_sequence()
        if self._register(peer_key, sequence, Command.PING, now, None):
            self._send_payload(peer, Command.PING, sequence, b"")
            return sequence
        return None

    def request(
        self,
        peer_key: PublicKey,
        announcement: Announcement,
        now: float,
        *,
        endpoints: Sequence[Endpoint] = (),
        relay: PublicKey | None = None,
        tag: Any = None,
        timeout: float = REPLY_TIMEOUT,
    ) -> int | None:
        """Send a one-packet Announcement and expect its Response; returns the sequence, or None
        when nothing could be sent. The answer arrives as ResponseReceived, or RequestTimedOut,
        with ``tag``.

        A known peer is reached over its connection; an unknown one at ``endpoints`` (from a peer
        record). With ``relay`` (the peer that reported the record, see :func:`needs_traverse`),
        the request also goes through a Traverse and is re-sent directly until answered: UDP hole
        punching (spec wire.md §11). A reply from an address other than the one asked counts too
        (peer-reflexive), which gets through one symmetric NAT.
        """
        if peer_key == self.public_key:
            return None
        payloads = self._with_blockchain(announcement).encode()
        if len(payloads) != 1:
            raise EncodeError("a request must fit into one packet")
        peer = self._peers.get(peer_key)
        if peer is not None and peer.connections:
            return self._announce(peer, payloads[0], now, tag, timeout)
        targets = [(endpoint, local) for endpoint in endpoints for local in self._locals_for(endpoint[0])]
        if not targets:
            return None
        sequence = self._rng.getrandbits(32)
        if not self._register(peer_key, sequence, Command.ANNOUNCEMENT, now, tag, timeout):
            return None
        packets = []
        for endpoint, local in targets:
            packet = Packet(0, Command.ANNOUNCEMENT, sequence, self._patched(payloads[0], local))
            raw = self.codec.encode(packet, self.key, peer_key)
            packets.append(raw)
            self._queue(raw, endpoint, local)
        if relay is not None and relay in self._peers:
            self._send_traverses(peer_key, relay, targets, packets, now)
            self._punches[(peer_key, sequence)] = _Punch(targets, packets, now, now + timeout)
        return sequence

    def _send_traverses(
        self, target: PublicKey, relay: PublicKey, targets: list[tuple[Endpoint, Endpoint]], packets: list[bytes], now: float
    ) -> None:
        """One Traverse per address family of the target, embedding the packet sent directly to
        its first address of that family."""
        expires = int(now + self.unix_offset) + TRAVERSE_LIFETIME
        families_done: set[bool] = set()
        for (endpoint, _), embedded in zip(targets, packets, strict=False):
            family = is_ipv4(endpoint[0])
            if family in families_done:
                continue
            families_done.add(family)
            self.send_message(relay, Traverse.create(self.key, target, relay, expires, embedded))
            self._count("traverse_sent")

    @staticmethod
    def _punch_due(punch: _Punch) -> float:
        if punch.resends >= len(PUNCH_RESENDS):
            return punch.expires
        return min(punch.expires, punch.started + PUNCH_RESENDS[punch.resends])

    def _resend_punches(self, now: float) -> None:
        for key, punch in list(self._punches.items()):
            if not self._sequences.in_use(*key):  # answered or expired some other way
                del self._punches[key]
            elif punch.resends < len(PUNCH_RESENDS) and now >= punch.started + PUNCH_RESENDS[punch.resends]:
                punch.resends += 1
                for (endpoint, local), raw in zip(punch.targets, punch.packets, strict=False):
                    self._queue(raw, endpoint, local)

    def send_message(self, peer_key: PublicKey, message: Message, sequence: int = 0) -> bool:
        """Send any other message (Traverse, Transfer, GetBlock, Chat) to a known peer."""
        peer = self._peers.get(peer_key)
        if peer is None:
            return False
        for payload in message.encode():
            self._send_payload(peer, message.COMMAND, sequence, payload)
        return True

    def _with_blockchain(self, announcement: Announcement) -> Announcement:
        """Requests carry our blockchain state: the receiver records it from every Announcement."""
        if announcement.blockchain_height or announcement.blockchain_version:
            return announcement
        height, version = self._blockchain()
        if not height and not version:
            return announcement
        return attrs.evolve(announcement, blockchain_height=height, blockchain_version=version)

    def _announcement(self, *, find_self: bool = False, user_agent: bool = False, **lists: Any) -> Announcement:
        height, version = self._blockchain()
        return Announcement(
            features=self.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=self.config.user_agent if user_agent else "",
            find_self=find_self,
            **lists,
        )

    def _register(
        self, peer: PublicKey, sequence: int, command: int, now: float, tag: Any, timeout: float = REPLY_TIMEOUT
    ) -> bool:
        request = PendingRequest(peer, sequence, command, now, now + timeout, tag)
        if self._sequences.register(request):
            return True
        self._count("requests_refused")
        return False

    # ---- sending ---------------------------------------------------------------------------------

    def _locals_for(self, host: str) -> list[Endpoint]:
        kind = (is_ipv4(host), is_link_local(host))
        found = self._locals_by_kind.get(kind)
        if found is None:  # computed once per kind of address until the local endpoints change
            found = self._locals_by_kind[kind] = [
                local for local in self._local if (is_ipv4(local[0]), is_link_local(local[0])) == kind
            ]
        return list(found)

    def _patched(self, payload: bytes, local: Endpoint) -> bytes:
        external = self.config.port_forward or self._external_ports.get(local, 0)
        return payload[:19] + local[1].to_bytes(2, "little") + external.to_bytes(2, "little") + payload[23:]

    def _send_raw(
        self, receiver: PublicKey, destination: Endpoint, local: Endpoint, message: Message, sequence: int
    ) -> None:
        for payload in message.encode():
            if message.COMMAND in (Command.ANNOUNCEMENT, Command.RESPONSE):
                payload = self._patched(payload, local)
            raw = self.codec.encode(Packet(0, message.COMMAND, sequence, payload), self.key, receiver)
            self._queue(raw, destination, local)

    def _send_payload(self, peer: Peer, command: int, sequence: int, payload: bytes, *, patch_ports: bool = False) -> None:
        connections = [peer.latest] if peer.latest is not None else peer.active_connections()
        if not connections:
            connections = peer.connections[-1:]
        for connection in connections:
            data = self._patched(payload, connection.local) if patch_ports else payload
            raw = self.codec.encode(Packet(0, command, sequence, data), self.key, peer.public_key)
            self._queue(raw, connection.remote, connection.local)

    def _queue(self, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        if len(self._outgoing) < self.limits.max_outgoing_queue:
            self._outgoing.append(Outgoing(data, destination, local))
        else:
            self._count("outgoing_dropped")

    # ---- receiving -------------------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Endpoint, local: Endpoint, now: float) -> None:
        """Process one datagram that arrived from ``source`` on the socket bound to ``local``."""
        if len(data) < PACKET_LENGTH_MIN:
            self._count("too_short")
            return
        discovery = local[1] == LOCAL_DISCOVERY_PORT and local not in self._local
        if discovery:
            if source in self._local:
                return  # our own broadcast
            receiver = _DISCOVERY_KEYS[4 if is_ipv4(source[0]) else 6].public_key
        else:
            receiver = self.public_key
        try:
            packet, sender = self.codec.decode(data, receiver)
        except DecodeError:
            self._count("undecryptable")
            return
        if sender == self.public_key or packet.protocol != 0:
            self._count("dropped_self_or_protocol")
            return
        if discovery:
            if packet.command != Command.LOCAL_DISCOVERY:
                self._count("discovery_wrong_command")
                return
            locals_ = self._locals_for(source[0])
            if not locals_:
                return
            local = locals_[0]
        known = sender in self._peers
        if not self.policy.admit(sender, source, packet.command, known):
            self._count("not_admitted")
            return
        peer = self._peers.get(sender) or self._add_peer(sender, source, now)
        if peer is None:
            return
        connection = self._register_connection(peer, source, local, now)
        if connection is None:
            return
        try:
            message = decode_message(packet.command, packet.payload)
        except DecodeError:
            self._count("undecodable_message")
            return
        try:
            self._dispatch(peer, connection, packet, message, now)
        except PeernetError as error:  # e.g. an answer too large for the wire: drop, never crash
            log.debug("cannot handle %s from %s: %s", type(message).__name__, peer.public_key, error)
            self._count("handler_errors")
        if not known:
            self._emit(PeerConnected(peer.public_key, source, peer.user_agent))

    def install_peer(
        self,
        key: PublicKey,
        remote: Endpoint,
        now: float,
        *,
        user_agent: str = "",
        features: int = 0,
        port_internal: int = 0,
        port_external: int = 0,
        rtt: float | None = None,
    ) -> bool:
        """Know ``key`` at ``remote`` as if a handshake had just completed there (simulations
        that fill tables directly). The peer gets one active connection from the first main
        socket of ``remote``'s family, with the self-reported ports and info an Announcement or
        Response would have carried; limits apply as for a peer that sent a packet. No event is
        emitted. False when the peer cannot be added (limits, no socket, our own key)."""
        if key == self.public_key:
            return False
        locals_ = self._locals_for(remote[0])
        if not locals_:
            return False
        peer = self._peers.get(key) or self._add_peer(key, remote, now)
        if peer is None:
            return False
        connection = self._register_connection(peer, remote, locals_[0], now)
        if connection is None:
            return False
        if user_agent:
            peer.user_agent = user_agent
        peer.features = features
        peer.blockchain_info_at = now
        connection.port_internal = port_internal
        connection.port_external = port_external
        connection.firewall = bool(features & _FIREWALL)
        if rtt is not None:
            connection.rtt = rtt
        return True

    def _add_peer(self, key: PublicKey, source: Endpoint, now: float) -> Peer | None:
        limits = self.limits
        if self._identities_per_ip.get(source[0], 0) >= limits.max_identities_per_ip:
            self._count("identities_per_ip_exceeded")
            return None
        if len(self._peers) >= limits.max_peers and not self._evict_one():
            self._count("peer_table_full")
            return None
        peer = Peer(key, now, self._rng.getrandbits(32), source_ip=source[0])
        self._peers[key] = peer
        self._identities_per_ip[source[0]] = self._identities_per_ip.get(source[0], 0) + 1
        return peer

    def _evict_one(self) -> bool:
        """Make room by removing a peer without active connections, the longest silent first."""
        candidates = [p for p in self._peers.values() if not p.active_connections()]
        if not candidates:
            return False
        victim = min(candidates, key=lambda p: max((c.last_received for c in p.connections), default=p.first_seen))
        self._remove_peer(victim, "evicted")
        return True

    def _remove_peer(self, peer: Peer, reason: str) -> None:
        del self._peers[peer.public_key]
        remaining = self._identities_per_ip.get(peer.source_ip, 1) - 1
        if remaining > 0:
            self._identities_per_ip[peer.source_ip] = remaining
        else:
            self._identities_per_ip.pop(peer.source_ip, None)
        self._emit(PeerRemoved(peer.public_key, reason))

    def _register_connection(self, peer: Peer, source: Endpoint, local: Endpoint, now: float) -> Connection | None:
        connection = peer.connection_for(source, local)
        if connection is None:
            if len(peer.connections) >= self.limits.max_connections_per_peer:
                self._count("connections_per_peer_exceeded")
                return None
            connection = Connection(source, local, ConnectionStatus.ACTIVE, now)
            peer.connections.append(connection)
        else:
            connection.remote = source  # a NAT may have changed the port
        connection.last_received = now
        peer.make_latest(connection)
        return connection

    def _dispatch(self, peer: Peer, connection: Connection, packet: Packet, message: Message, now: float) -> None:
        if isinstance(message, LocalDiscovery):
            self._update_peer_info(peer, message, now)
            self.contact(peer.public_key, [connection.remote], now)
        elif isinstance(message, Announcement):
            self._update_peer_info(peer, message, now)
            self._update_connection_info(connection, message)
            self._answer(peer, connection, packet.sequence, message, now)
            self._emit(MessageReceived(peer.public_key, message, packet.sequence, connection.remote, connection.local))
        elif isinstance(message, Response):
            request = self._sequences.match(peer.public_key, packet.sequence, now, last=message.sequence_last)
            if request is None:
                self._count("unmatched_response")
                return
            rtt = now - request.sent_at
            if not request.answered:
                connection.rtt = rtt
            request.answered = True
            self._update_peer_info(peer, message, now)
            self._update_connection_info(connection, message)
            if self._punches.pop((peer.public_key, packet.sequence), None) is not None:
                self._count("punched")
                self._keepalive_ping(peer, connection, now)  # lets the other side register us too
            self._emit(ResponseReceived(peer.public_key, message, packet.sequence, request.tag, rtt))
            if message.extension:
                self._observe(peer, connection, message.extension)
            if request.tag == BOOTSTRAP:
                self._follow_bootstrap(peer, message, now)
        elif isinstance(message, Ping):
            if connection.port_internal == 0:
                # Not yet introduced on this connection: introduce ourselves instead of answering.
                sequence = peer.next_sequence()
                if self._register(peer.public_key, sequence, Command.ANNOUNCEMENT, now, KEEPALIVE):
                    self._send_raw(peer.public_key, connection.remote, connection.local, self._announcement(user_agent=True), sequence)
            else:
                self._send_payload(peer, Command.PONG, packet.sequence, b"")
        elif isinstance(message, Pong):
            request = self._sequences.match(peer.public_key, packet.sequence, now)
            if request is None:
                self._count("unmatched_pong")
                return
            connection.rtt = now - request.sent_at
            self._emit(PongReceived(peer.public_key, connection.rtt))
        elif isinstance(message, Traverse):
            if message.relay == self.public_key:
                self._relay_traverse(peer, message, now)
            elif message.target == self.public_key and message.relay == peer.public_key:
                self._accept_traverse(message, now)
            else:
                self._count("traverse_not_for_us")
        else:
            self._emit(MessageReceived(peer.public_key, message, packet.sequence, connection.remote, connection.local))

    def _observe(self, peer: Peer, connection: Connection, extension: bytes) -> None:
        try:
            value = decode_extensions(extension).get(ExtensionType.OBSERVED_ADDRESS)
            if value is None:
                return
            observed = decode_observed_address(value)
        except DecodeError:
            self._count("bad_extension")
            return
        self._emit(AddressObserved(peer.public_key, observed, connection.local))

    def _update_peer_info(self, peer: Peer, message: Announcement | Response, now: float) -> None:
        if message.user_agent:
            peer.user_agent = sys.intern(message.user_agent)  # one object per distinct agent, not per peer
        peer.features = message.features
        peer.blockchain_height = message.blockchain_height
        peer.blockchain_version = message.blockchain_version
        peer.blockchain_info_at = now

    @staticmethod
    def _update_connection_info(connection: Connection, message: Announcement | Response) -> None:
        connection.port_internal = message.port_internal
        connection.port_external = message.port_external
        connection.firewall = bool(message.features & Feature.FIREWALL)

    # ---- answering -------------------------------------------------------------------------------

    def _answer(self, peer: Peer, connection: Connection, sequence: int, request: Announcement, now: float) -> None:
        response = self._response_to(peer.public_key, request, connection.remote, now)
        for payload in response.encode():
            self._send_payload(peer, Command.RESPONSE, sequence, payload, patch_ports=True)

    def _response_to(self, requester: PublicKey, request: Announcement, remote: Endpoint, now: float) -> Response:
        local_request = is_local_address(remote[0])
        hash2peers: list[Hash2Peer] = []
        files: list[EmbeddedFile] = []
        not_found: list[bytes] = []
        handler = self.handler
        for key in ([requester.node_id] if request.find_self else []) + list(request.find_peer):
            records = self._closest_records(key, requester, request.features, local_request)
            if records:
                hash2peers.append(Hash2Peer(key, closest=records))
            else:
                not_found.append(key)
        user_agent = self.config.user_agent if request.user_agent else ""
        # What fits next to the header and the three counts (less than EMBEDDED_FILE_SIZE_MAX).
        room = MAX_PAYLOAD_SIZE - ANNOUNCEMENT_HEADER_SIZE - len(user_agent_bytes(user_agent)) - 6 - EMBEDDED_FILE_HEADER_SIZE
        for key in request.find_value:
            found = handler.find_value(key, requester, now) if handler is not None else None
            if isinstance(found, bytes):
                if len(found) <= room:
                    files.append(EmbeddedFile.of(found))
                    continue
                self._count("value_too_large")
                found = None  # unanswerable as a file: answer as a miss rather than not at all
            storing = self._records(found or (), requester, request.features, local_request)
            # A miss answers with the closest peers (the reference answers "not found" only).
            closest = [] if storing else self._closest_records(key, requester, request.features, local_request)
            if storing or closest:
                hash2peers.append(Hash2Peer(key, storing=storing, closest=closest))
            else:
                not_found.append(key)
        if handler is not None and request.info_store:
            handler.info_store(requester, request.info_store, now)
        extension = self._extension_answer(requester, request, remote, now)
        height, version = self._blockchain()
        response = Response(
            features=self.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=user_agent,
            hash2peers=hash2peers,
            embedded_files=files,
            hashes_not_found=not_found,
            extension=extension,
        )
        return response

    def _extension_answer(self, requester: PublicKey, request: Announcement, remote: Endpoint, now: float) -> bytes:
        if not request.features & Feature.EXTENSIONS:
            return b""  # a reference peer: nothing after the last block
        items: dict[int, bytes] = {ExtensionType.OBSERVED_ADDRESS: encode_observed_address(remote)}
        if request.extension and self.handler is not None:
            try:
                asked = decode_extensions(request.extension)
            except DecodeError:
                self._count("bad_extension")
                asked = {}
            if asked:
                items.update(self.handler.extension(requester, request.features, asked, now))
        return encode_extensions(items)

    def _closest_records(self, key: bytes, requester: PublicKey, requester_features: int, local_request: bool) -> list[PeerRecord]:
        candidates = self.directory.closest(key, CLOSEST_PER_KEY, requester)
        return self._records(candidates, requester, requester_features, local_request)

    def _records(
        self, keys: Iterable[PublicKey], requester: PublicKey, requester_features: int, local_request: bool
    ) -> list[PeerRecord]:
        """Records of the first five of ``keys`` that have a connection the requester can use."""
        records: list[PeerRecord] = []
        for candidate_key in keys:
            candidate = self._peers.get(candidate_key)
            if candidate is None or candidate_key == requester:
                continue
            record = _record_for(candidate, requester_features, local_request)
            if record is not None:
                records.append(record)
                if len(records) == CLOSEST_PER_KEY:
                    break
        return records

    # ---- hole punching ---------------------------------------------------------------------------

    def _relay_traverse(self, sender: Peer, traverse: Traverse, now: float) -> None:
        """Forward a Traverse to its target with the sender's addresses filled in (spec §11 step 2)."""
        target = self._peers.get(traverse.target)
        if traverse.signer != sender.public_key or target is None or traverse.expires <= now + self.unix_offset:
            self._count("traverse_relay_refused")
            return
        window, count = self._relayed.get(sender.public_key, (now, 0))
        if now - window >= 60.0:
            window, count = now, 0
        if count >= RELAYED_PER_MINUTE:
            self._count("traverse_relay_rate_limited")
            return
        if len(self._relayed) >= self.limits.max_peers:
            self._relayed.clear()
        self._relayed[sender.public_key] = (window, count + 1)
        v4 = v6 = None
        for connection in sender.active_connections():
            if is_local_address(connection.remote[0]) or connection.port_internal == 0:
                continue
            if is_ipv4(connection.remote[0]):
                if v4 is None and target.features & Feature.IPV4_LISTEN:
                    v4 = connection
            elif v6 is None and target.features & Feature.IPV6_LISTEN and not is_link_local(connection.remote[0]):
                v6 = connection
        if v4 is None and v6 is None:
            self._count("traverse_relay_no_address")
            return
        filled = traverse.with_addresses(
            ipv4=ipaddress.IPv4Address(v4.remote[0]) if v4 else ipaddress.IPv4Address(0),
            ipv4_port=v4.remote[1] if v4 else 0,
            ipv4_port_external=v4.port_external if v4 else 0,
            ipv6=ipaddress.IPv6Address(v6.remote[0]) if v6 else ipaddress.IPv6Address(0),
            ipv6_port=v6.remote[1] if v6 else 0,
            ipv6_port_external=v6.port_external if v6 else 0,
        )
        self.send_message(target.public_key, filled)
        self._count("traverse_relayed")

    def _accept_traverse(self, traverse: Traverse, now: float) -> None:
        """Answer the embedded Announcement straight to the signer's addresses (spec §11 step 3);
        our Response opens our NAT towards the signer, whose request opened theirs."""
        signer = traverse.signer
        known = self._peers.get(signer)
        if traverse.expires <= now + self.unix_offset or (known is not None and known.active_connections()):
            self._count("traverse_ignored")
            return
        addresses: list[Endpoint] = []
        if int(traverse.ipv4):
            addresses.append((str(traverse.ipv4), traverse.ipv4_port_external or traverse.ipv4_port))
        if int(traverse.ipv6):
            addresses.append((str(traverse.ipv6), traverse.ipv6_port_external or traverse.ipv6_port))
        try:
            packet, sender = self.codec.decode(traverse.embedded_packet, self.public_key)
            if sender != signer or packet.protocol != 0 or packet.command != Command.ANNOUNCEMENT:
                raise DecodeError("traverse: the embedded packet is not the signer's Announcement")
            request = decode_message(packet.command, packet.payload)
        except DecodeError:
            self._count("traverse_invalid")
            return
        assert isinstance(request, Announcement)
        if not addresses or not self.policy.admit(signer, addresses[0], packet.command, False):
            self._count("traverse_ignored")
            return
        response = self._response_to(signer, request, addresses[0], now)
        for address in addresses:
            for local in self._locals_for(address[0]):
                self._send_raw(signer, address, local, response, packet.sequence)
        self._count("traverse_answered")

    # ---- bootstrap -------------------------------------------------------------------------------

    def _follow_bootstrap(self, responder: Peer, response: Response, now: float) -> None:
        """Contact up to five of the closest peers a FIND_SELF answer reports (spec wire.md §10.1)."""
        for entry in response.hash2peers:
            if entry.key != self.public_key.node_id or not entry.closest:
                return
            for record in entry.closest[:CLOSEST_PER_KEY]:
                if record.public_key == self.public_key or record.public_key in self._peers:
                    continue
                endpoints = record_endpoints(record)
                if endpoints:
                    self.contact(record.public_key, endpoints, now)

    # ---- timers ----------------------------------------------------------------------------------

    def handle_timer(self, now: float) -> None:
        if self._next_tick is None:
            return
        if self._punches:
            self._resend_punches(now)
            if any(p.expires <= now for p in self._punches.values()):
                self._expire_requests(now)
        if now < self._next_tick:
            return
        self._next_tick = now + TICK
        self._expire_requests(now)
        for peer in list(self._peers.values()):
            self._keep_alive(peer, now)
        if self._next_bootstrap is not None and now >= self._next_bootstrap:
            self._bootstrap(now)
        if self._next_discovery is not None and now >= self._next_discovery:
            self._discover(now)
            self._next_discovery = now + (10.0 if not self._peers else 600.0)

    def _expire_requests(self, now: float) -> None:
        for request in self._sequences.expire(now):
            self._punches.pop((request.peer, request.sequence), None)
            self._emit(RequestTimedOut(request.peer, request.sequence, request.command, request.tag, request.answered))

    def _keep_alive(self, peer: Peer, now: float) -> None:
        for connection in list(peer.connections):
            silent = now - connection.last_received
            factor = REDUNDANT_FACTOR if connection.status is ConnectionStatus.REDUNDANT else 1.0
            if connection.status is ConnectionStatus.INACTIVE:
                if now - connection.inactive_since >= INACTIVE_EXPIRY:
                    peer.remove_connection(connection)
                elif now - connection.last_keepalive >= PING_INTERVAL:
                    self._keepalive_ping(peer, connection, now)
                continue
            if silent >= INVALIDATE_AFTER * factor:
                peer.invalidate(connection, now)
            elif silent >= PING_INTERVAL * factor and now - connection.last_keepalive >= PING_INTERVAL * factor:
                stale = now - peer.blockchain_info_at > BLOCKCHAIN_INFO_MAX_AGE
                if connection.status is ConnectionStatus.ACTIVE and stale:
                    sequence = peer.next_sequence()
                    if self._register(peer.public_key, sequence, Command.ANNOUNCEMENT, now, KEEPALIVE):
                        self._send_raw(peer.public_key, connection.remote, connection.local, self._announcement(), sequence)
                    connection.last_keepalive = now
                else:
                    self._keepalive_ping(peer, connection, now)
        if not peer.connections:
            self._remove_peer(peer, "no connection left")

    def _keepalive_ping(self, peer: Peer, connection: Connection, now: float) -> None:
        sequence = peer.next_sequence()
        if self._register(peer.public_key, sequence, Command.PING, now, KEEPALIVE):
            raw = self.codec.encode(Packet(0, Command.PING, sequence, b""), self.key, peer.public_key)
            self._queue(raw, connection.remote, connection.local)
        connection.last_keepalive = now

    def _bootstrap(self, now: float) -> None:
        roots = self.config.root_peers
        known = sum(1 for root in roots if root.public_key in self._peers)
        if roots and (known == len(roots) or known >= 2) and self._bootstrap_round > 0:
            self._next_bootstrap = None
            return
        for root in roots:
            if root.public_key not in self._peers:
                self.contact(root.public_key, root.endpoints, now)
        self._bootstrap_round += 1
        if self._bootstrap_round <= 85:
            self._next_bootstrap = now + 7.0
        elif self._bootstrap_round <= 85 + 12:
            self._next_bootstrap = now + 300.0
        else:
            self._next_bootstrap = None

    def _discover(self, now: float) -> None:
        """Local Discovery from every main socket: IPv4 broadcast and IPv6 multicast."""
        height, version = self._blockchain()
        message = LocalDiscovery(
            features=self.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=self.config.user_agent,
            find_self=True,
        )
        (payload,) = message.encode()
        for local in self._local:
            family = 4 if is_ipv4(local[0]) else 6
            if local[0] in ("127.0.0.1", "::1"):
                continue  # loopback has no broadcast
            receiver = _DISCOVERY_KEYS[family].public_key
            raw = self.codec.encode(Packet(0, Command.LOCAL_DISCOVERY, 0, payload), self.key, receiver)
            destination = ("255.255.255.255", LOCAL_DISCOVERY_PORT) if family == 4 else (IPV6_MULTICAST_GROUP, LOCAL_DISCOVERY_PORT)
            self._queue(raw, destination, local)


def _record_for(peer: Peer, requester_features: int, local_request: bool) -> PeerRecord | None:
    """A record describing ``peer`` with, per family, its latest qualifying connection."""
    v4: Connection | None = None
    v6: Connection | None = None
    ordered = ([peer.latest] if peer.latest else []) + peer.connections
    for connection in ordered:
        if connection.status is ConnectionStatus.INACTIVE or connection.port_internal == 0:
            continue
        if is_local_address(connection.remote[0]) and not local_request:
            continue
        if connection.remote[0].startswith("fe80"):
            continue  # no zone in records: useless to others
        if is_ipv4(connection.remote[0]):
            if v4 is None and requester_features & _IPV4_LISTEN:
                v4 = connection
        elif v6 is None and requester_features & _IPV6_LISTEN:
            v6 = connection
    if v4 is None and v6 is None:
        return None
    return PeerRecord(
        peer.public_key,
        ipv4=v4.remote[0] if v4 else None,
        ipv4_port=v4.remote[1] if v4 else 0,
        ipv4_port_internal=v4.port_internal if v4 else 0,
        ipv4_port_external=v4.port_external if v4 else 0,
        ipv6=v6.remote[0] if v6 else None,
        ipv6_port=v6.remote[1] if v6 else 0,
        ipv6_port_internal=v6.port_internal if v6 else 0,
        ipv6_port_external=v6.port_external if v6 else 0,
        features=peer.features & 0x7F,
    )


@functools.lru_cache(maxsize=1 << 16)
def _host(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An address as text (formatted once per address: records repeat)."""
    return str(address)


def record_endpoints(record: PeerRecord) -> list[Endpoint]:
    """Where to contact a reported peer; records of bad quality give none (spec wire.md §6.4.3)."""
    endpoints: list[Endpoint] = []
    if int(record.ipv4) and record.ipv4_port_internal:
        endpoints.append((_host(record.ipv4), record.ipv4_port_external or record.ipv4_port))
    if int(record.ipv6) and record.ipv6_port_internal:
        endpoints.append((_host(record.ipv6), record.ipv6_port_external or record.ipv6_port))
    if (int(record.ipv4) and not record.ipv4_port_internal) or (int(record.ipv6) and not record.ipv6_port_internal):
        return []
    return endpoints


def needs_traverse(record: PeerRecord) -> bool:
    """Whether a reported peer looks unreachable without hole punching (spec wire.md §9.5): its
    FIREWALL bit is set, or the port it listens on differs from the one it is reached at."""
    if record.features & _FIREWALL:
        return True
    if int(record.ipv4) and record.ipv4_port_internal:
        if record.ipv4_port_internal != (record.ipv4_port_external or record.ipv4_port):
            return True
    if int(record.ipv6) and record.ipv6_port_internal:
        if record.ipv6_port_internal != (record.ipv6_port_external or record.ipv6_port):
            return True
    return False
