"""An in-memory datagram network for tests and simulations, driven by trio's clock.

Every datagram is scheduled on one heap and delivered by one scheduler task at
``send time + latency (+ jitter)``, so runs under :class:`trio.testing.MockClock` are exact and
independent of the wall clock. Loss and jitter are drawn from a ``random.Random`` per sending
host, seeded from the network's seed and the host's number, so one host's draws do not depend
on how trio interleaves the other hosts.

Hosts sit in the public address space or behind a :class:`MemoryNat`; hosts added with the same
``lan=`` name form a broadcast segment (``255.255.255.255`` and IPv6 multicast destinations reach
every host of the segment bound to the destination port, the sender included).
"""

from __future__ import annotations

import errno
import heapq
import ipaddress
import itertools
import logging
import math
import random
from collections.abc import Iterable, Sequence
from typing import Literal, get_args

import attrs
import trio

from .._transport import Datagram, Endpoint

__all__ = [
    "MemoryHost",
    "MemoryNat",
    "MemoryNetwork",
    "MemoryNetworkStatistics",
    "NatKind",
]

logger = logging.getLogger(__name__)

NatKind = Literal["cone", "restricted", "port-restricted", "symmetric"]
_NAT_KINDS: tuple[str, ...] = get_args(NatKind)
_EPHEMERAL_PORTS = (49152, 65535)
_NAT_PORTS = (20000, 65535)


@attrs.frozen
class MemoryNetworkStatistics:
    """Counters of a :class:`MemoryNetwork` since it was created."""

    sent: int
    delivered: int
    lost: int  # random loss
    filtered: int  # refused by a NAT (no mapping, expired, or not permitted)
    unroutable: int  # nobody bound to the destination (or the sender was removed)
    overflowed: int  # the receiver's queue was full
    in_flight: int

    @property
    def dropped(self) -> int:
        """Datagrams that never arrived, for any reason."""
        return self.lost + self.filtered + self.unroutable + self.overflowed


@attrs.frozen
class _LinkParameters:
    latency: float
    loss: float


@attrs.define(slots=True, eq=False)
class _Mapping:
    key: tuple[Endpoint, Endpoint | None]
    private: Endpoint
    public_port: int
    last_outbound: float
    # filter key (IP, endpoint or None for a full cone) -> time of the last outbound packet to it
    permissions: dict[object, float] = attrs.field(factory=dict)


class MemoryNat:
    """A NAT in front of a private address space, created by :meth:`MemoryNetwork.add_nat`.

    Mappings (RFC 4787 terms): ``cone``, ``restricted`` and ``port-restricted`` map endpoint
    independently (one public port per private endpoint); ``symmetric`` maps per destination
    endpoint. Filtering: ``cone`` accepts anyone once a mapping exists, ``restricted`` only IPs the
    mapping has sent to, ``port-restricted`` and ``symmetric`` only the exact endpoints. A mapping,
    and each permission, lives ``mapping_timeout`` seconds after its last outbound packet.
    """

    def __init__(
        self, public_ip: str, kind: NatKind, mapping_timeout: float, preserve_ports: bool
    ) -> None:
        if kind not in _NAT_KINDS:
            raise ValueError(f"unknown NAT kind {kind!r}, expected one of {_NAT_KINDS}")
        self.public_ip = public_ip
        self.kind: NatKind = kind
        self.mapping_timeout = mapping_timeout
        self.preserve_ports = preserve_ports and kind != "symmetric"
        self._by_key: dict[tuple[Endpoint, Endpoint | None], _Mapping] = {}
        self._by_port: dict[int, _Mapping] = {}
        self._next_port = _NAT_PORTS[0]

    def __repr__(self) -> str:
        return f"MemoryNat({self.public_ip!r}, {self.kind!r})"

    def _permission_key(self, remote: Endpoint) -> object:
        if self.kind == "cone":
            return None
        if self.kind == "restricted":
            return remote[0]
        return remote

    def _alive(self, mapping: _Mapping, now: float) -> bool:
        return now - mapping.last_outbound < self.mapping_timeout

    def _forget(self, mapping: _Mapping) -> None:
        if self._by_port.get(mapping.public_port) is mapping:
            del self._by_port[mapping.public_port]
        if self._by_key.get(mapping.key) is mapping:
            del self._by_key[mapping.key]

    def _free_port(self, wanted: int, now: float) -> int:
        candidates = itertools.chain(
            [wanted] if self.preserve_ports else [],
            (self._advance_port() for _ in range(_NAT_PORTS[1] - _NAT_PORTS[0] + 1)),
        )
        for port in candidates:
            holder = self._by_port.get(port)
            if holder is None:
                return port
            if not self._alive(holder, now):
                self._forget(holder)
                return port
        raise OSError(errno.EADDRNOTAVAIL, f"NAT {self.public_ip} has no free port")

    def _advance_port(self) -> int:
        port = self._next_port
        self._next_port = port + 1 if port < _NAT_PORTS[1] else _NAT_PORTS[0]
        return port

    def outbound(self, private: Endpoint, destination: Endpoint, now: float) -> Endpoint:
        """Translate the source of a packet leaving the private side; create or refresh state."""
        key = (private, destination if self.kind == "symmetric" else None)
        mapping = self._by_key.get(key)
        if mapping is not None and not self._alive(mapping, now):
            self._forget(mapping)
            mapping = None
        if mapping is None:
            mapping = _Mapping(key, private, self._free_port(private[1], now), now)
            self._by_key[key] = mapping
            self._by_port[mapping.public_port] = mapping
        mapping.last_outbound = now
        mapping.permissions[self._permission_key(destination)] = now
        return (self.public_ip, mapping.public_port)

    def inbound(self, source: Endpoint, public_port: int, now: float) -> Endpoint | None:
        """The private endpoint a packet from ``source`` to ``public_port`` goes to, or None."""
        mapping = self._by_port.get(public_port)
        if mapping is None:
            return None
        if not self._alive(mapping, now):
            self._forget(mapping)
            return None
        permitted_at = mapping.permissions.get(self._permission_key(source))
        if permitted_at is None or now - permitted_at >= self.mapping_timeout:
            return None
        return mapping.private

    def mapping_count(self, now: float | None = None) -> int:
        """How many mappings are alive (at ``now``, default: the current trio time)."""
        moment = trio.current_time() if now is None else now
        return sum(1 for mapping in self._by_port.values() if self._alive(mapping, moment))


