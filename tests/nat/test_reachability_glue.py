"""peernet.ReachabilityMonitor on sans-IO engines: the addresses peers report, and port mappings,
set the FIREWALL bit and the external port, and peers see the result in Announcements and in the
records they give out."""

from __future__ import annotations

import ipaddress
import random

import pytest
import trio
import trio.testing

from peernet import REANNOUNCE, ReachabilityMonitor
from peernet_nat import (
    MappingEvent,
    MappingEventKind,
    MappingMethod,
    MappingRequest,
    PortMapping,
    ReachabilityClass,
    ReachabilityTracker,
    TransportProtocol,
)
from peernet_proto import (
    Announcement,
    Endpoint,
    EngineConfig,
    EngineRunner,
    Feature,
    MessageReceived,
    PeerEngine,
    PeerRecord,
    PrivateKey,
    ResponseReceived,
    RootPeer,
    needs_traverse,
    record_endpoints,
)
from peernet_proto.testing import MemoryNetwork

LAN = ("192.168.1.10", 4000)
NAT_IP = "11.0.0.1"
PEERS = [(f"11.0.0.{50 + i}", 112) for i in range(3)]


class NatSwitch:
    """Datagrams between engines; an engine added ``behind`` a NAT is translated: ``cone`` keeps
    one public port per private endpoint (its own port), ``symmetric`` takes a new one per
    destination. Inbound packets reach whatever a public endpoint is mapped to (no filtering)."""

    def __init__(self) -> None:
        self.engines: dict[Endpoint, PeerEngine] = {}
        self.inbound: dict[Endpoint, Endpoint] = {}  # public endpoint -> private endpoint
        self._nat: dict[Endpoint, tuple[str, str]] = {}
        self._outbound: dict[tuple[Endpoint, Endpoint | None], Endpoint] = {}
        self._next_port = 30000

    def add(
        self, local: Endpoint, *, behind: str | None = None, kind: str = "cone", firewall: bool = False
    ) -> PeerEngine:
        config = EngineConfig(local_discovery=False, firewall=firewall)
        engine = PeerEngine(PrivateKey.generate(), config, rng=random.Random(len(self.engines)))
        engine.set_local_endpoints([local], 0.0)
        self.engines[local] = engine
        if behind is not None:
            self._nat[local] = (behind, kind)
        return engine

    def _source(self, local: Endpoint, destination: Endpoint) -> Endpoint:
        if local not in self._nat:
            return local
        public_ip, kind = self._nat[local]
        key = (local, destination if kind == "symmetric" else None)
        if key not in self._outbound:
            port = local[1] if kind == "cone" else self._next_port
            self._next_port += 1
            self._outbound[key] = (public_ip, port)
            self.inbound[(public_ip, port)] = local
        return self._outbound[key]

    def pump(self, now: float, monitors: dict[PeerEngine, ReachabilityMonitor] | None = None) -> None:
        monitors = monitors or {}
        moved = True
        while moved:
            moved = False
            for engine in list(self.engines.values()):
                engine.handle_timer(now)
                if engine in monitors:
                    for event in engine.events():
                        monitors[engine].handle_event(event, now)
                for out in engine.datagrams_to_send():
                    moved = True
                    destination = self.inbound.get(out.destination, out.destination)
                    target = self.engines.get(destination)
                    if target is not None:
                        target.receive_datagram(out.data, self._source(out.local, out.destination), destination, now)


def network(*, kind: str = "cone", firewall: bool = False, public: bool = False):
    switch = NatSwitch()
    local = (NAT_IP, 4000) if public else LAN
    node = switch.add(local, behind=None if public else NAT_IP, kind=kind, firewall=firewall)
    peers = [switch.add(endpoint) for endpoint in PEERS]
    monitor = ReachabilityMonitor(node)
    return switch, node, peers, monitor


def meet(
    switch: NatSwitch, node: PeerEngine, peers: list[PeerEngine], monitor: ReachabilityMonitor, now: float = 1.0
) -> None:
    """The node introduces itself to every peer; their Responses tell it where they see it."""
    for peer, endpoint in zip(peers, PEERS, strict=False):
        node.contact(peer.public_key, [endpoint], now)
    switch.pump(now, {node: monitor})


def mapping(now: float, lifetime: int = 600, external_ip: str = NAT_IP, port: int = 4100) -> PortMapping:
    return PortMapping(
        MappingMethod.UPNP, TransportProtocol.UDP, ipaddress.ip_address(LAN[0]), LAN[1],
        ipaddress.ip_address(external_ip), port, lifetime, now,
    )


def mapped(kind: MappingEventKind, value: PortMapping) -> MappingEvent:
    return MappingEvent(kind, MappingRequest(TransportProtocol.UDP, LAN[1]), value)


