"""Attack generators, honest traffic and measurements for the "node under attack" scenarios.

Everything here speaks to a :class:`~peernet_proto.PeerEngine` through its public API only
(``receive_datagram``/``handle_timer``/``datagrams_to_send``/``events``/``peers()``/``counters``),
so the same scenarios keep working while the engine is restructured and its defences are built.

Two parts:

* **Generators** (:class:`Identities`, :func:`sybil_flood`, :func:`expensive_announcement`,
  :func:`replay_flood`, :func:`traverse_flood`, :func:`eclipse_stream`, :class:`ObservedAddressLiars`):
  plain objects that produce encrypted, validly signed datagrams ``(data, source)`` addressed to
  the victim's key. They do not care how the datagrams travel: the in-memory :class:`Lab` below
  and the real-UDP attacker processes (``netns_agent.py``) use the same ones.
* **The lab** (:class:`Lab`): the victim engine, honest engines (a pinging :class:`GoodPeer`,
  joining :class:`Newcomer` s) and attack streams on a virtual clock. The victim is modelled as one
  CPU behind a bounded receive buffer: every ``receive_datagram``/``handle_timer`` call is timed
  (process CPU time) and occupies the victim for that long times ``cpu_scale``, so an expensive
  packet delays everything behind it and a full buffer drops packets, as on a real socket. Scaling
  a scenario down by ``k`` divides the rates and the table limits by ``k`` and multiplies the
  CPU cost by ``k``: utilisation and table pressure stay those of the full-size attack.
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import itertools
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence

import attrs

from peernet_proto import (
    Announcement,
    EngineConfig,
    EngineLimits,
    ExtensionType,
    Feature,
    Packet,
    PeerEngine,
    PongReceived,
    PrivateKey,
    PublicKey,
    Response,
    ResponseReceived,
    Traverse,
    decode_message,
    decode_packet,
    encode_extensions,
    encode_packet,
)
from peernet_proto.wire import encode_observed_address

__all__ = [
    "GOOD_PEER",
    "NODE_V4",
    "NODE_V6",
    "Datagram",
    "GoodPeer",
    "Identities",
    "Lab",
    "Newcomer",
    "ObservedAddressLiars",
    "Outcome",
    "Stream",
    "eclipse_stream",
    "expensive_announcement",
    "hello",
    "honest_engine",
    "honest_key",
    "ipv4_sources",
    "ipv6_sources",
    "node_key",
    "replay_flood",
    "run_attack",
    "scaled_limits",
    "seal",
    "shared_identities",
    "sybil_flood",
    "tracemalloc_growth",
    "traverse_flood",
]

Endpoint = tuple[str, int]
Datagram = tuple[bytes, Endpoint]  # encrypted packet and the source address it is sent from

# Addresses of the in-memory lab (they never leave the process; public-looking on purpose so that
# the victim puts them into peer records, as it would on the Internet).
NODE_V4: Endpoint = ("44.1.0.1", 5000)
NODE_V6: Endpoint = ("2a00:1:1::1", 5000)
GOOD_PEER: Endpoint = ("44.2.0.1", 6000)
NEWCOMER_NET = "44.3.0."
GOOD_SEED = 11
ANSWER_WITHIN = 1.0  # a ping answered later than this counts as lost


# ---- identities ------------------------------------------------------------------------------


class Identities:
    """A reusable pool of private keys (generated once per test session and cached)."""

    def __init__(self, size: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.keys = [PrivateKey(rng.randbytes(31) + b"\x01") for _ in range(size)]
        self._next = 0

    def take(self, count: int) -> list[PrivateKey]:
        """``count`` keys not handed out before (wrapping around when the pool is used up)."""
        out = [self.keys[(self._next + i) % len(self.keys)] for i in range(count)]
        self._next += count
        return out

    def nearest(self, target: bytes, count: int) -> list[PrivateKey]:
        """The ``count`` keys of the pool whose node IDs are XOR-closest to ``target``."""
        goal = int.from_bytes(target, "big")
        return sorted(self.keys, key=lambda k: int.from_bytes(k.public_key.node_id, "big") ^ goal)[:count]


@functools.cache
def shared_identities(size: int = 12_000) -> Identities:
    """One pool per process: key generation is the costly part of building floods."""
    return Identities(size)


@functools.cache
def node_key() -> PrivateKey:
    """The victim's key (fixed, so generated packets can be cached across tests)."""
    return PrivateKey(bytes(range(1, 33)))