_Realm = MemoryNat | None  # None: the public address space


# A datagram on its way: (arrival, order, data, source, destination, realm, lan). A plain tuple, so the heap
# compares it in C; ``order`` is unique, so the comparison never reaches the data.
_InFlight = tuple[float, int, bytes, Endpoint, Endpoint, _Realm, str | None]


def _is_broadcast(ip: str) -> bool:
    """The IPv4 limited broadcast or an IPv6 multicast group (ff00::/8)."""
    return ip == "255.255.255.255" or (ip[:2].lower() == "ff" and ":" in ip)


def _is_ipv6(ip: str) -> bool:
    return ":" in ip


class MemoryHost:
    """One simulated machine: a :class:`~peernet_proto.DatagramTransport` on the network.

    Created by :meth:`MemoryNetwork.add_host`. ``latency`` and ``loss``, when given, replace the
    network's defaults for the datagrams this host sends (a per-link setting wins over both)."""

    def __init__(
        self,
        network: MemoryNetwork,
        number: int,
        endpoints: list[Endpoint],
        nat: MemoryNat | None,
        lan: str | None,
        latency: float | None,
        loss: float | None,
        queue_size: int,
    ) -> None:
        self.network = network
        self.number = number
        self.nat = nat
        self.lan = lan
        self.latency = latency
        self.loss = loss
        self._endpoints = endpoints
        self._send_channel, self._receive_channel = trio.open_memory_channel[Datagram](queue_size)
        self._random: random.Random | None = None
        self.alive = True
        self._closed = False
        self.dropped = 0  # datagrams lost because this host's queue was full

    def __repr__(self) -> str:
        return f"MemoryHost({self.number}, {self._endpoints!r})"

    @property
    def random(self) -> random.Random:
        """This host's generator for loss and jitter (created on first use)."""
        if self._random is None:
            self._random = random.Random(f"{self.network.seed}:{self.number}")
        return self._random

    def local_endpoints(self) -> Sequence[Endpoint]:
        """The host's bound addresses (inside its NAT, if it has one)."""
        return list(self._endpoints) if self.alive else []

    async def send(self, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        """Send one datagram from ``local`` (one of our endpoints) to ``destination``."""
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise trio.ClosedResourceError("transport is closed")
        self.network._send(self, bytes(data), destination, local)

    async def receive(self) -> Datagram:
        """The next datagram addressed to this host."""
        return await self._receive_channel.receive()

    async def aclose(self) -> None:
        """Leave the network: nothing is sent to or from this host any more."""
        self._closed = True
        self.network.remove_host(self)
        await self._receive_channel.aclose()

    def _deliver(self, datagram: Datagram) -> bool:
        try:
            self._send_channel.send_nowait(datagram)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self.dropped += 1
            return False
        return True

    def _discard_queue(self) -> None:
        while True:
            try:
                self._receive_channel.receive_nowait()
            except (trio.WouldBlock, trio.ClosedResourceError, trio.EndOfChannel):
                return


class MemoryNetwork:
    """Simulated IP network: hosts, NATs, LAN segments, latency, jitter and loss.

    ``latency`` is the one-way delay in seconds, ``jitter`` adds a uniform ``[0, jitter)`` extra
    delay (so datagrams may be reordered), ``loss`` is the probability of dropping a datagram.
    The scheduler task is started in the current trio run (as a system task) by the first send.
    """

    def __init__(
        self,
        *,
        seed: int | str = 0,
        latency: float = 0.01,
        jitter: float = 0.0,
        loss: float = 0.0,
        queue_size: int = 1000,
    ) -> None:
        self.seed = seed
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
        self.queue_size = queue_size
        self._hosts: list[MemoryHost] = []
        self._bindings: dict[tuple[_Realm, Endpoint], MemoryHost] = {}
        self._address_owners: dict[tuple[_Realm, str], MemoryHost] = {}
        self._nats: dict[str, MemoryNat] = {}
        self._lans: dict[str, list[MemoryHost]] = {}
        self._links: dict[tuple[str, str], _LinkParameters] = {}
        self._next_port: dict[tuple[_Realm, str], int] = {}
        self._heap: list[_InFlight] = []
        self._order = itertools.count()
        self._wakeup: trio.Event | None = None
        self._scheduler_run: object = None
        self._sent = self._delivered = self._lost = 0
        self._filtered = self._unroutable = self._overflowed = 0

    # ---- building the network -------------------------------------------------------------

    def add_nat(
        self,
        public_ip: str,
        kind: NatKind = "port-restricted",
        *,
        mapping_timeout: float = 120.0,
        preserve_ports: bool = False,
    ) -> MemoryNat:
        """A NAT owning ``public_ip``; place hosts behind it with ``add_host(..., nat=...)``.

        ``preserve_ports`` keeps the private port as the public one when it is free (Linux
        masquerade does so); otherwise public ports are allocated from 20000 upwards."""
        if public_ip in self._nats or (None, public_ip) in self._address_owners:
            raise OSError(errno.EADDRINUSE, f"address {public_ip} is already in use")
        nat = MemoryNat(public_ip, kind, mapping_timeout, preserve_ports)
        self._nats[public_ip] = nat
        return nat

    def add_host(
        self,
        addresses: Iterable[str],
        *,
        ports: Sequence[int] = (0,),
        nat: MemoryNat | None = None,
        lan: str | None = None,
        latency: float | None = None,
        loss: float | None = None,
        queue_size: int | None = None,
    ) -> MemoryHost:
        """A host bound to every ``(address, port)`` pair; port 0 is chosen by the network.

        Addresses belong to the public space, or to ``nat``'s private space. Raises ``OSError``
        (EADDRINUSE) when an address or endpoint is taken."""
        realm: _Realm = nat
        address_list = [str(ipaddress.ip_address(address)) for address in addresses]
        if not address_list:
            raise ValueError("a host needs at least one address")
        for address in address_list:
            if (realm, address) in self._address_owners or (realm is None and address in self._nats):
                raise OSError(errno.EADDRINUSE, f"address {address} is already in use")
        endpoints = [
            (address, port if port else self._allocate_port(realm, address))
            for address in address_list
            for port in ports
        ]
        if len(set(endpoints)) != len(endpoints):
            raise OSError(errno.EADDRINUSE, f"duplicate endpoints in {endpoints}")
        host = MemoryHost(
            self,
            len(self._hosts),
            endpoints,
            nat,
            lan,
            latency,
            loss,
            self.queue_size if queue_size is None else queue_size,
        )
        self._hosts.append(host)
        for address in address_list:
            self._address_owners[(realm, address)] = host
        for endpoint in endpoints:
            self._bindings[(realm, endpoint)] = host
        if lan is not None:
            self._lans.setdefault(lan, []).append(host)
        return host

    def _allocate_port(self, realm: _Realm, address: str) -> int:
        port = self._next_port.get((realm, address), _EPHEMERAL_PORTS[0])
        self._next_port[(realm, address)] = port + 1
        if port > _EPHEMERAL_PORTS[1]:
            raise OSError(errno.EADDRNOTAVAIL, f"no free port on {address}")
        return port

    def remove_host(self, host: MemoryHost) -> None:
        """Kill ``host``: it is unbound, its queue is emptied, and datagrams it sends or that are
        addressed to it are dropped silently from now on. Pending receives keep waiting."""
        if not host.alive:
            return
        host.alive = False
        realm: _Realm = host.nat
        for endpoint in host._endpoints:
            self._bindings.pop((realm, endpoint), None)
            self._address_owners.pop((realm, endpoint[0]), None)
        if host.lan is not None:
            self._lans[host.lan].remove(host)
        host._discard_queue()

    def set_link(
        self,
        a: str,
        b: str,
        *,
        latency: float | None = None,
        loss: float | None = None,
        both_ways: bool = True,
    ) -> None:
        """Latency and loss for datagrams from address ``a`` (the sender's own address) to
        address ``b`` (as addressed: a NAT's public IP covers every host behind it)."""
        parameters = _LinkParameters(
            self.latency if latency is None else latency, self.loss if loss is None else loss
        )
        self._links[(a, b)] = parameters
        if both_ways:
            self._links[(b, a)] = parameters

    @property
    def hosts(self) -> Sequence[MemoryHost]:
        """Every host ever added, in order (removed ones have ``alive == False``)."""
        return tuple(self._hosts)

    def statistics(self) -> MemoryNetworkStatistics:
        """Counters since the network was created."""
        return MemoryNetworkStatistics(
            sent=self._sent,
            delivered=self._delivered,
            lost=self._lost,
            filtered=self._filtered,
            unroutable=self._unroutable,
            overflowed=self._overflowed,
            in_flight=len(self._heap),
        )

    # ---- sending ----------------------------------------------------------------------------

    def _send(self, host: MemoryHost, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        self._sent += 1
        if not host.alive:
            self._unroutable += 1
            return
        if local not in host._endpoints:
            logger.warning("%r cannot send from %s: not bound", host, local)
            self._unroutable += 1
            return
        destination_ip = destination[0]
        if _is_ipv6(destination_ip) != _is_ipv6(local[0]):
            logger.debug("%r: %s cannot reach %s (address family)", host, local, destination)
            self._unroutable += 1
            return
        now = trio.current_time()
        source = local
        realm: _Realm = host.nat
        broadcast = _is_broadcast(destination_ip)
        if host.nat is not None and not broadcast and (host.nat, destination_ip) not in self._address_owners:
            source = host.nat.outbound(local, destination, now)
            realm = None
        link = self._links.get((local[0], destination_ip))
        latency = link.latency if link else (self.latency if host.latency is None else host.latency)
        loss = link.loss if link else (self.loss if host.loss is None else host.loss)
        if loss > 0.0 and host.random.random() < loss:
            self._lost += 1
            return
        if self.jitter > 0.0:
            latency += host.random.uniform(0.0, self.jitter)
        item: _InFlight = (
            now + latency,
            next(self._order),
            data,
            source,
            destination,
            realm,
            host.lan if broadcast else None,
        )
        self._schedule(item)

    def _schedule(self, item: _InFlight) -> None:
        if item[0] <= trio.current_time() and not self._heap:
            self._arrive(item, item[0])  # nothing can come before it: deliver now
            return
        self._ensure_scheduler()
        heapq.heappush(self._heap, item)
        if self._heap[0] is item and self._wakeup is not None:
            self._wakeup.set()

    def _ensure_scheduler(self) -> None:
        run = trio.lowlevel.current_root_task()
        if self._scheduler_run is run:
            return
        self._scheduler_run = run
        self._heap.clear()  # anything left from an earlier trio run cannot be delivered
        self._wakeup = trio.Event()
        trio.lowlevel.spawn_system_task(self._run_scheduler, name="MemoryNetwork scheduler")

    async def _run_scheduler(self) -> None:
        while True:
            now = trio.current_time()
            while self._heap and self._heap[0][0] <= now:
                self._arrive(heapq.heappop(self._heap), now)
            self._wakeup = trio.Event()
            deadline = self._heap[0][0] if self._heap else math.inf
            with trio.move_on_at(deadline):
                await self._wakeup.wait()

    # ---- arriving ---------------------------------------------------------------------------

    def _arrive(self, item: _InFlight, now: float) -> None:
        _, _, data, source, destination, realm, lan = item
        if lan is not None:
            self._arrive_broadcast(data, source, destination, lan)
            return
        if realm is None and destination[0] in self._nats:
            nat = self._nats[destination[0]]
            private = nat.inbound(source, destination[1], now)
            if private is None:
                self._filtered += 1
                return
            realm, destination = nat, private
        host = self._bindings.get((realm, destination))
        if host is None:
            self._unroutable += 1
            return
        self._hand_over(host, Datagram(data, source, destination))

    def _arrive_broadcast(self, data: bytes, source: Endpoint, destination: Endpoint, lan: str) -> None:
        family_v6 = _is_ipv6(destination[0])
        port = destination[1]
        for host in self._lans.get(lan, ()):
            for local in host._endpoints:
                if local[1] == port and _is_ipv6(local[0]) == family_v6:
                    self._hand_over(host, Datagram(data, source, local))
                    break

    def _hand_over(self, host: MemoryHost, datagram: Datagram) -> None:
        if host._deliver(datagram):
            self._delivered += 1
        else:
            self._overflowed += 1
