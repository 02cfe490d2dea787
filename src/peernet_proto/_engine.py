"""The sans-IO peer engine: the facade over the peer table, outbox, requests, answering, hole
punching, maintenance, lite sessions and the behaviours plugged into it.

Feed it datagrams with :meth:`PeerEngine.receive_datagram` and the time with
:meth:`PeerEngine.handle_timer`; collect :meth:`PeerEngine.datagrams_to_send` and
:meth:`PeerEngine.events`. It owns no socket, clock, task or global state (spec wire.md §8–§10).

Which module owns what: ``_peertable`` (peers, connections, limits, records), ``_receiving``
(lite packets, decryption, admission, dispatch by command), ``_outbox``
(queue, connection choice, port patching, lite sending), ``_requests`` (sequences, timeouts,
owners of answers), ``_answering`` (Responses), ``_punch`` (Traverse), ``_maintenance``
(keep-alive, bootstrap, Local Discovery), ``_lite_sessions``, ``_stats``, ``_behaviour``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import attrs

from ._announcement import Announcement
from ._answering import Answerer, PeerDirectory, RequestHandler
from ._behaviour import Behaviour
from ._bisequences import BiSequences, is_request_start
from ._budget import WorkBudget
from ._codec import PacketCodec, SignedPacketCodec
from ._constants import Command, Feature
from ._errors import EncodeError
from ._events import (
    EngineEvent,
    PeerRemoved,
    RequestTimedOut,
)
from ._keys import PrivateKey, PublicKey
from ._lite_sessions import LiteSessions
from ._maintenance import Maintenance
from ._messages import Message
from ._outbox import Outbox, Outgoing
from ._peers import Peer, is_ipv4, is_link_local
from ._peertable import PeerInfo, PeerTable, needs_traverse, record_endpoints
from ._punch import HolePunching
from ._receiving import Receiver
from ._requests import Requests
from ._sequences import REPLY_TIMEOUT, PendingRequest
from ._shedding import (
    PRIVATE_SOURCE_MODES,
    PrivateSources,
    ReplayFilter,
    RoutabilityTokens,
    Shedding,
    TokenBuckets,
    prefix_key,
)
from ._stats import EngineCounters, EngineStatistics
from ._transport import Endpoint

_EXTENSIONS, _IPV4_LISTEN, _IPV6_LISTEN, _FIREWALL = (
    int(Feature.EXTENSIONS), int(Feature.IPV4_LISTEN), int(Feature.IPV6_LISTEN), int(Feature.FIREWALL)
)

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

TICK = 1.0
_FIREWALL = int(Feature.FIREWALL)


@attrs.frozen
class RootPeer:
    """A peer contacted at start (bootstrap)."""

    public_key: PublicKey
    endpoints: tuple[Endpoint, ...]


@attrs.frozen
class EngineLimits:
    """Bounds on everything a remote party can make the engine hold."""

    max_peers: int = 10_000
    max_connections_per_peer: int = 8
    max_identities_per_ip: int = 32
    max_identities_per_prefix: int = 64  # per /24 (IPv4) or /64 (IPv6); loopback and LANs excepted
    max_pending_requests: int = 8192
    max_pending_per_peer: int = 256
    max_outgoing_queue: int = 20_000
    max_events: int = 20_000
    max_lite_sessions: int = 4096
    max_lite_sessions_per_peer: int = 64
    # Datagrams a second (and burst) one source prefix (/24, /64) may send from addresses that are
    # no peer's connection: checked on the raw datagram, before decryption.
    unknown_prefix_rate: float = 50.0
    unknown_prefix_burst: float = 100.0
    max_prefix_buckets: int = 16_384
    replay_window: float = 120.0  # seconds an accepted datagram is remembered (exact replays dropped)
    max_replay_digests: int = 65_536
    max_keys_answered: int = 64  # keys (FIND_PEER, FIND_VALUE) one Announcement gets directory lookups for
    # Traverse bytes relayed a minute: for signers of one source prefix, and to one target.
    relay_bytes_per_prefix: int = 1_000_000
    relay_bytes_per_target: int = 2_000_000
    # Work units (see ``_budget``: 1 a request, a key asked, a record returned, a KiB answered or
    # relayed) per second and burst, per identity and per source prefix. A node bootstrapping or
    # refreshing through us spends a few thousand units in its first seconds; a busy content
    # node's whole /24 well under a tenth of the prefix rate.
    work_per_peer_rate: float = 2_000.0
    work_per_peer_burst: float = 40_000.0
    work_per_prefix_rate: float = 10_000.0
    work_per_prefix_burst: float = 200_000.0
    max_work_buckets: int = 16_384
    # Share of the pending-request table one source prefix may hold once the table is half full
    # (an identity holds at most ``max_pending_per_peer`` at any time).
    pending_share_per_prefix: float = 0.125
    # Loopback and private LAN sources in the per-prefix limits: "address" (each local address
    # its own share), "prefix" (like public sources) or "exempt" (no per-prefix limits).
    private_sources: PrivateSources = attrs.field(
        default="address", validator=attrs.validators.in_(PRIVATE_SOURCE_MODES)
    )
    # A Traverse is relayed only to a target we reported to its signer (in a Response record)
    # within this many seconds; at most ``max_reported_targets`` (signer, target) pairs are kept.
    reported_target_window: float = 600.0
    max_reported_targets: int = 65_536


@attrs.frozen
class EngineConfig:
    """What the engine announces and whom it contacts."""

    user_agent: str = "peernet-py/0.1"
    root_peers: tuple[RootPeer, ...] = ()
    port_forward: int = 0  # external port to report (0 = none); overrides a mapped port
    firewall: bool = False
    local_discovery: bool = True
    limits: EngineLimits = EngineLimits()


class AdmissionPolicy(Protocol):
    """Decides whether a packet from ``peer`` (new or known) is processed at all."""

    def admit(self, peer: PublicKey, source: Endpoint, command: int, known: bool) -> bool:
        """True to process the packet."""
        ...


class BlockList:
    """The default policy: admit everyone except blocked keys and addresses."""

    def __init__(self) -> None:
        self.keys: set[PublicKey] = set()
        self.hosts: set[str] = set()

    def admit(self, peer: PublicKey, source: Endpoint, command: int, known: bool) -> bool:
        """Everyone not blocked."""
        keys, hosts = self.keys, self.hosts  # usually empty: no key hashed per packet then
        return not (keys and peer in keys) and not (hosts and source[0] in hosts)


def _table_and_outbox(engine: PeerEngine) -> tuple[PeerTable, Outbox]:
    """The peer table and the outbox of ``engine``, sized by its limits."""
    limits = engine.limits
    table = PeerTable(
        max_peers=limits.max_peers,
        max_identities_per_ip=limits.max_identities_per_ip,
        max_identities_per_prefix=limits.max_identities_per_prefix,
        private_sources=limits.private_sources,
        max_connections_per_peer=limits.max_connections_per_peer,
        counters=engine.counters,
        rng=engine._rng,
        on_removed=engine._peer_removed,
    )
    outbox = Outbox(
        engine.key, engine.codec, port_forward=engine.config.port_forward, max_queue=limits.max_outgoing_queue,
        counters=engine.counters,
    )
    return table, outbox


def _shedding_and_budget(limits: EngineLimits, rng: random.Random) -> tuple[Shedding, WorkBudget]:
    """The cheap drops and the work budget, sized by ``limits``."""
    shedding = Shedding(
        TokenBuckets(limits.unknown_prefix_rate, limits.unknown_prefix_burst, limits.max_prefix_buckets),
        ReplayFilter(limits.max_replay_digests, limits.replay_window),
        RoutabilityTokens(secret=rng.randbytes(32)),
        limits.private_sources,
    )
    work = WorkBudget(
        peer_rate=limits.work_per_peer_rate,
        peer_burst=limits.work_per_peer_burst,
        prefix_rate=limits.work_per_prefix_rate,
        prefix_burst=limits.work_per_prefix_burst,
        max_buckets=limits.max_work_buckets,
        private_sources=limits.private_sources,
    )
    return shedding, work


class PeerEngine:
    """The peer engine (see the module docstring); also the :class:`EngineHost` of its behaviours."""

    def __init__(
        self,
        key: PrivateKey,
        config: EngineConfig = EngineConfig(),
        *,
        directory: PeerDirectory | None = None,
        policy: AdmissionPolicy | None = None,
        handler: RequestHandler | None = None,
        rng: random.Random | None = None,
        behaviours: Sequence[Behaviour] = (),
        codec: PacketCodec | None = None,
    ) -> None:
        self.key = key
        # How packets become datagrams: the signed wire format unless a simulation trusts its peers.
        self.codec: PacketCodec = codec or SignedPacketCodec()
        self.public_key = key.public_key
        self.config = config
        self.limits = limits = config.limits
        self.policy: AdmissionPolicy = policy or BlockList()
        self.handler = handler
        self.firewall = config.firewall  # the FIREWALL feature bit; reachability detection may change it
        self.extra_features = 0  # feature bits layers above add (keyword search, ...)
        # Unix time = ``now`` + this offset; the trio shell sets it (Traverse expiry is in Unix time).
        self.unix_offset = 0.0
        self.blockchain: tuple[int, int] = (0, 0)  # our height and version, pushed by set_blockchain
        self.counters = EngineCounters()
        self._rng = rng or random.Random()
        self.table, self.outbox = _table_and_outbox(self)
        self.directory: PeerDirectory = directory or self.table
        self.requests = Requests(
            limits.max_pending_requests, limits.max_pending_per_peer, self.counters,
            prefix_share=limits.pending_share_per_prefix, locate=self._prefix_of,
        )
        self.answerer = Answerer(self)
        self.punching = HolePunching(self)
        self.maintenance = Maintenance(self)
        self.lite = LiteSessions(limits.max_lite_sessions, limits.max_lite_sessions_per_peer)
        self.bisequences = BiSequences(limits.max_pending_requests, limits.max_pending_per_peer)
        self._events: list[EngineEvent] = []
        self._next_tick: float | None = None
        self._now = 0.0
        self._behaviours: list[Behaviour] = []
        self._routes: dict[int, Behaviour] = {}
        self.shedding, self.work = _shedding_and_budget(limits, self._rng)
        self.receiver = Receiver(self)
        for behaviour in behaviours:
            self.register(behaviour)

    # ---- configuration -------------------------------------------------------------------------

    def register(self, behaviour: Behaviour) -> None:
        """Plug in a behaviour: its feature bits, its commands, its events and timers. Raises
        ValueError for feature bits outside the one-byte field or a command already taken."""
        if behaviour.feature_bits & ~0xFF:
            raise ValueError(f"feature bits {behaviour.feature_bits:#x} do not fit the one-byte field")
        if self.receiver.handles(behaviour.commands) or self._routes.keys() & behaviour.commands:
            raise ValueError(f"commands {sorted(behaviour.commands)} are already handled")
        self._behaviours.append(behaviour)
        self.extra_features |= behaviour.feature_bits
        for command in behaviour.commands:
            self._routes[command] = behaviour
        behaviour.attach(self, self._now)

    def set_local_endpoints(self, endpoints: Iterable[Endpoint], now: float) -> None:
        """The main sockets packets can leave from (the transport's local endpoints)."""
        self.outbox.set_local(endpoints)
        if self._next_tick is None:
            self._next_tick = now
            self.maintenance.start(now)

    @property
    def local_endpoints(self) -> list[Endpoint]:
        """The main sockets packets leave from."""
        return list(self.outbox.local)

    def set_external_port(self, local: Endpoint, port: int) -> None:
        """The external port a mapping gave to ``local`` (reported in Announcements/Responses);
        0 removes it."""
        if port:
            self.outbox.external_ports[local] = port
        else:
            self.outbox.external_ports.pop(local, None)

    def set_firewall(self, firewall: bool) -> None:
        """Set or clear the FIREWALL feature bit: "reach me through a Traverse" (spec wire.md §9.5)."""
        self.firewall = firewall

    def set_blockchain(self, height: int, version: int) -> None:
        """Our blockchain height and version, announced from now on (the node pushes changes)."""
        self.blockchain = (height, version)

    @property
    def features(self) -> int:
        """The feature bits we announce."""
        bits = _EXTENSIONS | int(self.extra_features)  # plain ints: IntFlag arithmetic is slow per packet
        for host, _ in self.outbox.local:
            if is_link_local(host):
                continue
            bits |= _IPV4_LISTEN if is_ipv4(host) else _IPV6_LISTEN
        if self.firewall:
            bits |= _FIREWALL
        return bits

    # ---- output ----------------------------------------------------------------------------------

    def datagrams_to_send(self, now: float | None = None) -> list[Outgoing]:
        """What to send; with ``now`` (the time they leave) the round-trip times count from then."""
        self.requests.stamp_sent(now)
        return self.outbox.take()

    def events(self) -> list[EngineEvent]:
        """Events for the application since the last call."""
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` is next wanted (the engine's and its behaviours')."""
        best = self._next_tick
        for own in (self.punching.next_deadline(), self.maintenance.bootstrap.next_deadline()):
            if own is not None and (best is None or own < best):
                best = own
        for behaviour in self._behaviours:
            deadline = behaviour.next_deadline()
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        return best

    def statistics(self) -> EngineStatistics:
        """A snapshot of the engine's counters and table sizes."""
        by_ip = self.table.identities_by_ip()
        return EngineStatistics.of(
            self.counters,
            peers=len(self.table),
            pending_requests=len(self.requests),
            lite_sessions=len(self.lite),
            punches=len(self.punching),
            outgoing_queued=len(self.outbox),
            events_queued=len(self._events),
            relay_windows=self.punching.relay_windows(),
            identities_by_ip=sum(by_ip),
            busiest_ip_identities=max(by_ip, default=0),
            busiest_prefix_pending=self.requests.busiest_prefix(),
        )

    def peers(self) -> list[PeerInfo]:
        """Snapshots of every known peer."""
        return [PeerInfo.of(p) for p in self.table]

    def peer(self, key: PublicKey) -> PeerInfo | None:
        """A snapshot of a known peer."""
        peer = self.table.get(key)
        return None if peer is None else PeerInfo.of(peer)

    def __len__(self) -> int:
        return len(self.table)

    def _emit(self, event: EngineEvent, owner: Behaviour | None = None) -> None:
        """An answer goes to the behaviour that asked; anything else to every behaviour and the application."""
        if owner is not None:
            self._deliver(owner, event)
            return
        for behaviour in self._behaviours:
            self._deliver(behaviour, event)
        if len(self._events) < self.limits.max_events:
            self._events.append(event)
        else:
            self.counters.events_dropped += 1

    def _deliver(self, behaviour: Behaviour, event: EngineEvent) -> None:
        try:
            behaviour.handle_event(event, self._now)
        except Exception:  # a behaviour's bug must not stop the network
            self.counters.behaviour_errors += 1
            log.exception("behaviour %r failed on %r", behaviour, event)

    def _external(self, owner: Behaviour | None) -> Behaviour | None:
        """The owner answers are delivered to; None (everyone) for the engine's own requests."""
        if owner is self.maintenance.bootstrap or owner is self.maintenance.keepalive:
            return None
        return owner

    def _prefix_of(self, key: PublicKey) -> str | None:
        """The prefix key a known peer's current connection counts under (see ``prefix_key``)."""
        peer = self.table.get(key)
        if peer is None:
            return None
        return prefix_key(peer.latest.remote[0] if peer.latest else peer.source_ip, self.limits.private_sources)

    def _peer_removed(self, peer: Peer, reason: str) -> None:
        for session in self.lite.close_peer(peer.public_key):
            log.debug("lite session %s closed: peer removed", session.session_id)
        self.bisequences.forget_peer(peer.public_key)
        self._emit(PeerRemoved(peer.public_key, reason))

    # ---- actions ---------------------------------------------------------------------------------

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
        locals_ = self.outbox.locals_for(remote[0])
        if not locals_:
            return False
        peer = self.table.get(key) or self.table.add(key, remote, now)
        if peer is None:
            return False
        connection = self.table.register_connection(peer, remote, locals_[0], now)
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

    def contact(
        self,
        public_key: PublicKey,
        endpoints: Iterable[Endpoint],
        now: float,
        *,
        owner: Behaviour | None = None,
        follow: bool = True,
    ) -> list[int]:
        """First contact with addresses of a known key: Announcement with user agent and FIND_SELF on
        every local socket of the same family, each with its own random sequence (returned). Answers
        go to ``owner``; without one to the application's events, where the returned sequences identify
        them, and unless ``follow`` is False also to the bootstrap, which contacts the closest peers
        reported."""
        if public_key == self.public_key:
            return []
        if owner is None and follow:
            owner = self.maintenance.bootstrap
        announcement = self.announcement(find_self=True, user_agent=True)
        sequences = []
        for endpoint in endpoints:
            for local in self.outbox.locals_for(endpoint[0]):
                sequence = self._rng.getrandbits(32)
                prefix = prefix_key(endpoint[0], self.limits.private_sources)
                if self.requests.register(
                    public_key, sequence, Command.ANNOUNCEMENT, now, owner=owner, prefix=prefix
                ):
                    self.outbox.send_raw(public_key, endpoint, local, announcement, sequence)
                    sequences.append(sequence)
        return sequences

    def send_announcement(
        self,
        peer_key: PublicKey,
        announcement: Announcement,
        now: float,
        *,
        owner: Behaviour | None = None,
    ) -> list[int]:
        """Send an Announcement to a known peer; returns the sequences of the packets sent. Answers
        go to ``owner``, or without one to the application's events."""
        peer = self.table.get(peer_key)
        if peer is None:
            return []
        sequences = []
        for payload in self._with_blockchain(announcement).encode():
            sequence = self._announce(peer, payload, now, owner, REPLY_TIMEOUT)
            if sequence is not None:
                sequences.append(sequence)
        return sequences

    def _announce(
        self, peer: Peer, payload: bytes, now: float, owner: Behaviour | None, timeout: float
    ) -> int | None:
        """One Announcement payload to a known peer over its connection, awaiting its Response."""
        sequence = peer.next_sequence()
        if not self.requests.register(
            peer.public_key, sequence, Command.ANNOUNCEMENT, now, owner=owner, timeout=timeout
        ):
            return None
        self.outbox.send_payload(peer, Command.ANNOUNCEMENT, sequence, payload, patch_ports=True)
        return sequence

    def ping(self, peer_key: PublicKey, now: float, *, owner: Behaviour | None = None) -> int | None:
        """Ping a known peer; the Pong arrives as :class:`PongReceived` (to ``owner`` if given)."""
        peer = self.table.get(peer_key)
        if peer is None:
            return None
        sequence = peer.next_sequence()
        if self.requests.register(peer_key, sequence, Command.PING, now, owner=owner):
            self.outbox.send_payload(peer, Command.PING, sequence, b"")
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
        owner: Behaviour | None = None,
        timeout: float = REPLY_TIMEOUT,
    ) -> int | None:
        """Send a one-packet Announcement and expect its Response; returns the sequence, or None
        when nothing could be sent. The answer (ResponseReceived, or RequestTimedOut) goes to
        ``owner``, or without one to the application's events (matched by the returned sequence).

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
        peer = self.table.get(peer_key)
        if peer is not None and peer.connections:
            return self._announce(peer, payloads[0], now, owner, timeout)
        return self.punching.request_at(peer_key, payloads[0], endpoints, relay, owner, now, timeout)

    def send_message(self, peer: PublicKey, message: Message, sequence: int = 0) -> bool:
        """Send any other message (Traverse, Transfer, GetBlock, Chat) to a known peer.

        A Transfer or GetBlock REQUEST_START sent with sequence 0 gets a new bidirectional
        sequence (spec wire.md §8.2); the answers carrying it reach the behaviour of its command."""
        known = self.table.get(peer)
        if known is None:
            return False
        if message.COMMAND in (Command.TRANSFER, Command.GET_BLOCK):
            sequence = self._transfer_sequence(known, message, sequence)
        for payload in message.encode():
            self.outbox.send_payload(known, message.COMMAND, sequence, payload)
        return True

    def _transfer_sequence(self, peer: Peer, message: Message, sequence: int) -> int:
        if is_request_start(message) and sequence == 0:
            for _ in range(10_000):
                sequence = peer.next_sequence()
                if sequence and not self.bisequences.in_use(peer.public_key, sequence, self._now):
                    break
            self.bisequences.register(peer.public_key, sequence, message, self._now)
        elif sequence:
            self.bisequences.accept(peer.public_key, sequence, message, self._now)
        return sequence

    def send_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes) -> bool:
        """A lite packet over the peer's current connection; False for an unknown peer."""
        known = self.table.get(peer)
        return known is not None and self.outbox.send_lite(known, session_id, data)

    def open_lite_session(self, session_id: uuid.UUID, peer: PublicKey, owner: Behaviour) -> bool:
        """Hand lite packets of ``session_id`` from ``peer``'s endpoints to ``owner``."""
        if self.lite.open(session_id, peer, owner):
            return True
        self.counters.lite_sessions_refused += 1
        return False

    def close_lite_session(self, session_id: uuid.UUID) -> None:
        """Stop handing packets of ``session_id`` to its owner."""
        self.lite.close(session_id)

    def _with_blockchain(self, announcement: Announcement) -> Announcement:
        """Requests carry our blockchain state: the receiver records it from every Announcement."""
        if announcement.blockchain_height or announcement.blockchain_version:
            return announcement
        height, version = self.blockchain
        if not height and not version:
            return announcement
        return attrs.evolve(announcement, blockchain_height=height, blockchain_version=version)

    def announcement(self, *, find_self: bool = False, user_agent: bool = False, **lists: Any) -> Announcement:
        """An Announcement with our features and blockchain state."""
        height, version = self.blockchain
        return Announcement(
            features=self.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=self.config.user_agent if user_agent else "",
            find_self=find_self,
            **lists,
        )

    # ---- receiving -------------------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Endpoint, local: Endpoint, now: float) -> None:
        """Process one datagram that arrived from ``source`` on the socket bound to ``local``."""
        self._now = now
        self.receiver.receive(data, source, local, now)

    # ---- timers ----------------------------------------------------------------------------------

    def handle_timer(self, now: float) -> None:
        """The time is ``now``: expire, re-send, keep alive, bootstrap, and run behaviours' timers."""
        self._now = now
        if self._next_tick is not None:
            if len(self.punching):
                self.punching.resend(now)
                if self.punching.any_expired(now):
                    self._expire_requests(now)
            if now >= self._next_tick:
                self._next_tick = now + TICK
                self._expire_requests(now)
                self.bisequences.purge(now)
                self.maintenance.tick(now)
            self.maintenance.bootstrap.handle_timer(now)
        for behaviour in self._behaviours:
            deadline = behaviour.next_deadline()
            if deadline is not None and now >= deadline:
                try:
                    behaviour.handle_timer(now)
                except Exception:
                    self.counters.behaviour_errors += 1
                    log.exception("behaviour %r failed in its timer", behaviour)

    def _expire_requests(self, now: float) -> None:
        for request, owner in self.requests.expire(now):
            self.punching.forget(request.peer, request.sequence)
            self._emit(_timed_out(request), self._external(owner))


def _timed_out(request: PendingRequest) -> RequestTimedOut:
    return RequestTimedOut(request.peer, request.sequence, request.command, request.answered)
