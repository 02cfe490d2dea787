"""MemoryNetwork under trio's MockClock: latency, loss, NATs, removal, scale, broadcast."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from peernet_proto import Datagram, DatagramTransport, Endpoint
from peernet_proto.testing import MemoryHost, MemoryNat, MemoryNetwork, NatKind


async def receive_within(host: MemoryHost, seconds: float) -> Datagram | None:
    with trio.move_on_after(seconds):
        return await host.receive()
    return None


async def test_host_is_a_datagram_transport() -> None:
    network = MemoryNetwork()
    host = network.add_host(["10.0.0.1"], ports=(0, 112))
    assert isinstance(host, DatagramTransport)
    assert host.local_endpoints() == [("10.0.0.1", 49152), ("10.0.0.1", 112)]


async def test_latency_is_exact(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.25)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"], ports=(112,))
    await trio.sleep(3.0)
    start = trio.current_time()
    await a.send(b"hello", ("10.0.0.2", 112), a.local_endpoints()[0])
    received = await b.receive()
    assert trio.current_time() == start + 0.25
    assert received == Datagram(b"hello", ("10.0.0.1", 49152), ("10.0.0.2", 112))
    assert network.statistics().delivered == 1


async def test_link_and_host_settings_replace_the_default(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.01)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"], latency=0.5)
    c = network.add_host(["10.0.0.3"])
    network.set_link("10.0.0.1", "10.0.0.3", latency=2.0)

    async def delivered_after(sender: MemoryHost, receiver: MemoryHost, delay: float) -> bool:
        start = trio.current_time()
        await sender.send(b"x", receiver.local_endpoints()[0], sender.local_endpoints()[0])
        await receiver.receive()
        return trio.current_time() == start + delay

    assert await delivered_after(a, b, 0.01)
    assert await delivered_after(b, a, 0.5)  # the sender's own setting
    assert await delivered_after(a, c, 2.0)
    assert await delivered_after(c, a, 2.0)  # links are set both ways by default
    assert await delivered_after(b, c, 0.5)


async def test_jitter_stays_within_bounds_and_reorders(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.1, jitter=0.05, seed=3)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"])
    start = trio.current_time()
    for index in range(50):
        await a.send(bytes([index]), b.local_endpoints()[0], a.local_endpoints()[0])
    order = []
    for _ in range(50):
        datagram = await b.receive()
        assert 0.1 <= trio.current_time() - start < 0.15
        order.append(datagram.data[0])
    assert sorted(order) == list(range(50))
    assert order != list(range(50))


async def count_lost(seed: int, loss: float, count: int) -> int:
    network = MemoryNetwork(seed=seed, loss=loss, latency=0.001)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"], queue_size=count)
    for _ in range(count):
        await a.send(b"x", b.local_endpoints()[0], a.local_endpoints()[0])
    await trio.sleep(1.0)
    statistics = network.statistics()
    received = 0
    while await receive_within(b, 1.0) is not None:
        received += 1
    assert statistics.sent == count
    assert statistics.delivered == received == count - statistics.lost
    return statistics.lost


async def test_loss_rate_is_right_and_reproducible(autojump_clock: trio.testing.MockClock) -> None:
    lost = await count_lost(seed=7, loss=0.1, count=5000)
    assert 400 <= lost <= 600
    assert await count_lost(seed=7, loss=0.1, count=5000) == lost
    assert await count_lost(seed=8, loss=0.1, count=5000) != lost
    assert await count_lost(seed=7, loss=0.0, count=500) == 0


async def test_full_queue_drops_and_counts(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"], queue_size=2)
    for index in range(5):
        await a.send(bytes([index]), b.local_endpoints()[0], a.local_endpoints()[0])
    await trio.sleep(1.0)
    assert network.statistics().overflowed == 3
    assert b.dropped == 3
    assert [(await b.receive()).data for _ in range(2)] == [b"\x00", b"\x01"]


async def test_unbound_destination_and_wrong_family_are_unroutable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    network = MemoryNetwork()
    a = network.add_host(["10.0.0.1", "fd00::1"])
    await a.send(b"x", ("10.0.0.9", 1), ("10.0.0.1", 49152))
    await a.send(b"x", ("10.0.0.9", 1), ("fd00::1", 49152))
    await a.send(b"x", ("10.0.0.9", 1), ("10.0.0.7", 49152))  # not bound: dropped, no error
    await trio.sleep(1.0)
    assert network.statistics().unroutable == 3


async def test_taken_addresses_are_refused() -> None:
    network = MemoryNetwork()
    network.add_host(["10.0.0.1"])
    nat = network.add_nat("5.0.0.1")
    with pytest.raises(OSError):
        network.add_host(["10.0.0.1"])
    with pytest.raises(OSError):
        network.add_host(["5.0.0.1"])
    with pytest.raises(OSError):
        network.add_nat("10.0.0.1")
    network.add_host(["10.0.0.1"], nat=nat)  # another address space
    with pytest.raises(ValueError, match="NAT kind"):
        network.add_nat("5.0.0.2", "full")  # type: ignore[arg-type]


async def test_aclose_wakes_receivers_and_refuses_sends(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    a = network.add_host(["10.0.0.1"])
    async with trio.open_nursery() as nursery:

        async def receiver() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await a.receive()

        nursery.start_soon(receiver)
        await trio.sleep(1.0)
        await a.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await a.send(b"x", ("10.0.0.2", 1), ("10.0.0.1", 49152))


async def test_removed_host_drops_everything(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=1.0)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"])
    a_end, b_end = a.local_endpoints()[0], b.local_endpoints()[0]
    await a.send(b"queued", b_end, a_end)
    await a.send(b"in flight", b_end, a_end)
    await trio.sleep(1.0)
    await a.send(b"in flight", b_end, a_end)
    network.remove_host(b)
    assert b.local_endpoints() == []
    await b.send(b"from the dead", a_end, b_end)
    assert await receive_within(b, 5.0) is None  # the queued datagram is gone too
    assert await receive_within(a, 5.0) is None
    assert network.statistics().unroutable == 2
    # its address can be reused by a new host
    b2 = network.add_host(["10.0.0.2"])
    await a.send(b"new", b2.local_endpoints()[0], a_end)
    assert (await b2.receive()).data == b"new"


async def test_thousand_hosts_exchange_a_datagram_each(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.05, jitter=0.01)
    hosts = [network.add_host([f"10.{i // 250}.{i % 250}.1"]) for i in range(1000)]
    received: list[Datagram] = []

    async def run_host(index: int) -> None:
        host = hosts[index]
        peer = hosts[(index + 1) % len(hosts)]
        await host.send(index.to_bytes(2, "big"), peer.local_endpoints()[0], host.local_endpoints()[0])
        received.append(await host.receive())

    async with trio.open_nursery() as nursery:
        for index in range(len(hosts)):
            nursery.start_soon(run_host, index)
    assert len(received) == 1000
    for datagram in received:
        sender = int.from_bytes(datagram.data, "big")
        assert datagram.source == hosts[sender].local_endpoints()[0]
        assert datagram.local == hosts[(sender + 1) % 1000].local_endpoints()[0]
    assert network.statistics().delivered == 1000
    assert trio.current_time() < 0.1


async def test_broadcast_reaches_the_lan_segment_only(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    sender = network.add_host(["192.168.1.10", "fd00:1::10"], ports=(0, 12912), lan="home")
    listener = network.add_host(["192.168.1.11", "fd00:1::11"], ports=(0, 12912), lan="home")
    deaf = network.add_host(["192.168.1.12"], lan="home")  # no discovery port
    elsewhere = network.add_host(["192.168.2.10"], ports=(0, 12912), lan="office")
    main = ("192.168.1.10", 49152)
    await sender.send(b"v4", ("255.255.255.255", 12912), main)
    await sender.send(b"v6", ("ff05::112", 12912), ("fd00:1::10", 49152))
    assert await listener.receive() == Datagram(b"v4", main, ("192.168.1.11", 12912))
    assert await listener.receive() == Datagram(b"v6", ("fd00:1::10", 49152), ("fd00:1::11", 12912))
    # the sender hears itself, as a real socket bound to the broadcast port would
    assert (await sender.receive()).local == ("192.168.1.10", 12912)
    assert await receive_within(deaf, 1.0) is None
    assert await receive_within(elsewhere, 1.0) is None


# ---- NAT ------------------------------------------------------------------------------------

PUBLIC_A = "1.0.0.1"
PUBLIC_B = "2.0.0.1"


class NatScene:
    """A private host behind a NAT, and two public hosts with two ports each."""

    def __init__(self, kind: NatKind, mapping_timeout: float = 30.0) -> None:
        self.network = MemoryNetwork(latency=0.01)
        self.nat: MemoryNat = self.network.add_nat("5.0.0.1", kind, mapping_timeout=mapping_timeout)
        self.private = self.network.add_host(["192.168.0.10"], ports=(4000,), nat=self.nat)
        self.a = self.network.add_host([PUBLIC_A], ports=(1000, 1001))
        self.b = self.network.add_host([PUBLIC_B], ports=(1000, 1001))

    async def outbound(self, destination: Endpoint) -> Endpoint:
        """Send from the private host; return the public endpoint the destination saw."""
        receiver = self.a if destination[0] == PUBLIC_A else self.b
        await self.private.send(b"out", destination, ("192.168.0.10", 4000))
        datagram = await receiver.receive()
        assert datagram.local == destination
        return datagram.source

    async def inbound_arrives(self, source: Endpoint, public: Endpoint) -> bool:
        sender = self.a if source[0] == PUBLIC_A else self.b
        await sender.send(b"in", public, source)
        datagram = await receive_within(self.private, 1.0)
        if datagram is None:
            return False
        assert datagram == Datagram(b"in", source, ("192.168.0.10", 4000))
        return True


# (from the contacted endpoint, from its other port, from another IP)
FILTERING: dict[NatKind, tuple[bool, bool, bool]] = {
    "cone": (True, True, True),
    "restricted": (True, True, False),
    "port-restricted": (True, False, False),
    "symmetric": (True, False, False),
}


@pytest.mark.parametrize("kind", list(FILTERING))
async def test_nat_filtering(kind: NatKind, autojump_clock: trio.testing.MockClock) -> None:
    scene = NatScene(kind)
    # nothing gets in before the first outbound packet
    assert not await scene.inbound_arrives((PUBLIC_A, 1000), ("5.0.0.1", 20000))
    public = await scene.outbound((PUBLIC_A, 1000))
    assert public[0] == "5.0.0.1" and public[1] != 4000
    arrived = (
        await scene.inbound_arrives((PUBLIC_A, 1000), public),
        await scene.inbound_arrives((PUBLIC_A, 1001), public),
        await scene.inbound_arrives((PUBLIC_B, 1000), public),
    )
    assert arrived == FILTERING[kind]
    assert scene.network.statistics().filtered == 1 + arrived.count(False)


@pytest.mark.parametrize("kind", list(FILTERING))
async def test_nat_mapping_per_destination(kind: NatKind, autojump_clock: trio.testing.MockClock) -> None:
    scene = NatScene(kind)
    to_a = await scene.outbound((PUBLIC_A, 1000))
    to_a_other_port = await scene.outbound((PUBLIC_A, 1001))
    to_b = await scene.outbound((PUBLIC_B, 1000))
    assert await scene.outbound((PUBLIC_A, 1000)) == to_a  # the mapping is reused
    if kind == "symmetric":
        assert len({to_a, to_a_other_port, to_b}) == 3
        # A cannot use the port mapped towards B
        assert not await scene.inbound_arrives((PUBLIC_A, 1000), to_b)
    else:
        assert to_a == to_a_other_port == to_b
    assert await scene.inbound_arrives((PUBLIC_B, 1000), to_b)


async def test_nat_preserves_ports_when_asked(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    nat = network.add_nat("5.0.0.1", "cone", preserve_ports=True)
    first = network.add_host(["192.168.0.10"], ports=(4000,), nat=nat)
    second = network.add_host(["192.168.0.11"], ports=(4000,), nat=nat)
    public = network.add_host([PUBLIC_A], ports=(1000,))
    await first.send(b"1", (PUBLIC_A, 1000), ("192.168.0.10", 4000))
    await second.send(b"2", (PUBLIC_A, 1000), ("192.168.0.11", 4000))
    assert (await public.receive()).source == ("5.0.0.1", 4000)
    assert (await public.receive()).source == ("5.0.0.1", 20000)  # 4000 is taken


@pytest.mark.parametrize("kind", ["cone", "port-restricted"])
async def test_nat_mapping_timeout(kind: NatKind, autojump_clock: trio.testing.MockClock) -> None:
    scene = NatScene(kind, mapping_timeout=30.0)
    public = await scene.outbound((PUBLIC_A, 1000))
    await trio.sleep(20.0)
    assert await scene.inbound_arrives((PUBLIC_A, 1000), public)  # inbound does not refresh
    await trio.sleep(10.0)
    assert not await scene.inbound_arrives((PUBLIC_A, 1000), public)
    assert scene.nat.mapping_count() == 0
    # a new outbound packet creates a new mapping, on a new port
    renewed = await scene.outbound((PUBLIC_A, 1000))
    assert renewed != public
    await trio.sleep(25.0)
    assert await scene.outbound((PUBLIC_A, 1000)) == renewed  # refreshes
    await trio.sleep(25.0)
    assert await scene.inbound_arrives((PUBLIC_A, 1000), renewed)


async def test_hosts_behind_one_nat_talk_directly(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    nat = network.add_nat("5.0.0.1", "symmetric")
    first = network.add_host(["192.168.0.10"], nat=nat)
    second = network.add_host(["192.168.0.11"], nat=nat)
    await first.send(b"x", second.local_endpoints()[0], first.local_endpoints()[0])
    assert (await second.receive()).source == first.local_endpoints()[0]
    assert nat.mapping_count() == 0


async def test_hairpin_through_the_public_address(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    nat = network.add_nat("5.0.0.1", "cone")
    first = network.add_host(["192.168.0.10"], nat=nat)
    second = network.add_host(["192.168.0.11"], nat=nat)
    public_host = network.add_host([PUBLIC_A])
    await second.send(b"open", public_host.local_endpoints()[0], second.local_endpoints()[0])
    second_public = (await public_host.receive()).source
    await first.send(b"hairpin", second_public, first.local_endpoints()[0])
    datagram = await second.receive()
    assert datagram.data == b"hairpin"
    assert datagram.source[0] == "5.0.0.1"


async def test_zero_latency_delivers_in_order_without_time_passing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    network = MemoryNetwork(latency=0.0)
    a = network.add_host(["10.0.0.1"])
    b = network.add_host(["10.0.0.2"])
    network.set_link("10.0.0.1", "10.0.0.3", latency=1.0)
    c = network.add_host(["10.0.0.3"])
    start = trio.current_time()
    await a.send(b"late", c.local_endpoints()[0], a.local_endpoints()[0])
    for index in range(3):
        await a.send(bytes([index]), b.local_endpoints()[0], a.local_endpoints()[0])
    assert [(await b.receive()).data for _ in range(3)] == [b"\x00", b"\x01", b"\x02"]
    assert trio.current_time() == start
    assert (await c.receive()).data == b"late"
    assert trio.current_time() == start + 1.0
