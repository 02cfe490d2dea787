"""Maintenance of the peer table: keep-alive, bootstrap and Local Discovery (spec wire.md §9.7, §10).

Each peer is checked when its next keep-alive deadline is due (a heap by deadline: O(log n) a
peer, not a scan of the table every second): silent connections get a Ping (or an Announcement when the
peer's blockchain information is stale), long-silent ones become inactive and are dropped,
peers without connections are removed. Root peers are contacted until enough of them answered;
the closest peers their FIND_SELF answers report are contacted too, and roots that listed nobody
are asked again shortly after.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from typing import TYPE_CHECKING

from ._announcement import LocalDiscovery
from ._behaviour import BaseBehaviour
from ._constants import (
    IPV4_BROADCAST_PRIVATE_KEY,
    IPV6_MULTICAST_GROUP,
    IPV6_MULTICAST_PRIVATE_KEY,
    LOCAL_DISCOVERY_PORT,
    Command,
)
from ._events import EngineEvent, ResponseReceived
from ._keys import PrivateKey, PublicKey
from ._peers import Connection, ConnectionStatus, Peer, is_ipv4
from ._peertable import CLOSEST_PER_KEY, record_endpoints

if TYPE_CHECKING:
    from ._engine import PeerEngine

__all__ = ["DISCOVERY_KEYS", "Maintenance"]

log = logging.getLogger(__name__)

DISCOVERY_KEYS = {4: PrivateKey(IPV4_BROADCAST_PRIVATE_KEY), 6: PrivateKey(IPV6_MULTICAST_PRIVATE_KEY)}
# Keep-alive timings of the reference (spec wire.md §9.7).
PING_INTERVAL = 10.0
INVALIDATE_AFTER = 22.0
INACTIVE_EXPIRY = 120.0
REDUNDANT_FACTOR = 4.0
BLOCKCHAIN_INFO_MAX_AGE = 60.0
FIND_SELF_AGAIN = 3  # second FIND_SELFs to roots that listed fewer than five peers
FIND_SELF_AGAIN_DELAY = 0.25  # seconds before the first of them (randomised, then doubling)


class _Bootstrap(BaseBehaviour):
    """Owner of first contacts: follows the closest peers a FIND_SELF answer reports.

    A root lists only peers proven to receive at their address, so a root that answered before
    it had proven anyone (many nodes starting at once) lists nobody. While the roots are all the
    peers we know, such an answer is followed by a second FIND_SELF to the roots a random moment
    later (a few times, the delay doubling): by then they know us and others."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine
        self._again_at: float | None = None
        self._again = 0  # second asks sent

    def handle_event(self, event: EngineEvent, now: float) -> None:
        if isinstance(event, ResponseReceived):
            self._follow(event, now)

    def next_deadline(self) -> float | None:
        """When to ask the roots again, if they listed nobody."""
        return self._again_at

    def handle_timer(self, now: float) -> None:
        """Ask the known roots again while they are all the peers we know."""
        if self._again_at is None or now < self._again_at:
            return
        self._again_at = None
        engine = self._engine
        roots = [root for root in engine.config.root_peers if root.public_key in engine.table]
        if len(engine.table) > len(roots):
            return  # others answered meanwhile: the bootstrap goes on from them
        self._again += 1
        for root in roots:
            engine.contact(root.public_key, root.endpoints, now)

    def _ask_again_later(self, event: ResponseReceived, now: float) -> None:
        engine = self._engine
        if self._again_at is not None or self._again >= FIND_SELF_AGAIN:
            return
        if not any(root.public_key == event.peer for root in engine.config.root_peers):
            return
        me = engine.public_key.node_id
        listed = sum(len(entry.closest) for entry in event.response.hash2peers if entry.key == me)
        if listed < CLOSEST_PER_KEY:
            self._again_at = now + FIND_SELF_AGAIN_DELAY * (2**self._again) * engine._rng.uniform(0.5, 1.5)

    def _follow(self, event: ResponseReceived, now: float) -> None:
        """Contact up to five of the closest peers a FIND_SELF answer reports (spec wire.md §10.1)."""
        engine = self._engine
        me = engine.public_key
        self._ask_again_later(event, now)
        for entry in event.response.hash2peers:
            if entry.key != me.node_id or not entry.closest:
                return
            for record in entry.closest[:CLOSEST_PER_KEY]:
                if record.public_key == me or record.public_key in engine.table:
                    continue
                if engine.requests.pending_to(record.public_key):
                    continue  # contacted already (several answers at once report it): one answer is enough
                endpoints = record_endpoints(record)
                if endpoints:
                    log.debug(
                        "bootstrap: %s reports %s, contacting it", event.peer.hex()[:16], record.public_key.hex()[:16]
                    )
                    engine.contact(record.public_key, endpoints, now)