def record_from(
    asker: PeerEngine, relay: PeerEngine, relay_endpoint: Endpoint, target: PeerEngine, switch: NatSwitch, now: float
) -> PeerRecord:
    """What ``relay`` tells ``asker`` about ``target`` (FIND_PEER)."""
    sequence = asker.request(
        relay.public_key, Announcement(features=asker.features, find_peer=[target.public_key.node_id]),
        now, endpoints=[relay_endpoint],
    )  # fmt: skip
    switch.pump(now)
    (event,) = [e for e in asker.events() if isinstance(e, ResponseReceived) and e.sequence == sequence]
    (record,) = [r for entry in event.response.hash2peers for r in entry.closest if r.public_key == target.public_key]
    return record


def seen_features(peer: PeerEngine, node: PeerEngine) -> int:
    info = peer.peer(node.public_key)
    assert info is not None
    return info.features


def announcements(peer: PeerEngine, node: PeerEngine) -> int:
    """How many Announcements ``peer`` received from ``node`` (consumes its events)."""
    return sum(
        1 for e in peer.events()
        if isinstance(e, MessageReceived) and e.peer == node.public_key and isinstance(e.message, Announcement)
    )


def test_cone_nat_without_mapping_sets_the_firewall_bit_and_peers_see_it() -> None:
    switch, node, peers, monitor = network()
    meet(switch, node, peers, monitor)
    reachability = monitor.reachability(LAN)
    assert reachability.classification is ReachabilityClass.NAT_CONSISTENT
    assert reachability.external_endpoint == (ipaddress.ip_address(NAT_IP), LAN[1])
    assert node.firewall and node.features & Feature.FIREWALL
    # every peer got an Announcement with the new bit at once
    assert all(seen_features(peer, node) & Feature.FIREWALL for peer in peers)
    assert [announcements(peer, node) for peer in peers] == [2, 2, 2]  # introduction, news
    assert node.statistics().unmatched_response == 0
    # and says so in the records it hands out: others know to punch
    asker = switch.add(("11.0.0.99", 112))
    record = record_from(asker, peers[0], PEERS[0], node, switch, 2.0)
    assert record.features & Feature.FIREWALL and needs_traverse(record)
    assert record.ipv4_port_external == 0 and record_endpoints(record) == [(NAT_IP, LAN[1])]


def test_symmetric_nat_sets_the_firewall_bit() -> None:
    switch, node, peers, monitor = network(kind="symmetric")
    meet(switch, node, peers, monitor)
    assert monitor.reachability(LAN).classification is ReachabilityClass.NAT_RANDOM
    assert node.firewall and all(seen_features(peer, node) & Feature.FIREWALL for peer in peers)


def test_a_mapping_reports_its_external_port_and_clears_the_firewall_bit() -> None:
    switch, node, peers, monitor = network()
    meet(switch, node, peers, monitor)
    assert node.firewall
    monitor.handle_mapping_event(mapped(MappingEventKind.MAPPED, mapping(2.0)), 2.0)
    switch.inbound[(NAT_IP, 4100)] = LAN  # what the gateway now forwards
    switch.pump(2.0, {node: monitor})
    assert monitor.reachability(LAN).classification is ReachabilityClass.MAPPED
    assert not node.firewall
    asker = switch.add(("11.0.0.99", 112))
    record = record_from(asker, peers[1], PEERS[1], node, switch, 3.0)
    assert not record.features & Feature.FIREWALL
    assert record.ipv4_port_external == 4100 and record_endpoints(record) == [(NAT_IP, 4100)]
    # (a mapped port other than the listening port still looks NATed to others, spec wire.md
    # §9.5: they add a Traverse to their direct request, which alone would do)
    assert needs_traverse(record)
    # the record's address works without hole punching
    sequence = asker.request(
        node.public_key, Announcement(features=asker.features), 3.0, endpoints=record_endpoints(record)
    )
    switch.pump(3.0)
    assert [e for e in asker.events() if isinstance(e, ResponseReceived) and e.sequence == sequence]

    # renewals change nothing; deleting the mapping brings the firewall bit back
    monitor.handle_mapping_event(mapped(MappingEventKind.RENEWED, mapping(300.0)), 300.0)
    assert monitor.reachability(LAN).classification is ReachabilityClass.MAPPED
    monitor.handle_mapping_event(mapped(MappingEventKind.REMOVED, mapping(300.0)), 301.0)
    switch.pump(301.0, {node: monitor})
    assert node.firewall and monitor.reachability(LAN).classification is ReachabilityClass.NAT_CONSISTENT
    record = record_from(asker, peers[2], PEERS[2], node, switch, 302.0)
    assert record.features & Feature.FIREWALL and record.ipv4_port_external == 0


def test_a_mapping_before_any_report_wins_at_once() -> None:
    switch, node, peers, monitor = network(firewall=True)
    monitor.handle_mapping_event(mapped(MappingEventKind.MAPPED, mapping(0.5)), 0.5)
    assert not node.firewall
    meet(switch, node, peers, monitor)  # the introductions carry the external port already
    assert monitor.reachability(LAN).classification is ReachabilityClass.MAPPED
    assert all(not seen_features(peer, node) & Feature.FIREWALL for peer in peers)


