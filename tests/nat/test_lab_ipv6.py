"""IPv6 pinholes through the routers' stateful firewall: PCP MAP from an IPv6 address and UPnP
WANIPv6FirewallControl AddPinhole (IGD v2, discovered over IPv6 SSDP)."""

from __future__ import annotations

import sys

import pytest
from lab import NatLab

pytestmark = pytest.mark.natlab

SCRIPT = """
import ipaddress, sys, trio
from peernet_nat import PcpClient, TransportProtocol, discover_upnp
async def main(method, port, hold):
    if method == "pcp":
        client = PcpClient(ipaddress.ip_address("fd00:1::1"))
        mapping = await client.map(TransportProtocol.UDP, port, port, 60)
        print(mapping.external_ip, flush=True)
        await trio.sleep(hold)
        await client.unmap(mapping)
    else:
        igd = await discover_upnp(ipv6=True, interface="eth0")
        assert igd is not None and igd.firewall6 is not None
        uid = await igd.add_pinhole(TransportProtocol.UDP, ipaddress.IPv6Address("fd00:1::10"), port, 60)
        print(uid, flush=True)
        await trio.sleep(hold)
        await igd.delete_pinhole(uid)
    print("removed", flush=True)
trio.run(main, sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
"""


@pytest.mark.parametrize("method,port", [("pcp", 47020), ("upnp", 47021)])
def test_pinhole_lets_an_outside_host_in(natlab: NatLab, method: str, port: int) -> None:
    echo = natlab.agent("a1", "echo", str(port), "v6")
    natlab.wait_ready(echo)
    target = natlab.host_ip6("a1")
    assert not natlab.udp_reachable("b1", target, port, timeout=1), "firewall lets unsolicited in"
    holder = natlab.spawn("a1", sys.executable, "-c", SCRIPT, method, str(port), "3")
    opened = natlab.read_line(holder, timeout=10)
    assert opened.strip() and opened.strip() != "removed"
    assert natlab.udp_reachable("b1", target, port)
    assert natlab.read_line(holder, timeout=10).strip() == "removed"
    assert holder.wait(timeout=5) == 0
    assert not natlab.udp_reachable("b1", target, port, timeout=1), "pinhole left open"