def ipv4_sources(count: int, prefix: str = "45.0.0.0/16", port: int = 7000) -> list[Endpoint]:
    """``count`` distinct IPv4 source addresses from ``prefix``."""
    hosts = ipaddress.ip_network(prefix).hosts()
    return [(str(h), port) for h in itertools.islice(hosts, count)]


def ipv6_sources(count: int, prefix: str = "2a00:66:1:2::/64", port: int = 7000, seed: int = 0) -> list[Endpoint]:
    """``count`` random addresses inside one IPv6 /64: what a single attacker holds."""
    network = ipaddress.IPv6Network(prefix)
    rng = random.Random(seed)
    base = int(network.network_address)
    return [(str(ipaddress.IPv6Address(base + rng.getrandbits(64))), port) for _ in range(count)]


def seal(key: PrivateKey, receiver: PublicKey, message: Announcement | Response | Traverse, sequence: int) -> bytes:
    """One encrypted, signed packet carrying ``message`` (which must fit one payload)."""
    (payload,) = message.encode()
    return encode_packet(Packet(0, message.COMMAND, sequence, payload), sender=key, receiver=receiver)


def hello(port: int, find_self: bool = True) -> Announcement:
    """A plain first Announcement as a reference node sends it (FIND_SELF, user agent)."""
    return Announcement(
        features=int(Feature.IPV4_LISTEN | Feature.IPV6_LISTEN),
        user_agent="Peernet Core/0.1",
        find_self=find_self,
        port_internal=port,
    )


# ---- attack streams ----------------------------------------------------------------------------


@attrs.define
class Stream:
    """``rate`` datagrams a second from ``start`` to ``stop``, the i-th made by ``make(i)``."""

    make: Callable[[int], Sequence[Datagram]]
    rate: float
    start: float
    stop: float
    sent: int = 0
    bytes_sent: int = 0

    def due(self, t0: float, t1: float) -> Iterator[Datagram]:
        """The datagrams due in ``[t0, t1)``."""
        lo, hi = max(t0, self.start), min(t1, self.stop)
        if hi <= lo:
            return
        first = int((lo - self.start) * self.rate)
        last = int((hi - self.start) * self.rate)
        for index in range(first, last):
            for datagram in self.make(index):
                self.sent += 1
                self.bytes_sent += len(datagram[0])
                yield datagram


def sybil_flood(
    pool: Identities, victim: PublicKey, sources: Sequence[Endpoint], *, find_self: bool = True
) -> Callable[[int], Sequence[Datagram]]:
    """Validly signed first Announcements, each from a fresh identity, round-robin over ``sources``
    (``find_self=False``: without the FIND_SELF lookup, the cheapest valid first packet)."""
    keys: dict[int, PrivateKey] = {}

    def make(index: int) -> Sequence[Datagram]:
        key = keys.pop(index, None) or pool.take(1)[0]
        source = sources[index % len(sources)]
        return [(seal(key, victim, hello(source[1], find_self), index & 0xFFFFFFFF), source)]

    return make


def expensive_announcement(key: PrivateKey, victim: PublicKey, count: int = 2040, port: int = 7000) -> bytes:
    """One valid ~65 KB Announcement asking for ``count`` peers (FIND_PEER)."""
    rng = random.Random(7)
    message = Announcement(
        features=int(Feature.IPV4_LISTEN), find_peer=tuple(rng.randbytes(32) for _ in range(count)), port_internal=port
    )
    return seal(key, victim, message, 1)


def replay_flood(packet: bytes, sources: Sequence[Endpoint]) -> Callable[[int], Sequence[Datagram]]:
    """The same captured packet again and again (from ``sources`` in turn)."""
    return lambda index: [(packet, sources[index % len(sources)])]


