"""The peer and connection table: admission limits, eviction, per-IP limits, peer records.

Owns every :class:`~peernet_proto._peers.Peer` the engine knows; reports removals through a
callback so that the engine can close the peer's lite sessions and tell the behaviours.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from ._announcement import Announcement, LocalDiscovery
from ._constants import Feature
from ._distance import sort_by_distance
from ._keys import PublicKey
from ._peers import Connection, ConnectionStatus, Peer, is_ipv4, is_local_address
from ._response import PeerRecord, Response
from ._shedding import PrivateSources, prefix_key
from ._stats import EngineCounters
from ._transport import Endpoint

__all__ = ["CLOSEST_PER_KEY", "PeerInfo", "PeerTable", "needs_traverse", "record_endpoints", "record_for"]

CLOSEST_PER_KEY = 5  # peer records per key in an answer, nearest first (the reference's 5)
# Feature bits as plain ints: bit tests on IntFlag members are slow on the hot paths.
_IPV4_LISTEN, _IPV6_LISTEN, _FIREWALL = int(Feature.IPV4_LISTEN), int(Feature.IPV6_LISTEN), int(Feature.FIREWALL)


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
        """The peer's DHT node ID."""
        return self.public_key.node_id

    @classmethod
    def of(cls, peer: Peer) -> PeerInfo:
        """A snapshot of ``peer``."""
        return cls(
            peer.public_key,
            peer.user_agent,
            peer.features,
            peer.blockchain_height,
            peer.blockchain_version,
            tuple((c.remote, c.local, c.status.value, c.rtt) for c in peer.connections),
        )