class Maintenance:
    """Keep-alive, bootstrap rounds and Local Discovery, on the engine's one-second tick."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine
        self.bootstrap = _Bootstrap(engine)
        self.keepalive = BaseBehaviour()  # owns keep-alive requests: their answers need no action
        self._round = 0
        self._due: list[tuple[float, int, Peer]] = []  # keep-alive deadlines (lazily corrected)
        self._order = itertools.count()
        self._next_bootstrap: float | None = None
        self._next_discovery: float | None = None

    def start(self, now: float) -> None:
        """The engine got its sockets: bootstrap and discover from now on."""
        if self._engine.config.root_peers:
            self._next_bootstrap = now
        if self._engine.config.local_discovery:
            self._next_discovery = now

    def schedule(self, peer: Peer, at: float) -> None:
        """Check ``peer``'s connections at ``at`` (a new peer; the checks then reschedule)."""
        heapq.heappush(self._due, (at, next(self._order), peer))

    def tick(self, now: float) -> None:
        """Once a second: the peers whose keep-alive deadline passed, then bootstrap and discovery."""
        engine = self._engine
        while self._due and self._due[0][0] <= now:
            peer = heapq.heappop(self._due)[2]
            if engine.table.get(peer.public_key) is not peer:
                continue  # removed since
            self._keep_alive(peer, now)
            if engine.table.get(peer.public_key) is peer:
                self.schedule(peer, max(now + 0.5, _next_check(peer)))
        if self._next_bootstrap is not None and now >= self._next_bootstrap:
            self._bootstrap(now)
        if self._next_discovery is not None and now >= self._next_discovery:
            self._discover(now)
            self._next_discovery = now + (10.0 if not len(engine.table) else 600.0)

    def _keep_alive(self, peer: Peer, now: float) -> None:
        for connection in list(peer.connections):
            silent = now - connection.last_received
            factor = REDUNDANT_FACTOR if connection.status is ConnectionStatus.REDUNDANT else 1.0
            if connection.status is ConnectionStatus.INACTIVE:
                if now - connection.inactive_since >= INACTIVE_EXPIRY:
                    peer.remove_connection(connection)
                elif now - connection.last_keepalive >= PING_INTERVAL:
                    self.keepalive_ping(peer, connection, now)
                continue
            if silent >= INVALIDATE_AFTER * factor:
                peer.invalidate(connection, now)
            elif silent >= PING_INTERVAL * factor and now - connection.last_keepalive >= PING_INTERVAL * factor:
                stale = now - peer.blockchain_info_at > BLOCKCHAIN_INFO_MAX_AGE
                if connection.status is ConnectionStatus.ACTIVE and stale:
                    self.introduce(peer, connection, now, user_agent=False)
                    connection.last_keepalive = now
                else:
                    self.keepalive_ping(peer, connection, now)
        if not peer.connections:
            self._engine.table.remove(peer, "no connection left")

    def introduce(self, peer: Peer, connection: Connection, now: float, *, user_agent: bool) -> None:
        """An Announcement on one connection (keep-alive of stale information, or an introduction)."""
        engine = self._engine
        sequence = peer.next_sequence()
        if engine.requests.register(peer.public_key, sequence, Command.ANNOUNCEMENT, now, owner=self.keepalive):
            announcement = engine.announcement(user_agent=user_agent)
            engine.outbox.send_raw(peer.public_key, connection.remote, connection.local, announcement, sequence)

    def keepalive_ping(self, peer: Peer, connection: Connection, now: float) -> None:
        """A Ping on one connection."""
        engine = self._engine
        sequence = peer.next_sequence()
        if engine.requests.register(peer.public_key, sequence, Command.PING, now, owner=self.keepalive):
            raw = engine.outbox.packet(peer.public_key, Command.PING, sequence, b"")
            engine.outbox.queue(raw, connection.remote, connection.local)
        connection.last_keepalive = now

    def _bootstrap(self, now: float) -> None:
        engine = self._engine
        roots = engine.config.root_peers
        known = sum(1 for root in roots if root.public_key in engine.table)
        if roots and (known == len(roots) or known >= 2) and self._round > 0:
            log.debug("bootstrap: %d of %d root peers known, done", known, len(roots))
            self._next_bootstrap = None
            return
        for root in roots:
            if root.public_key not in engine.table:
                log.debug(
                    "bootstrap round %d: contacting root %s at %s",
                    self._round,
                    root.public_key.hex()[:16],
                    root.endpoints,
                )
                engine.contact(root.public_key, root.endpoints, now)
        self._round += 1
        if self._round <= 85:
            self._next_bootstrap = now + 7.0
        elif self._round <= 85 + 12:
            self._next_bootstrap = now + 300.0
        else:
            log.debug("bootstrap: giving up after %d rounds", self._round)
            self._next_bootstrap = None

    def _discover(self, now: float) -> None:
        """Local Discovery from every main socket: IPv4 broadcast and IPv6 multicast."""
        engine = self._engine
        height, version = engine.blockchain
        message = LocalDiscovery(
            features=engine.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=engine.config.user_agent,
            find_self=True,
        )
        (payload,) = message.encode()
        for local in engine.outbox.local:
            family = 4 if is_ipv4(local[0]) else 6
            if local[0] in ("127.0.0.1", "::1"):
                continue  # loopback has no broadcast
            receiver: PublicKey = DISCOVERY_KEYS[family].public_key
            raw = engine.outbox.packet(receiver, Command.LOCAL_DISCOVERY, 0, payload)
            destination = (
                ("255.255.255.255", LOCAL_DISCOVERY_PORT)
                if family == 4
                else (IPV6_MULTICAST_GROUP, LOCAL_DISCOVERY_PORT)
            )
            engine.outbox.queue(raw, destination, local)


def _next_check(peer: Peer) -> float:
    """The earliest time a keep-alive rule can apply to one of ``peer``'s connections (a packet
    received meanwhile only makes the check early: it then finds nothing to do and reschedules)."""
    due = float("inf")
    for connection in peer.connections:
        if connection.status is ConnectionStatus.INACTIVE:
            at = min(connection.inactive_since + INACTIVE_EXPIRY, connection.last_keepalive + PING_INTERVAL)
        else:
            factor = REDUNDANT_FACTOR if connection.status is ConnectionStatus.REDUNDANT else 1.0
            ping = max(connection.last_received, connection.last_keepalive) + PING_INTERVAL * factor
            at = min(connection.last_received + INVALIDATE_AFTER * factor, ping)
        due = min(due, at)
    return due