def traverse_flood(
    pool: Identities,
    victim: PublicKey,
    target: PublicKey,
    sources: Sequence[Endpoint],
    *,
    per_signer: int = 30,
    embedded_size: int = 60_000,
    expires: int = 2**31,
) -> Callable[[int], Sequence[Datagram]]:
    """Throwaway signers ask the victim to relay big Traverse packets to ``target``: each signer
    introduces itself (one Announcement) and then sends ``per_signer`` Traverses."""
    embedded = random.Random(3).randbytes(embedded_size)
    current: dict[str, object] = {}

    def make(index: int) -> Sequence[Datagram]:
        signer, slot = divmod(index, per_signer + 1)
        source = sources[signer % len(sources)]
        if slot == 0:
            key = pool.take(1)[0]
            traverse = Traverse.create(key, target, victim, expires, embedded)
            current["key"], current["packet"] = key, seal(key, victim, traverse, 0)
            return [(seal(key, victim, hello(source[1]), signer & 0xFFFFFFFF), source)]
        packet = current["packet"]
        assert isinstance(packet, bytes)
        return [(packet, source)]

    return make


def eclipse_stream(
    keys: Sequence[PrivateKey], victim: PublicKey, sources: Sequence[Endpoint]
) -> Callable[[int], Sequence[Datagram]]:
    """Identities chosen near a target (see :meth:`Identities.nearest`) joining one after another."""
    return lambda index: [
        (
            seal(keys[index % len(keys)], victim, hello(sources[index % len(sources)][1]), index),
            sources[index % len(sources)],
        )
    ]


class ObservedAddressLiars:
    """Throwaway identities, each at its own address, answering every Announcement of the victim with
    a Response that reports a made-up "observed address" for it (the reachability vote)."""

    def __init__(
        self, keys: Sequence[PrivateKey], sources: Sequence[Endpoint], claimed: Callable[[int], Endpoint]
    ) -> None:
        self.by_endpoint = {source: (i, key) for i, (key, source) in enumerate(zip(keys, sources, strict=False))}
        self.claimed = claimed
        self.answered = 0

    def receive(self, data: bytes, source: Endpoint, destination: Endpoint) -> list[Datagram]:
        """A datagram the victim sent to ``destination``: the answer, if any."""
        entry = self.by_endpoint.get(destination)
        if entry is None:
            return []
        index, key = entry
        packet, sender = decode_packet(data, receiver=key.public_key)
        if not isinstance(decode_message(packet.command, packet.payload), Announcement):
            return []
        extension = encode_extensions({ExtensionType.OBSERVED_ADDRESS: encode_observed_address(self.claimed(index))})
        response = Response(features=int(Feature.IPV4_LISTEN | Feature.EXTENSIONS), extension=extension)
        (payload,) = response.encode()
        payload = payload[:19] + destination[1].to_bytes(2, "little") + payload[21:]  # port_internal
        self.answered += 1
        return [
            (
                encode_packet(Packet(0, response.COMMAND, packet.sequence, payload), sender=key, receiver=sender),
                destination,
            )
        ]


# ---- honest participants -----------------------------------------------------------------------


def honest_key(seed: int) -> PrivateKey:
    """The key of the honest engine made with ``seed`` (an on-path attacker knows its packets)."""
    return PrivateKey(random.Random(seed).randbytes(31) + b"\x02")


def honest_engine(endpoint: Endpoint, seed: int) -> PeerEngine:
    """An ordinary engine at ``endpoint`` (no local discovery)."""
    engine = PeerEngine(honest_key(seed), EngineConfig(local_discovery=False), rng=random.Random(seed))
    engine.set_local_endpoints([endpoint], 0.0)
    return engine


@attrs.define
class Ping:
    """One ping of the good peer: when it was sent and its round-trip time (None: unanswered)."""

    sent_at: float
    rtt: float | None = None