class PeerTable:
    """Known peers, bounded by ``max_peers``, ``max_identities_per_ip``, ``max_identities_per_prefix``
    (a /24 or /64 shares one quota; loopback and private LANs per ``private_sources``, see
    :func:`prefix_key`) and ``max_connections_per_peer``."""

    def __init__(
        self,
        *,
        max_peers: int,
        max_identities_per_ip: int,
        max_connections_per_peer: int,
        counters: EngineCounters,
        max_identities_per_prefix: int = 64,
        private_sources: PrivateSources = "address",
        rng: random.Random,
        on_removed: Callable[[Peer, str], None],
    ) -> None:
        self.max_peers = max_peers
        self.max_identities_per_ip = max_identities_per_ip
        self.max_connections_per_peer = max_connections_per_peer
        self.max_identities_per_prefix = max_identities_per_prefix
        self._identities_per_prefix: dict[str, int] = {}
        self._counters = counters
        self._rng = rng
        self._on_removed = on_removed
        self._peers: dict[PublicKey, Peer] = {}
        self._identities_per_ip: dict[str, int] = {}
        self._by_endpoint: dict[Endpoint, Peer] = {}  # lazily cleaned: see knows()
        self._private_sources = private_sources
        self._silence: list[tuple[float, int, PublicKey]] = []  # lazy heap: see _evict_one()
        self._entries: dict[PublicKey, int] = {}  # each peer's current heap entry
        self._entry_counter = 0

    def __len__(self) -> int:
        return len(self._peers)

    def __contains__(self, key: PublicKey) -> bool:
        return key in self._peers

    def __iter__(self) -> Iterator[Peer]:
        return iter(list(self._peers.values()))

    def identities_by_ip(self) -> list[int]:
        """How many identities each introducing IP has."""
        return list(self._identities_per_ip.values())

    def knows(self, source: Endpoint) -> bool:
        """Whether a peer of the table has a connection to ``source`` (O(1))."""
        return self.at(source) is not None

    def at(self, source: Endpoint) -> Peer | None:
        """The peer of the table with a connection to ``source`` (O(1); stale entries of the
        index are dropped when found)."""
        peer = self._by_endpoint.get(source)
        if peer is None:
            return None
        if self._peers.get(peer.public_key) is peer:
            latest = peer.latest  # the usual case: the peer's current path
            if latest is not None and latest.remote == source:
                return peer
            for connection in peer.connections:
                if connection.remote == source:
                    return peer
        del self._by_endpoint[source]
        return None

    def _index(self, source: Endpoint, peer: Peer) -> None:
        if len(self._by_endpoint) >= 2 * self.max_peers * self.max_connections_per_peer:
            self._by_endpoint = {c.remote: p for p in self._peers.values() for c in p.connections}
        self._by_endpoint[source] = peer

    def get(self, key: PublicKey) -> Peer | None:
        """The peer with ``key``, if known."""
        return self._peers.get(key)

    def add(self, key: PublicKey, source: Endpoint, now: float) -> Peer | None:
        """A new peer first seen at ``source``; None when a limit refuses it."""
        if self._identities_per_ip.get(source[0], 0) >= self.max_identities_per_ip:
            self._counters.identities_per_ip_exceeded += 1
            return None
        prefix = prefix_key(source[0], self._private_sources)
        if prefix is not None and self._identities_per_prefix.get(prefix, 0) >= self.max_identities_per_prefix:
            self._counters.identities_per_prefix_exceeded += 1
            return None
        if len(self._peers) >= self.max_peers and not self._evict_one():
            self._counters.peer_table_full += 1
            return None
        peer = Peer(key, now, self._rng.getrandbits(32), source_ip=source[0])
        self._peers[key] = peer
        self._track(peer)
        self._identities_per_ip[source[0]] = self._identities_per_ip.get(source[0], 0) + 1
        if prefix is not None:
            self._identities_per_prefix[prefix] = self._identities_per_prefix.get(prefix, 0) + 1
        return peer

    def _evict_one(self) -> bool:
        """Make room by removing the longest silent peer if it has no active connection (then
        every peer heard from since is live too, and nobody is evicted for a newcomer).

        A lazy min-heap of (last heard, entry, key): an entry older than its peer's last packet
        is pushed again with the newer time, so each refusal or eviction costs O(log n) amortized
        (every re-push pays for a packet received since)."""
        heap = self._silence
        while heap:
            at, entry, key = heap[0]
            peer = self._peers.get(key)
            if peer is None or self._entries.get(key) != entry:
                heapq.heappop(heap)
                continue
            heard = _last_heard(peer)
            if heard > at:
                heapq.heapreplace(heap, (heard, entry, key))
                continue
            if peer.active_connections():
                return False
            heapq.heappop(heap)
            self.remove(peer, "evicted")
            return True
        return False

    def _track(self, peer: Peer) -> None:
        """Enter a new peer in the silence heap (rebuilt when stale entries pile up)."""
        self._entry_counter += 1
        self._entries[peer.public_key] = self._entry_counter
        heapq.heappush(self._silence, (_last_heard(peer), self._entry_counter, peer.public_key))
        if len(self._silence) > 2 * len(self._peers) + 64:
            self._silence = [item for item in self._silence if self._entries.get(item[2]) == item[1]]
            heapq.heapify(self._silence)

    def remove(self, peer: Peer, reason: str) -> None:
        """Forget ``peer``; the removal callback reports it."""
        del self._peers[peer.public_key]
        self._entries.pop(peer.public_key, None)
        remaining = self._identities_per_ip.get(peer.source_ip, 1) - 1
        if remaining > 0:
            self._identities_per_ip[peer.source_ip] = remaining
        else:
            self._identities_per_ip.pop(peer.source_ip, None)
        prefix = prefix_key(peer.source_ip, self._private_sources)
        if prefix is not None and self._identities_per_prefix.get(prefix, 0) > 1:
            self._identities_per_prefix[prefix] -= 1
        elif prefix is not None:
            self._identities_per_prefix.pop(prefix, None)
        self._on_removed(peer, reason)

    def register_connection(
        self, peer: Peer, source: Endpoint, local: Endpoint, now: float, *, proven: bool = True
    ) -> Connection | None:
        """The connection a packet arrived on, now the peer's latest; None when over the limit.

        A packet that does not prove the address (``proven``: it answers a request we sent) never
        moves a working connection to another host: the new path stays redundant until an answer
        arrives on it (a replayed packet from elsewhere cannot hijack the peer)."""
        latest = peer.latest
        if latest is not None and latest.status is ConnectionStatus.ACTIVE and latest.same_path(source, local):
            latest.last_received = now  # the usual case: the active path again, nothing moves
            if latest.remote != source:  # but a NAT may have changed the port
                latest.remote = source
                self._index(source, peer)
            return latest
        connection = peer.connection_for(source, local)
        if connection is None:
            if len(peer.connections) >= self.max_connections_per_peer:
                self._counters.connections_per_peer_exceeded += 1
                return None
            connection = Connection(source, local, ConnectionStatus.REDUNDANT, now)
            peer.connections.append(connection)
        else:
            connection.remote = source  # a NAT may have changed the port
        connection.last_received = now
        latest = peer.latest
        held = latest is not None and latest is not connection and latest.status is ConnectionStatus.ACTIVE
        if proven or not held or latest is None or latest.remote[0] == source[0]:
            peer.make_latest(connection)
        else:
            self._counters.unproven_path_kept += 1
        self._index(source, peer)
        return connection

    @staticmethod
    def update_peer(peer: Peer, message: Announcement | Response | LocalDiscovery, now: float) -> None:
        """What an Announcement, Response or Local Discovery says about its sender."""
        if message.user_agent:
            peer.user_agent = sys.intern(message.user_agent)  # one object per distinct agent, not per peer
        peer.features = message.features
        peer.blockchain_height = message.blockchain_height
        peer.blockchain_version = message.blockchain_version
        peer.blockchain_info_at = now

    @staticmethod
    def update_connection(connection: Connection, message: Announcement | Response) -> None:
        """The ports and FIREWALL bit the sender reports for the connection it used."""
        connection.port_internal = message.port_internal
        connection.port_external = message.port_external
        connection.firewall = bool(message.features & _FIREWALL)

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]:
        """Closest peers by XOR distance (the engine's directory when no DHT is given)."""
        candidates = (p for p in self._peers.values() if p.public_key != exclude)
        ranked = sort_by_distance(candidates, key)
        return [p.public_key for p in ranked[: count * 4]]

    def records(
        self, keys: Iterable[PublicKey], requester: PublicKey, requester_features: int, local_request: bool
    ) -> list[PeerRecord]:
        """Records of the first five of ``keys`` that have a connection the requester can use."""
        records: list[PeerRecord] = []
        for candidate_key in keys:
            candidate = self._peers.get(candidate_key)
            if candidate is None or candidate_key == requester:
                continue
            record = record_for(candidate, requester_features, local_request)
            if record is not None:
                records.append(record)
                if len(records) == CLOSEST_PER_KEY:
                    break
        return records


def _last_heard(peer: Peer) -> float:
    """When a packet of ``peer`` last arrived (when it was first seen if none did)."""
    return max((c.last_received for c in peer.connections), default=peer.first_seen)


def record_for(peer: Peer, requester_features: int, local_request: bool) -> PeerRecord | None:
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
    v4_moved = record.ipv4_port_internal != (record.ipv4_port_external or record.ipv4_port)
    v6_moved = record.ipv6_port_internal != (record.ipv6_port_external or record.ipv6_port)
    return bool(
        (int(record.ipv4) and record.ipv4_port_internal and v4_moved)
        or (int(record.ipv6) and record.ipv6_port_internal and v6_moved)
    )
