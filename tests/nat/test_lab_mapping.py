"""Against the real miniupnpd in the namespace lab: each protocol maps a port that an outside
host reaches, renews the lease, re-maps after a daemon restart and deletes on shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from lab import HERE, NatLab

pytestmark = pytest.mark.natlab

CLIENT = HERE / "nat_client.py"
LIFETIME = 4  # seconds: renewals every ~2 s, and an unrenewed lease would lapse quickly
PORTS = {"pcp": 7101, "natpmp": 7102, "upnp": 7103}


def start_client(
    lab: NatLab, method: str, port: int, external_port: int = 0
) -> tuple[subprocess.Popen[str], dict[str, object]]:
    client = lab.python("a1", CLIENT, method, str(port), str(LIFETIME), str(external_port))
    mapped = lab.next_event(client, ["mapped", "failed"], timeout=10)
    assert mapped["event"] == "mapped", mapped
    assert mapped["method"] == method
    assert mapped["external_ip"] == lab.wan_ip("r1")
    return client, mapped


def stop_client(lab: NatLab, client: subprocess.Popen[str]) -> list[str]:
    client.send_signal(signal.SIGTERM)
    kinds = []
    while True:
        event = lab.next_event(client, ["removed", "stopped"], timeout=10)
        kinds.append(str(event["event"]))
        if event["event"] == "stopped":
            break
    assert client.wait(timeout=5) == 0
    return kinds


@pytest.mark.parametrize("method", ["pcp", "natpmp", "upnp"])
def test_mapping_is_reachable_renewed_and_removed(natlab: NatLab, method: str) -> None:
    port = PORTS[method]
    client, mapped = start_client(natlab, method, port)
    external_port = int(str(mapped["external_port"]))
    assert f"dport {external_port}" in natlab.forwarded_ports("r1")
    assert natlab.udp_reachable("rdv", natlab.wan_ip("r1"), external_port)

    renewed = natlab.next_event(client, ["renewed"], timeout=LIFETIME)
    assert renewed["external_port"] == external_port
    time.sleep(LIFETIME + 1 - (float(str(renewed["t"])) - float(str(mapped["t"]))))
    # past the first lease's end: only renewals keep the port open
    assert natlab.udp_reachable("rdv", natlab.wan_ip("r1"), external_port)

    assert stop_client(natlab, client) == ["removed", "stopped"]
    assert f"dport {external_port}" not in natlab.forwarded_ports("r1")
    assert not natlab.udp_reachable("rdv", natlab.wan_ip("r1"), external_port, timeout=1)


@pytest.mark.parametrize("method", ["pcp", "natpmp", "upnp"])
def test_mappings_come_back_after_gateway_restart(natlab: NatLab, method: str) -> None:
    port = PORTS[method] + 100
    client, mapped = start_client(natlab, method, port)
    external_port = int(str(mapped["external_port"]))
    # the epoch can only show a restart once the daemon has counted a few seconds
    time.sleep(max(0.0, 4 - natlab.miniupnpd_uptime("r1")))
    restarted_at = time.monotonic()
    natlab.restart_miniupnpd("r1")
    assert f"dport {external_port}" not in natlab.forwarded_ports("r1"), "restart kept the mapping"

    # NAT-PMP and PCP see the restart in the epoch; UPnP renewals simply add the mapping again
    kinds = ["renewed"] if method == "upnp" else ["remapped"]
    natlab.next_event(client, kinds, timeout=LIFETIME + 2, after=restarted_at)
    assert f"dport {external_port}" in natlab.forwarded_ports("r1")
    assert natlab.udp_reachable("rdv", natlab.wan_ip("r1"), external_port)
    assert "removed" in stop_client(natlab, client)
    assert f"dport {external_port}" not in natlab.forwarded_ports("r1")


@pytest.mark.parametrize("method", ["pcp", "upnp"])
def test_conflict_is_resolved_with_another_external_port(natlab: NatLab, method: str) -> None:
    taken = 7400 + len(method)
    holder = natlab.run("a2", "upnpc", "-e", "holder", "-a", natlab.host_ip("a2"), str(taken),
                        str(taken), "UDP", "60", check=False)
    assert f"dport {taken}" in natlab.forwarded_ports("r1"), holder.stdout + holder.stderr
    try:
        client, mapped = start_client(natlab, method, 7450 + len(method), external_port=taken)
        external_port = int(str(mapped["external_port"]))
        assert external_port != taken
        assert natlab.udp_reachable("rdv", natlab.wan_ip("r1"), external_port)
        stop_client(natlab, client)
    finally:
        natlab.run("a2", "upnpc", "-d", str(taken), "UDP", check=False)


def test_all_protocols_are_probed_concurrently(natlab: NatLab) -> None:
    probe = (
        "import trio, json\n"
        "from peernet_nat import probe_gateway\n"
        "async def main():\n"
        "    start = trio.current_time()\n"
        "    found = await probe_gateway()\n"
        "    print(json.dumps([[c.method.value for c in found], trio.current_time() - start]))\n"
        "trio.run(main)\n"
    )
    result = natlab.run("a1", sys.executable, "-c", probe)
    methods, elapsed = json.loads(result.stdout)
    assert methods == ["pcp", "natpmp", "upnp"]  # the order of preference
    assert elapsed < 1.5