class GoodPeer:
    """An honest peer that joins the victim and pings it every ``interval`` seconds."""

    def __init__(
        self,
        victim: PublicKey,
        endpoint: Endpoint = GOOD_PEER,
        interval: float = 0.5,
        seed: int = GOOD_SEED,
        node: Endpoint = NODE_V4,
    ) -> None:
        self.engine = honest_engine(endpoint, seed)
        self.node = node
        self.endpoint = endpoint
        self.victim = victim
        self.interval = interval
        self.pings: list[Ping] = []
        self._outstanding: dict[float, Ping] = {}
        self._next = 0.0

    def start(self, now: float) -> None:
        """The Go-style first contact: an Announcement that the Response answers."""
        self.engine.contact(self.victim, [self.node], now, follow=False)
        self._next = now + 1.0

    def act(self, now: float) -> None:
        """Ping when due and collect answers."""
        for event in self.engine.events():
            if isinstance(event, PongReceived):
                self._match(now - event.rtt, event.rtt)
        if self.engine.peer(self.victim) is None and now >= self._next:
            self.start(now)  # the first Announcement was lost: try again a second later
        elif now >= self._next:
            self._next = now + self.interval
            if self.engine.ping(self.victim, now) is not None:
                ping = Ping(now)
                self.pings.append(ping)
                self._outstanding[now] = ping

    def _match(self, about: float, rtt: float) -> None:
        # A Pong carries no sequence: it answers the outstanding ping sent about ``about``.
        if not self._outstanding:
            return
        sent = min(self._outstanding, key=lambda at: abs(at - about))
        if abs(sent - about) < self.interval / 2:
            self._outstanding.pop(sent).rtt = rtt

    def answered(self, start: float, stop: float, within: float = ANSWER_WITHIN) -> float:
        """The share of pings sent in ``[start, stop)`` answered within ``within`` seconds (1.0 when
        none were sent)."""
        window = [p for p in self.pings if start <= p.sent_at < stop]
        return sum(p.rtt is not None and p.rtt <= within for p in window) / len(window) if window else 1.0

    def median_rtt(self, start: float, stop: float) -> float | None:
        """The median RTT of the answered pings sent in ``[start, stop)``."""
        rtts = [p.rtt for p in self.pings if start <= p.sent_at < stop and p.rtt is not None]
        return statistics.median(rtts) if rtts else None

    def recovered_at(
        self, after: float, until: float = float("inf"), rtt_limit: float = ANSWER_WITHIN
    ) -> float | None:
        """The send time of the first ping after ``after`` from which on every ping was answered
        within ``rtt_limit``; None if the last one still was not. Pings sent less than ``rtt_limit``
        before ``until`` (the end of the run) had no time to be answered and do not count."""
        good_from: float | None = None
        for ping in self.pings:
            if ping.sent_at < after or ping.sent_at > until - rtt_limit:
                continue
            ok = ping.rtt is not None and ping.rtt <= rtt_limit
            if ok and good_from is None:
                good_from = ping.sent_at
            elif not ok:
                good_from = None
        return good_from


class Newcomer:
    """A fresh node that joins the victim (one-packet Announcement → Response) and then asks it
    for the good peer (FIND_PEER); records whether it was told the good peer's real address."""

    def __init__(
        self,
        victim: PublicKey,
        endpoint: Endpoint,
        wanted: PublicKey,
        wanted_at: Endpoint,
        seed: int,
        node: Endpoint = NODE_V4,
    ) -> None:
        self.node = node
        self.engine = honest_engine(endpoint, seed)
        self.endpoint = endpoint
        self.victim, self.wanted, self.wanted_at = victim, wanted, wanted_at
        self.joined = False
        self.told: Endpoint | None = None  # the address the victim reported for the good peer
        self.asked = False
        self.answered = False
        self.joining: set[int] = set()  # sequences of the first contact
        self.finding: int | None = None  # sequence of the request for the good peer

    def start(self, now: float) -> None:
        """Send the first Announcement."""
        self.joining = set(self.engine.contact(self.victim, [self.node], now, follow=False))

    def act(self, now: float) -> None:
        """Ask for the good peer once joined; read the answer."""
        for event in self.engine.events():
            if isinstance(event, ResponseReceived) and event.sequence in self.joining:
                self.joined = True
            elif isinstance(event, ResponseReceived) and event.sequence == self.finding:
                self.answered = True
                for entry in event.response.hash2peers:
                    for record in entry.closest + entry.storing:
                        if record.public_key == self.wanted and int(record.ipv4):
                            self.told = (str(record.ipv4), record.ipv4_port)
        if self.joined and not self.asked:
            self.asked = True
            self.finding = self.engine.request(
                self.victim, Announcement(features=self.engine.features, find_peer=(self.wanted.node_id,)), now
            )

    @property
    def told_truth(self) -> bool:
        """Told the good peer's real address."""
        return self.told == self.wanted_at


# ---- the lab -------------------------------------------------------------------------------------

_SKB_OVERHEAD = 512  # bytes a queued datagram costs in a socket buffer beyond its payload


def scaled_limits(scale: int) -> EngineLimits:
    """The default limits with the tables divided by ``scale`` (per-peer and per-address limits kept)."""
    defaults = EngineLimits()
    return attrs.evolve(
        defaults, max_peers=defaults.max_peers // scale, max_pending_requests=defaults.max_pending_requests // scale
    )


