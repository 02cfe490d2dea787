"""UdpTransport on loopback: real sockets, IPv4 and IPv6."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator

import pytest
import trio

from peernet_proto import (
    DEFAULT_PORT,
    Datagram,
    DatagramTransport,
    InterfaceAddress,
    UdpTransport,
    list_interface_addresses,
)


def can_bind(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not can_bind("::1"), reason="no IPv6 loopback (::1)")
needs_127_0_0_2 = pytest.mark.skipif(
    not can_bind("127.0.0.2"), reason="127.0.0.2 cannot be bound (not Linux-like loopback)"
)


@pytest.fixture
def raw_v4() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        yield sock


async def test_is_a_datagram_transport() -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        assert isinstance(transport, DatagramTransport)


async def test_ipv4_send_and_receive_with_os_chosen_ports() -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as a, UdpTransport.open([("127.0.0.1", 0)]) as b:
        (a_end,) = a.local_endpoints()
        (b_end,) = b.local_endpoints()
        assert a_end[0] == "127.0.0.1" and a_end[1] != 0 and a_end != b_end
        with trio.fail_after(5):
            await a.send(b"ping", b_end, a_end)
            assert await b.receive() == Datagram(b"ping", a_end, b_end)
            await b.send(b"pong", a_end, b_end)
            assert await a.receive() == Datagram(b"pong", b_end, a_end)
        assert a.statistics().datagrams_sent == 1 and a.statistics().bytes_sent == 4
        assert a.statistics().datagrams_received == 1 and a.statistics().bytes_received == 4


@needs_ipv6
async def test_ipv6_send_and_receive() -> None:
    async with UdpTransport.open([("::1", 0)]) as a, UdpTransport.open(["0:0::1"]) as b:
        (a_end,) = a.local_endpoints()
        (b_end,) = b.local_endpoints()
        assert a_end[0] == "::1" and b_end[0] == "::1"
        with trio.fail_after(5):
            await a.send(b"six", b_end, a_end)
            assert await b.receive() == Datagram(b"six", a_end, b_end)


@needs_ipv6
async def test_ipv6_socket_is_v6_only() -> None:
    async with UdpTransport.open([("::", 0)]) as transport:
        (endpoint,) = transport.local_endpoints()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"v4", ("127.0.0.1", endpoint[1]))
        with trio.move_on_after(0.3):
            await transport.receive()
            pytest.fail("an IPv6 socket received an IPv4 datagram")


async def test_largest_datagram_arrives_whole(raw_v4: socket.socket) -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        (endpoint,) = transport.local_endpoints()
        payload = bytes(range(256)) * 255 + b"end"  # 65283 bytes, near the UDP limit
        raw_v4.sendto(payload, endpoint)
        with trio.fail_after(5):
            assert (await transport.receive()).data == payload


@needs_ipv6
@needs_127_0_0_2
async def test_each_datagram_names_the_socket_that_received_it() -> None:
    async with UdpTransport.open([("127.0.0.1", 0), ("::1", 0), ("127.0.0.2", 0)]) as transport:
        endpoints = transport.local_endpoints()
        assert len(set(endpoints)) == 3
        async with UdpTransport.open([("127.0.0.1", 0), ("::1", 0)]) as peer:
            v4_peer, v6_peer = peer.local_endpoints()
            for index, local in enumerate(endpoints):
                source = v6_peer if ":" in local[0] else v4_peer
                await peer.send(bytes([index]), local, source)
            with trio.fail_after(5):
                received = {(await transport.receive()).data[0]: None for _ in endpoints}
                assert sorted(received) == [0, 1, 2]
            # replies leave from the chosen socket
            for local in endpoints:
                await transport.send(b"r", v6_peer if ":" in local[0] else v4_peer, local)
            with trio.fail_after(5):
                sources = {(await peer.receive()).source for _ in endpoints}
            assert sources == set(endpoints)


async def test_default_port_is_112_else_any() -> None:
    address = "127.42.0.1"
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        holder.bind((address, DEFAULT_PORT))
    except OSError as error:
        holder.close()
        pytest.skip(f"cannot bind {address}:{DEFAULT_PORT} to take it first: {error}")
    try:
        async with UdpTransport.open([address]) as transport:
            ((ip, port),) = transport.local_endpoints()
            assert ip == address and port not in (0, DEFAULT_PORT)
        with pytest.raises(OSError) as refused:  # an explicit port does not fall back
            async with UdpTransport.open([(address, DEFAULT_PORT)]):
                pass
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        holder.close()
    async with UdpTransport.open([address]) as transport:
        assert transport.local_endpoints() == [(address, DEFAULT_PORT)]


async def test_send_errors_are_swallowed_and_counted() -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        (local,) = transport.local_endpoints()
        await transport.send(b"x" * 70000, ("127.0.0.1", 9), local)  # EMSGSIZE
        await transport.send(b"x", ("::1", 9), local)  # wrong family
        await transport.send(b"x", ("127.0.0.1", 9), ("127.0.0.1", 1))  # no such socket
        statistics = transport.statistics()
        assert statistics.send_errors == 3 and statistics.datagrams_sent == 0


async def test_full_queue_drops_and_counts(raw_v4: socket.socket) -> None:
    async with UdpTransport.open([("127.0.0.1", 0)], queue_size=2) as transport:
        (endpoint,) = transport.local_endpoints()
        for index in range(5):
            raw_v4.sendto(bytes([index]), endpoint)
        with trio.fail_after(5):
            while transport.statistics().datagrams_received < 5:
                await trio.sleep(0.01)
        assert transport.statistics().dropped == 3
        assert [(await transport.receive()).data for _ in range(2)] == [b"\x00", b"\x01"]


async def test_aclose_wakes_receivers_and_refuses_sends() -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        (local,) = transport.local_endpoints()
        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:

                async def receiver() -> None:
                    with pytest.raises(trio.ClosedResourceError):
                        await transport.receive()

                nursery.start_soon(receiver)
                await trio.sleep(0.05)
                await transport.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await transport.send(b"x", local, local)
        assert transport.local_endpoints() == []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(local)  # the port is free again


def port_is_free(endpoint: tuple[str, int]) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(endpoint)
        except OSError:
            return False
    return True


@needs_127_0_0_2
async def test_update_opens_new_and_closes_vanished_sockets(raw_v4: socket.socket) -> None:
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        (first,) = transport.local_endpoints()
        await transport.update([("127.0.0.1", 0), ("127.0.0.2", 0)])
        assert transport.local_endpoints()[0] == first  # kept, not reopened
        (second,) = [endpoint for endpoint in transport.local_endpoints() if endpoint != first]
        assert second[0] == "127.0.0.2"
        raw_v4.sendto(b"new", second)
        with trio.fail_after(5):
            assert await transport.receive() == Datagram(b"new", raw_v4.getsockname(), second)
        await transport.update([("127.0.0.2", 0)])
        assert transport.local_endpoints() == [second]
        assert port_is_free(first)
        with pytest.raises(OSError):
            await transport.update([("127.0.0.2", 0), ("192.0.2.254", 0)])  # not ours: EADDRNOTAVAIL
        assert transport.local_endpoints() == [second]
        await transport.refresh()  # not the wildcard mode: the explicit list stays
        assert transport.local_endpoints() == [second]


def loopback(address: str) -> InterfaceAddress:
    return InterfaceAddress(address, "lo", 1, 8)


@needs_127_0_0_2
async def test_wildcard_mode_follows_the_address_list() -> None:
    addresses = [loopback("127.0.0.1")]
    async with UdpTransport.open(None, poll_interval=0.05, list_addresses=lambda: list(addresses)) as transport:
        ((ip, port),) = transport.local_endpoints()
        assert ip == "127.0.0.1" and port != 0
        addresses.append(loopback("127.0.0.2"))
        with trio.fail_after(5):
            while len(transport.local_endpoints()) < 2:
                await trio.sleep(0.01)
        assert transport.local_endpoints()[1][0] == "127.0.0.2"
        del addresses[0]
        with trio.fail_after(5):
            while len(transport.local_endpoints()) > 1:
                await trio.sleep(0.01)
        assert transport.local_endpoints()[0][0] == "127.0.0.2"
        assert port_is_free((ip, port))


async def test_wildcard_mode_logs_addresses_it_cannot_bind(caplog: pytest.LogCaptureFixture) -> None:
    addresses = [loopback("127.0.0.1"), InterfaceAddress("192.0.2.254", "eth9", 9, 24)]
    async with UdpTransport.open(None, poll_interval=None, list_addresses=lambda: addresses) as transport:
        assert [ip for ip, _ in transport.local_endpoints()] == ["127.0.0.1"]
    assert "cannot listen on 192.0.2.254" in caplog.text


@pytest.mark.skipif(sys.platform != "linux", reason="interface details come from rtnetlink on Linux")
def test_list_interface_addresses_sees_loopback() -> None:
    addresses = {item.address: item for item in list_interface_addresses()}
    assert addresses["127.0.0.1"].interface == "lo"
    assert addresses["127.0.0.1"].prefix_length == 8
    assert addresses["127.0.0.1"].is_loopback
    if can_bind("::1"):
        assert addresses["::1"].prefix_length == 128 and addresses["::1"].is_ipv6


async def test_a_burst_after_single_datagrams_is_still_handled_in_batches(raw_v4: socket.socket) -> None:
    """One datagram per wake-up makes the receiver stop draining the socket before waiting; a
    burst afterwards is drained again, a few batch ends instead of one per datagram."""
    received: list[bytes] = []
    batch_ends = 0

    def on_batch_end() -> None:
        nonlocal batch_ends
        batch_ends += 1

    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        transport.set_receiver(lambda data, source, local: received.append(data))
        transport.set_batch_end(on_batch_end)
        endpoint = transport.local_endpoints()[0]
        for i in range(20):  # one at a time: each waits to be received
            raw_v4.sendto(b"single %d" % i, endpoint)
            with trio.fail_after(2):
                while len(received) <= i:
                    await trio.sleep(0.001)
        singles_batches = batch_ends
        assert singles_batches == 20
        for i in range(100):  # all queued before the receiver runs again
            raw_v4.sendto(b"burst %d" % i, endpoint)
        with trio.fail_after(2):
            while len(received) < 120:
                await trio.sleep(0.001)
        assert received[20:] == [b"burst %d" % i for i in range(100)]
        assert batch_ends - singles_batches <= 15
