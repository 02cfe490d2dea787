"""Hole punching (spec wire.md §11): initiate through a relay, re-send directly, relay, accept.

A request to a peer behind NAT goes directly to its reported addresses and, embedded in a
Traverse, through the peer that reported it; the direct packets are re-sent on
:data:`PUNCH_RESENDS` until the Response arrives. As a relay we forward a Traverse with its
signer's addresses filled in, only to a target we reported to the signer (in a Response record,
within ``EngineLimits.reported_target_window``: a Go initiator sends the Traverse through the
peer that reported the target) and within the relay budgets (per signer, per signer prefix, per
target); as its target we answer the embedded Announcement straight to the signer's addresses.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

import attrs

from ._announcement import Announcement
from ._constants import Command, Feature
from ._errors import DecodeError
from ._keys import PublicKey
from ._messages import decode_message
from ._peers import Connection, Peer, is_ipv4, is_link_local, is_local_address
from ._response import Response
from ._shedding import TokenBuckets, prefix_key
from ._transport import Endpoint
from ._traverse import Traverse

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._behaviour import Behaviour
    from ._engine import PeerEngine

__all__ = ["PUNCH_RESENDS", "RELAYED_PER_MINUTE", "TRAVERSE_LIFETIME", "HolePunching", "ReportedTargets"]

log = logging.getLogger(__name__)

# A Traverse is valid for an hour, as the reference makes them; the direct Announcement is
# re-sent on this schedule (seconds after the first) until answered.
TRAVERSE_LIFETIME = 3600
PUNCH_RESENDS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
RELAYED_PER_MINUTE = 30  # Traverse packets relayed for one signer


@attrs.define
class _Punch:
    """A request to a peer behind NAT, re-sent directly until its Response arrives."""

    targets: list[tuple[Endpoint, Endpoint]]  # (remote, local)
    packets: list[bytes]  # the encrypted Announcement per target
    started: float
    expires: float  # when the request times out: reported then, not on the next tick
    resends: int = 0

    def due(self) -> float:
        if self.resends >= len(PUNCH_RESENDS):
            return self.expires
        return min(self.expires, self.started + PUNCH_RESENDS[self.resends])


class ReportedTargets:
    """Which peers we reported to whom within ``window`` seconds: a keyed hash of each (requester,
    target) pair with its time, the oldest forgotten beyond ``capacity`` (about 100 bytes each)."""

    def __init__(self, window: float, capacity: int) -> None:
        self.window, self.capacity = window, capacity
        self._at: dict[int, float] = {}  # insertion order is age order: re-adding moves to the end

    def __len__(self) -> int:
        return len(self._at)

    def add(self, requester: PublicKey, target: PublicKey, now: float) -> None:
        """``requester`` was told about ``target`` at ``now``."""
        key = hash((requester.node_id, target.node_id))  # SipHash with the process's random key
        self._at.pop(key, None)
        self._at[key] = now
        if len(self._at) > self.capacity:
            del self._at[next(iter(self._at))]

    def contains(self, requester: PublicKey, target: PublicKey, now: float) -> bool:
        """Whether ``requester`` was told about ``target`` within the window."""
        at = self._at.get(hash((requester.node_id, target.node_id)))
        return at is not None and now - at <= self.window


class HolePunching:
    """The engine's punches in progress and Traverse handling."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine
        self._punches: dict[tuple[PublicKey, int], _Punch] = {}
        self._relayed: dict[PublicKey, tuple[float, int]] = {}  # signer -> (window start, count)
        limits = engine.limits
        self._prefix_bytes = TokenBuckets(limits.relay_bytes_per_prefix / 60, limits.relay_bytes_per_prefix, 4096)
        self._target_bytes = TokenBuckets(limits.relay_bytes_per_target / 60, limits.relay_bytes_per_target, 4096)
        self._private_sources = limits.private_sources
        self._reported = ReportedTargets(limits.reported_target_window, limits.max_reported_targets)

    def __len__(self) -> int:
        """Punches in progress."""
        return len(self._punches)

    def relay_windows(self) -> int:
        """Signers with a relay rate window."""
        return len(self._relayed)

    def request_at(
        self,
        target: PublicKey,
        payload: bytes,
        endpoints: Sequence[Endpoint],
        relay: PublicKey | None,
        owner: Behaviour | None,
        now: float,
        timeout: float,
    ) -> int | None:
        """A request to a peer we do not know yet, sent to ``endpoints`` (from a peer record) and,
        with ``relay``, also through a Traverse and re-sent directly until answered; its sequence."""
        engine = self._engine
        targets = [(endpoint, local) for endpoint in endpoints for local in engine.outbox.locals_for(endpoint[0])]
        if not targets:
            return None
        sequence = engine._rng.getrandbits(32)
        prefix = prefix_key(targets[0][0][0], engine.limits.private_sources)
        if not engine.requests.register(
            target, sequence, Command.ANNOUNCEMENT, now, owner=owner, timeout=timeout, prefix=prefix
        ):
            return None
        packets = []
        for endpoint, local in targets:
            raw = engine.outbox.packet(target, Command.ANNOUNCEMENT, sequence, engine.outbox.patched(payload, local))
            packets.append(raw)
            engine.outbox.queue(raw, endpoint, local)
        if relay is not None and relay in engine.table:
            self.start(target, relay, sequence, targets, packets, now, timeout)
        return sequence

    def start(
        self,
        target: PublicKey,
        relay: PublicKey,
        sequence: int,
        targets: list[tuple[Endpoint, Endpoint]],
        packets: list[bytes],
        now: float,
        timeout: float,
    ) -> None:
        """Send the Traverses through ``relay`` and re-send ``packets`` until answered."""
        engine = self._engine
        expires = int(now + engine.unix_offset) + TRAVERSE_LIFETIME
        families_done: set[bool] = set()
        for (endpoint, _), embedded in zip(targets, packets, strict=False):
            family = is_ipv4(endpoint[0])
            if family in families_done:
                continue
            families_done.add(family)
            engine.send_message(relay, Traverse.create(engine.key, target, relay, expires, embedded))
            engine.counters.traverse_sent += 1
        log.debug("punching to %s through %s at %s", target.hex()[:16], relay.hex()[:16], [t[0] for t in targets])
        self._punches[(target, sequence)] = _Punch(targets, packets, now, now + timeout)

    def answered(self, peer: Peer, connection: Connection, sequence: int, now: float) -> None:
        """The Response to a request arrived: a punch, if it was one, succeeded."""
        if self._punches.pop((peer.public_key, sequence), None) is not None:
            self._engine.counters.punched += 1
            log.debug("punched through to %s at %s", peer.public_key.hex()[:16], connection.remote)
            self._engine.maintenance.keepalive_ping(peer, connection, now)  # lets the other side register us too

    def forget(self, peer: PublicKey, sequence: int) -> None:
        """The request timed out."""
        self._punches.pop((peer, sequence), None)

    def next_deadline(self) -> float | None:
        """The next re-send or expiry."""
        if not self._punches:
            return None
        return min(p.due() for p in self._punches.values())

    def any_expired(self, now: float) -> bool:
        """Whether a punch's request has timed out (expired at once, not on the next tick)."""
        return any(p.expires <= now for p in self._punches.values())

    def resend(self, now: float) -> None:
        """Re-send the direct packets whose time has come."""
        requests, outbox = self._engine.requests, self._engine.outbox
        for key, punch in list(self._punches.items()):
            if not requests.in_use(*key):  # answered or expired some other way
                del self._punches[key]
            elif punch.resends < len(PUNCH_RESENDS) and now >= punch.started + PUNCH_RESENDS[punch.resends]:
                punch.resends += 1
                for (endpoint, local), raw in zip(punch.targets, punch.packets, strict=False):
                    outbox.queue(raw, endpoint, local)

    def handle_traverse(self, peer: Peer, traverse: Traverse, now: float) -> None:
        """A Traverse from ``peer``: relay it, accept it, or count it as not for us."""
        me = self._engine.public_key
        if traverse.relay == me:
            self._relay(peer, traverse, now)
        elif traverse.target == me and traverse.relay == peer.public_key:
            self._accept(traverse, now)
        else:
            self._engine.counters.traverse_not_for_us += 1

    def reported(self, requester: PublicKey, response: Response, now: float) -> None:
        """We told ``requester`` about the peers of ``response``'s records: it may ask us to relay
        a Traverse to them (a Go initiator sends it through the peer that reported the target)."""
        for found in response.hash2peers:
            for record in (*found.closest, *found.storing):
                self._reported.add(requester, record.public_key, now)

    def _relay_allowed(self, sender: Peer, traverse: Traverse, now: float) -> Peer | None:
        engine = self._engine
        target = engine.table.get(traverse.target)
        if traverse.signer != sender.public_key or target is None or traverse.expires <= now + engine.unix_offset:
            engine.counters.traverse_relay_refused += 1
            return None
        if not self._reported.contains(sender.public_key, traverse.target, now):
            engine.counters.traverse_target_unreported += 1
            return None
        window, count = self._relayed.get(sender.public_key, (now, 0))
        if now - window >= 60.0:
            window, count = now, 0
        if count >= RELAYED_PER_MINUTE or not self._within_byte_budgets(sender, traverse, now):
            engine.counters.traverse_relay_rate_limited += 1
            return None
        if len(self._relayed) >= engine.limits.max_peers:
            self._relayed.clear()
        self._relayed[sender.public_key] = (window, count + 1)
        return target

    def _within_byte_budgets(self, sender: Peer, traverse: Traverse, now: float) -> bool:
        """Charge the relayed bytes to the sender's source prefix and to the target (bytes a
        minute each): throwaway identities share their prefix's budget, and no target gets more
        than its own, however many prefixes send."""
        size = float(len(traverse.embedded_packet) + 300)
        prefix = prefix_key(sender.latest.remote[0] if sender.latest else sender.source_ip, self._private_sources)
        if prefix is not None and not self._prefix_bytes.charge(prefix, size, now):
            return False
        return self._target_bytes.charge(traverse.target.hex(), size, now)

    def _relay(self, sender: Peer, traverse: Traverse, now: float) -> None:
        """Forward a Traverse to its target with the sender's addresses filled in (spec §11 step 2)."""
        target = self._relay_allowed(sender, traverse, now)
        if target is None:
            return
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
            self._engine.counters.traverse_relay_no_address += 1
            return
        filled = traverse.with_addresses(
            ipv4=ipaddress.IPv4Address(v4.remote[0]) if v4 else ipaddress.IPv4Address(0),
            ipv4_port=v4.remote[1] if v4 else 0,
            ipv4_port_external=v4.port_external if v4 else 0,
            ipv6=ipaddress.IPv6Address(v6.remote[0]) if v6 else ipaddress.IPv6Address(0),
            ipv6_port=v6.remote[1] if v6 else 0,
            ipv6_port_external=v6.port_external if v6 else 0,
        )
        self._engine.send_message(target.public_key, filled)
        self._engine.counters.traverse_relayed += 1
        log.debug("relayed a traverse from %s to %s", sender.public_key.hex()[:16], target.public_key.hex()[:16])

    def _accept(self, traverse: Traverse, now: float) -> None:
        """Answer the embedded Announcement straight to the signer's addresses (spec §11 step 3);
        our Response opens our NAT towards the signer, whose request opened theirs."""
        engine = self._engine
        signer = traverse.signer
        known = engine.table.get(signer)
        if traverse.expires <= now + engine.unix_offset or (known is not None and known.active_connections()):
            engine.counters.traverse_ignored += 1
            return
        addresses: list[Endpoint] = []
        if int(traverse.ipv4):
            addresses.append((str(traverse.ipv4), traverse.ipv4_port_external or traverse.ipv4_port))
        if int(traverse.ipv6):
            addresses.append((str(traverse.ipv6), traverse.ipv6_port_external or traverse.ipv6_port))
        try:
            packet, sender = engine.codec.decode(traverse.embedded_packet, engine.public_key)
            if sender != signer or packet.protocol != 0 or packet.command != Command.ANNOUNCEMENT:
                raise DecodeError("traverse: the embedded packet is not the signer's Announcement")
            request = decode_message(packet.command, packet.payload)
        except DecodeError:
            engine.counters.traverse_invalid += 1
            return
        assert isinstance(request, Announcement)
        if not addresses or not engine.policy.admit(signer, addresses[0], packet.command, False):
            engine.counters.traverse_ignored += 1
            return
        response = engine.answerer.response_to(signer, request, addresses[0], now)
        for address in addresses:
            for local in engine.outbox.locals_for(address[0]):
                engine.outbox.send_raw(signer, address, local, response, packet.sequence)
        engine.counters.traverse_answered += 1
        log.debug("answered a traverse from %s at %s", signer.hex()[:16], addresses)