class Lab:
    """The victim engine on a virtual clock with honest engines and attack streams around it.

    ``scale`` divides rates (the caller's) and table limits (here) and multiplies measured CPU time;
    ``rcvbuf`` is the victim's receive buffer in bytes (Linux's default); ``latency`` one way."""

    def __init__(
        self,
        *,
        scale: int = 10,
        step: float = 0.01,
        latency: float = 0.005,
        rcvbuf: int = 212_992,
        limits: EngineLimits | None = None,
    ) -> None:
        self.scale, self.step, self.latency, self.rcvbuf = scale, step, latency, rcvbuf
        config = EngineConfig(local_discovery=False, limits=limits or scaled_limits(scale))
        self.node = PeerEngine(node_key(), config, rng=random.Random(5))
        self.node.set_local_endpoints([NODE_V4, NODE_V6], 0.0)
        self.now = 0.0
        self.busy_until = 0.0
        self.cpu_seconds = 0.0  # measured CPU time of the victim's calls (not scaled)
        self.rx: collections.deque[tuple[float, bytes, Endpoint]] = collections.deque()
        self.rx_bytes = 0
        self.rx_dropped = 0
        self.hosts: dict[Endpoint, PeerEngine] = {}
        self.actors: list[GoodPeer | Newcomer] = []
        self.streams: list[Stream] = []
        self.liars: ObservedAddressLiars | None = None
        self.event_handlers: list[Callable[[object, float], None]] = []
        self.sent_to: collections.Counter[Endpoint] = collections.Counter()  # bytes the victim sent
        self.packets_to: collections.Counter[Endpoint] = collections.Counter()  # datagrams the victim sent
        self.samples: list[tuple[float, int]] = []  # (time, peer table size) each virtual second
        self.taps: list[Callable[[bytes, Endpoint, Endpoint], None]] = []  # see every datagram sent
        self._inflight: list[tuple[float, int, bytes, Endpoint, Endpoint]] = []
        self._order = itertools.count()

    # ---- building a scenario ----

    def add(self, actor: GoodPeer | Newcomer, at: float | None = None) -> None:
        """An honest participant; it starts now (or at ``at``)."""
        self.hosts[actor.endpoint] = actor.engine
        self.actors.append(actor)
        actor.start(self.now if at is None else at)

    def attack(self, make: Callable[[int], Sequence[Datagram]], rate: float, start: float, duration: float) -> Stream:
        """Send ``rate`` datagrams a second (scale them yourself) for ``duration`` seconds from ``start``."""
        stream = Stream(make, rate, start, start + duration)
        self.streams.append(stream)
        return stream

    # ---- running ----

    def run_until(self, end: float) -> None:
        """Advance the virtual clock to ``end``."""
        while self.now < end - 1e-9:
            t0, t1 = self.now, self.now + self.step
            self._deliver(t1)
            for stream in self.streams:
                for data, source in stream.due(t0, t1):
                    self._enqueue(t0, data, source)
            self._run_victim(t1)
            for actor in self.actors:
                actor.act(t0)
            for engine in self.hosts.values():
                engine.handle_timer(t0)
                for out in engine.datagrams_to_send():
                    self._send(t0 + self.latency, out.data, out.local, out.destination)
            if int(t1) != int(t0):
                self.samples.append((t1, len(self.node)))
            self.now = t1

    def _send(self, at: float, data: bytes, source: Endpoint, destination: Endpoint) -> None:
        for tap in self.taps:
            tap(data, source, destination)
        self._inflight.append((at, next(self._order), data, source, destination))

    def _deliver(self, until: float) -> None:
        due = [item for item in self._inflight if item[0] < until]
        if not due:
            return
        self._inflight = [item for item in self._inflight if item[0] >= until]
        for at, _, data, source, destination in sorted(due):
            if destination in (NODE_V4, NODE_V6):
                self._enqueue(at, data, source)
            elif destination in self.hosts:
                self.hosts[destination].receive_datagram(data, source, destination, at)
            elif self.liars is not None:
                for answer, origin in self.liars.receive(data, source, destination):
                    self._send(at + self.latency, answer, origin, source)

    def _enqueue(self, at: float, data: bytes, source: Endpoint) -> None:
        size = len(data) + _SKB_OVERHEAD
        if self.rx_bytes + size > self.rcvbuf:
            self.rx_dropped += 1
            return
        self.rx.append((at, data, source))
        self.rx_bytes += size

    def _timed(self, call: Callable[..., None], arguments: tuple[object, ...], start: float) -> float:
        began = time.process_time()
        call(*arguments)
        cost = time.process_time() - began
        self.cpu_seconds += cost
        finished = start + cost * self.scale
        for out in self.node.datagrams_to_send():
            self.sent_to[out.destination] += len(out.data)
            self.packets_to[out.destination] += 1
            self._send(finished + self.latency, out.data, out.local, out.destination)
        for event in self.node.events():
            for handler in self.event_handlers:
                handler(event, finished)
        return finished

    def _run_victim(self, until: float) -> None:
        node = self.node
        while True:
            deadline = node.next_deadline()
            start = max(self.busy_until, self.rx[0][0] if self.rx else until)
            if deadline is not None and deadline <= min(start, until) and self.busy_until < until:
                at = max(self.busy_until, deadline)
                self.busy_until = self._timed(node.handle_timer, (at,), at)
                continue
            if not self.rx or start >= until:
                return
            _arrival, data, source = self.rx.popleft()
            self.rx_bytes -= len(data) + _SKB_OVERHEAD
            local = NODE_V6 if ":" in source[0] else NODE_V4
            self.busy_until = self._timed(node.receive_datagram, (data, source, local, start), start)

    # ---- measurements ----

    def relayed_bytes(self, destination: Endpoint) -> int:
        """Bytes the victim sent to ``destination``."""
        return self.sent_to[destination]

    def peer_table_peak(self) -> int:
        """The largest peer table size sampled."""
        return max((size for _, size in self.samples), default=len(self.node))