def test_failed_renewals_keep_the_mapping_until_it_expires() -> None:
    switch, node, peers, monitor = network()
    meet(switch, node, peers, monitor)
    monitor.handle_mapping_event(mapped(MappingEventKind.MAPPED, mapping(2.0, lifetime=10)), 2.0)
    monitor.handle_mapping_event(mapped(MappingEventKind.FAILED, mapping(2.0, lifetime=10)), 8.0)
    monitor.tick(9.0)
    assert not node.firewall
    for now in (13.0, 14.0, 15.0):  # expired: the reports decide again, after the hysteresis
        monitor.tick(now)
    assert node.firewall and monitor.reachability(LAN).classification is ReachabilityClass.NAT_CONSISTENT


def test_a_double_nat_mapping_is_not_used() -> None:
    switch, node, peers, monitor = network()
    meet(switch, node, peers, monitor)
    monitor.handle_mapping_event(mapped(MappingEventKind.MAPPED, mapping(2.0, external_ip="100.64.0.7")), 2.0)
    assert node.firewall and monitor.reachability(LAN).classification is ReachabilityClass.NAT_CONSISTENT


def test_a_public_host_clears_a_configured_firewall_bit() -> None:
    switch, node, peers, monitor = network(public=True, firewall=True)
    assert node.firewall
    meet(switch, node, peers, monitor)
    assert monitor.reachability((NAT_IP, 4000)).classification is ReachabilityClass.PUBLIC
    assert not node.firewall and all(not seen_features(peer, node) & Feature.FIREWALL for peer in peers)


@pytest.mark.parametrize("configured", [False, True])
def test_too_few_reports_leave_the_configuration_alone(configured: bool) -> None:
    switch, node, peers, monitor = network(firewall=configured)
    meet(switch, node, peers[:2], monitor)
    assert monitor.reachability(LAN).classification is ReachabilityClass.UNKNOWN
    assert node.firewall is configured
    assert [announcements(peer, node) for peer in peers[:2]] == [1, 1]  # the introduction only


def test_reports_of_private_addresses_come_from_the_lan_and_are_ignored() -> None:
    engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
    monitor = ReachabilityMonitor(engine, make_tracker=lambda: ReachabilityTracker(min_reporters=1))
    for i in range(5):
        monitor.observe(PrivateKey.generate().public_key, LAN, LAN, float(i))
        monitor.observe(PrivateKey.generate().public_key, ("fe80::1%eth0", 4000), ("fe80::2%eth0", 4000), float(i))
    assert monitor.current == {}
    assert not engine.firewall


def test_the_bit_is_set_when_any_socket_needs_punching() -> None:
    engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
    v6 = ("2a01:4f8::10", 4000)  # a global address (no traffic leaves the test)
    engine.set_local_endpoints([LAN, v6], 0.0)
    monitor = ReachabilityMonitor(engine)
    for i in range(3):
        reporter = PrivateKey.generate().public_key
        monitor.observe(reporter, v6, v6, float(i))
        assert not engine.firewall  # a public IPv6 socket alone: reachable
    for i in range(3):
        monitor.observe(PrivateKey.generate().public_key, (NAT_IP, 4000), LAN, 10.0 + i)
    assert monitor.reachability(v6).classification is ReachabilityClass.PUBLIC
    assert monitor.reachability(LAN).classification is ReachabilityClass.NAT_CONSISTENT
    assert engine.firewall


async def test_run_on_the_memory_network(autojump_clock: trio.testing.MockClock) -> None:
    """The trio shell: a node behind a port-restricted NAT bootstraps from three public roots;
    their reports set its FIREWALL bit, and the roots hear of it."""
    memory = MemoryNetwork(seed=3, latency=0.01)
    nat = memory.add_nat(NAT_IP, "port-restricted", preserve_ports=True)
    roots = []
    async with trio.open_nursery() as nursery:
        root_engines = []
        for endpoint in PEERS:
            engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
            await nursery.start(EngineRunner(engine, memory.add_host([endpoint[0]], ports=(endpoint[1],))).run)
            roots.append(RootPeer(engine.public_key, (endpoint,)))
            root_engines.append(engine)
        node = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False, root_peers=tuple(roots)))
        runner = EngineRunner(node, memory.add_host([LAN[0]], ports=(LAN[1],), nat=nat))
        changes = []
        monitor = ReachabilityMonitor(
            node, on_change=lambda local, change: changes.append((local, change.new.classification))
        )
        await nursery.start(runner.run)
        await nursery.start(lambda task_status: monitor.run(runner, map_ports=False, task_status=task_status))
        await trio.sleep(2.0)
        assert changes == [(LAN, ReachabilityClass.NAT_CONSISTENT)]
        assert node.firewall
        assert all(seen_features(root, node) & Feature.FIREWALL for root in root_engines)
        assert node.statistics().unmatched_response == 0
        nursery.cancel_scope.cancel()
    assert REANNOUNCE == "reachability announcement"
