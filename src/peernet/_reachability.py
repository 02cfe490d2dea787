"""Reachability glue: what peers see of us decides the FIREWALL bit and the external port we
announce.

Peers with the EXTENSIONS feature bit tell us the address our packets arrive from (the engine's
:class:`~peernet_proto.AddressObserved` events). One :class:`~peernet_nat.ReachabilityTracker`
per local socket turns those reports, and the port mappings a :class:`~peernet_nat.PortMapper`
keeps, into a classification; on every change the engine's announcement is updated:

================================  ==============  =====================================
classification                    FIREWALL bit    external port of that socket
================================  ==============  =====================================
public                            cleared         none
behind NAT, a working mapping     cleared         the mapping's external port
behind NAT, no mapping            set             none: peers reach us through Traverse
unknown (too few reports)         as configured   none
================================  ==============  =====================================

With several sockets the bit is set when any socket with a known classification needs hole
punching (an IPv4 peer cannot use our public IPv6 address). After a change every connected peer
(up to ``announce_limit``) gets a one-packet Announcement, so that relays report the new state
in their peer records at once rather than after the next keep-alive Announcement.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable, Sequence

import trio

from peernet_nat import (
    MappingEvent,
    MappingEventKind,
    MappingMethod,
    MappingRequest,
    PortMapper,
    PortMapping,
    Reachability,
    ReachabilityChanged,
    ReachabilityClass,
    ReachabilityTracker,
    TransportProtocol,
    is_public_address,
)
from peernet_proto import (
    AddressObserved,
    Announcement,
    BaseBehaviour,
    Endpoint,
    EngineEvent,
    EngineHost,
    EngineRunner,
    PeerEngine,
    PublicKey,
    source_prefix,
)

__all__ = ["REANNOUNCE", "ReachabilityMonitor"]

log = logging.getLogger(__name__)

REANNOUNCE = "reachability announcement"  # what the Announcements sent after a change are for (logs)
_UNKNOWN = Reachability(ReachabilityClass.UNKNOWN)
_MAPPING_KEPT = (MappingEventKind.MAPPED, MappingEventKind.RENEWED, MappingEventKind.REMAPPED)


class ReachabilityMonitor(BaseBehaviour):
    """Feeds address reports and port mappings into trackers and applies the result to ``engine``.

    Sans-IO at its core (:meth:`handle_event`, :meth:`handle_mapping_event`, :meth:`tick` take
    ``now``), and an engine behaviour: registered with the engine it gets the engine's events and
    ages its reports on the engine's timer. :meth:`run` is the trio shell that keeps a port mapping
    for every private IPv4 socket. The Announcements it sends after a change carry the blockchain
    state the engine fills in; their answers come back here (and need nothing).
    """

    commands: frozenset[int] = frozenset()

    def __init__(
        self,
        engine: PeerEngine,
        *,
        make_tracker: Callable[[], ReachabilityTracker] = ReachabilityTracker,
        announce_limit: int = 256,
        on_change: Callable[[Endpoint, ReachabilityChanged], None] | None = None,
        tick_interval: float = 10.0,
    ) -> None:
        self.engine = engine
        self.tick_interval = tick_interval
        self._next_tick: float | None = None
        self._host: EngineHost | None = None
        self.configured_firewall = engine.firewall  # kept while nothing is known
        self.announce_limit = announce_limit
        self._make_tracker = make_tracker
        self._on_change = on_change
        self._trackers: dict[Endpoint, ReachabilityTracker] = {}
        self._external_ports: dict[Endpoint, int] = {}
        self.wake: Callable[[], None] = lambda: None  # called after queueing packets (runner.poke)

    # ---- what is known ---------------------------------------------------------------------

    def reachability(self, local: Endpoint) -> Reachability:
        tracker = self._trackers.get(local)
        return tracker.current if tracker is not None else _UNKNOWN

    @property
    def current(self) -> dict[Endpoint, Reachability]:
        return {local: tracker.current for local, tracker in self._trackers.items()}

    # ---- evidence --------------------------------------------------------------------------

    def attach(self, host: EngineHost, now: float) -> None:
        """Registered with the engine: age reports every ``tick_interval`` seconds from now."""
        self._host = host
        self._next_tick = now + self.tick_interval

    def next_deadline(self) -> float | None:
        """The next :meth:`tick`."""
        return self._next_tick

    def handle_timer(self, now: float) -> None:
        """The engine's timer: :meth:`tick`."""
        self._next_tick = now + self.tick_interval
        self.tick(now)

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Give every engine event here; only :class:`AddressObserved` is used."""
        if isinstance(event, AddressObserved):
            self.observe(event.peer, event.observed, event.local, now, reporter_at=event.reporter_at)

    def observe(
        self,
        reporter: PublicKey,
        observed: Endpoint,
        local: Endpoint,
        now: float,
        *,
        reporter_at: Endpoint | None = None,
    ) -> None:
        """``reporter`` saw our packets from the socket ``local`` arrive from ``observed``. Reporters
        at addresses of one source prefix (``reporter_at``: /24, /64) share one vote.

        Reports of a private, loopback or link-local address come from peers in our own network
        and say nothing about the Internet: they are ignored."""
        observed_ip = _ip(observed[0])
        local_ip = _ip(local[0])
        if observed_ip is None or local_ip is None or not is_public_address(observed_ip):
            return
        group = source_prefix(reporter_at[0]) if reporter_at is not None else None
        tracker = self._tracker(local)
        changes = tracker.observe(reporter, (observed_ip, observed[1]), (local_ip, local[1]), now, group)
        self._apply(local, changes, now)

    def set_mapping(self, local: Endpoint, mapping: PortMapping | None, now: float) -> None:
        """The port mapping forwarding to ``local`` (None: there is none any more)."""
        if mapping is not None and (mapping.external_ip is None or not is_public_address(mapping.external_ip)):
            mapping = None  # double NAT: the "external" address is not reachable from the Internet
        self._apply(local, self._tracker(local).set_mapping(mapping, now), now)

    def handle_mapping_event(self, event: MappingEvent, now: float) -> None:
        """A :class:`~peernet_nat.PortMapper` event; a failed renewal keeps the mapping until it
        expires (the tracker ages it out)."""
        if event.kind is MappingEventKind.FAILED or event.mapping is None:
            return
        mapping = event.mapping
        kept = event.kind in _MAPPING_KEPT
        for local in self._locals_for(mapping):
            self.set_mapping(local, mapping if kept else None, now)

    def tick(self, now: float) -> None:
        """Let old reports and expired mappings age out; call every few seconds."""
        for local, tracker in list(self._trackers.items()):
            self._apply(local, tracker.tick(now), now)

    # ---- applying the result ---------------------------------------------------------------

    def _tracker(self, local: Endpoint) -> ReachabilityTracker:
        tracker = self._trackers.get(local)
        if tracker is None:
            tracker = self._trackers[local] = self._make_tracker()
        return tracker

    def _locals_for(self, mapping: PortMapping) -> list[Endpoint]:
        """The sockets ``mapping`` forwards to: its internal endpoint, or, when no socket is bound
        to that address (a wildcard socket), every IPv4 socket with its port."""
        exact = (str(mapping.internal_ip), mapping.internal_port)
        if exact in self._trackers:
            return [exact]
        same_port = [local for local in self._trackers if local[1] == mapping.internal_port and ":" not in local[0]]
        return same_port or [exact]

    def _apply(self, local: Endpoint, changes: Sequence[ReachabilityChanged], now: float) -> None:
        if not changes:
            return
        before = (self.engine.features, dict(self._external_ports))
        current = self._trackers[local].current
        port = current.external_port if current.classification is ReachabilityClass.MAPPED else 0
        if port:
            self._external_ports[local] = port
        else:
            self._external_ports.pop(local, None)
        self.engine.set_external_port(local, port)
        known = [
            tracker.current
            for tracker in self._trackers.values()
            if tracker.current.classification is not ReachabilityClass.UNKNOWN
        ]
        self.engine.set_firewall(any(r.firewalled for r in known) if known else self.configured_firewall)
        for change in changes:
            log.info(
                "reachability of %s:%d: %s -> %s", local[0], local[1],
                change.old.classification.value, change.new.classification.value,
            )
            if self._on_change is not None:
                self._on_change(local, change)
        if (self.engine.features, self._external_ports) != before:
            self._announce(now)

    def _announce(self, now: float) -> None:
        announcement = Announcement(features=self.engine.features)
        for peer in self.engine.peers()[: self.announce_limit]:
            self.engine.send_announcement(peer.public_key, announcement, now, owner=self)
        self.wake()

    # ---- the trio shell --------------------------------------------------------------------

    async def run(
        self,
        runner: EngineRunner,
        *,
        map_ports: bool = True,
        methods: Sequence[MappingMethod] = (MappingMethod.PCP, MappingMethod.NATPMP, MappingMethod.UPNP),
        lifetime: int = 3600,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled, registered with ``runner``'s engine (unless it already is); with
        ``map_ports``, keep a port mapping (UPnP IGD, NAT-PMP or PCP) for every private IPv4
        socket of its transport. Mappings are deleted when cancelled."""
        if self._host is None:
            runner.engine.register(self)
        self.wake = runner.poke
        ports = sorted({port for ip, port in runner.transport.local_endpoints() if _mappable(ip)})
        async with trio.open_nursery() as nursery:
            if map_ports and ports:
                mapper = PortMapper(
                    [MappingRequest(TransportProtocol.UDP, port) for port in ports],
                    methods=methods, lifetime=lifetime,
                    on_event=lambda event: self.handle_mapping_event(event, trio.current_time()),
                )
                # a mapping of a socket no peer has reported on yet still needs its tracker
                for ip, port in runner.transport.local_endpoints():
                    if _mappable(ip):
                        self._tracker((ip, port))
                nursery.start_soon(mapper.run)
            task_status.started()
            await trio.sleep_forever()


@functools.lru_cache(maxsize=1024)  # called for every address a peer reports: the same few hosts
def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _mappable(host: str) -> bool:
    """A private IPv4 address: behind a NAT whose gateway may forward a port to it."""
    address = _ip(host)
    return (
        isinstance(address, ipaddress.IPv4Address)
        and address.is_private
        and not address.is_loopback
        and not address.is_link_local
    )