def tracemalloc_growth(run: Callable[[], None]) -> int:
    """Bytes of memory (traced Python allocations) still held after ``run()``, beyond those before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        run()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before


@attrs.frozen
class Outcome:
    """What an attack did to the victim, as the issue's targets measure it."""

    answered_before: float  # share of the good peer's pings answered before the attack
    answered_during: float
    answered_after: float  # from 5 s after the attack stopped
    rtt_during: float | None  # median, seconds
    rtt_after: float | None
    recovery: float  # seconds from the end of the attack until every ping is answered (inf: never)
    newcomers: int  # newcomers that tried to join during the attack
    joined: int  # ... whose first Announcement was answered (the one-packet connection)
    told_truth: int  # ... who were told the good peer's real address
    relayed_to_good: int  # bytes the victim sent to the good peer during and after the attack
    peers_peak: int
    cpu_seconds: float  # the victim's CPU time (measured, not scaled)
    rx_dropped: int


def run_attack(
    lab: Lab, good: GoodPeer, start: float, duration: float, *, after: float = 8.0, newcomer_every: float = 1.0
) -> Outcome:
    """Run the lab (attack streams already added) until ``after`` seconds past the attack, with a
    newcomer joining every ``newcomer_every`` seconds during the attack."""
    stop = start + duration
    lab.run_until(start)
    sent_before = lab.sent_to[good.endpoint]
    newcomers = []
    for index in range(int(duration / newcomer_every)):
        at = start + index * newcomer_every
        lab.run_until(at)
        newcomer = Newcomer(
            lab.node.public_key,
            (NEWCOMER_NET + str(index + 1), 6000),
            good.engine.public_key,
            good.endpoint,
            seed=100 + index,
        )
        lab.add(newcomer)
        newcomers.append(newcomer)
    lab.run_until(stop + after)
    recovered = good.recovered_at(stop, until=stop + after)
    return Outcome(
        answered_before=good.answered(1.0, start),
        answered_during=good.answered(start, stop),
        answered_after=good.answered(stop + 5.0, stop + after),
        rtt_during=good.median_rtt(start, stop),
        rtt_after=good.median_rtt(stop + 5.0, stop + after),
        recovery=float("inf") if recovered is None else max(0.0, recovered - stop),
        newcomers=len(newcomers),
        joined=sum(n.joined for n in newcomers),
        told_truth=sum(n.told_truth for n in newcomers),
        relayed_to_good=lab.sent_to[good.endpoint] - sent_before,
        peers_peak=lab.peer_table_peak(),
        cpu_seconds=lab.cpu_seconds,
        rx_dropped=lab.rx_dropped,
    )
