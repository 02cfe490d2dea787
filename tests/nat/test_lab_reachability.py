"""Reachability classification from what real NATs do to our packets: a1 sits behind a cone NAT
(r1), b1 behind a symmetric NAT (r2), rdv is public. Several rendezvous endpoints play the peers
that report our observed endpoint; then real engines with peernet's ReachabilityMonitor show the
result to the relays they talk to: the FIREWALL bit without a mapping, the external port with
one."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from lab import AGENT, HERE, NatLab

from peernet_nat import ReachabilityClass, ReachabilityTracker
from peernet_proto import Feature, PrivateKey

pytestmark = pytest.mark.natlab

LOCAL_PORT = 4711


@pytest.fixture(scope="module")
def reflectors(natlab: NatLab) -> list[tuple[str, int]]:
    endpoints = [(natlab.rdv_ip, 3478), (natlab.rdv_ip, 3479), (f"{natlab.public}.11", 3478)]
    server = natlab.agent("rdv", "rdv", *(f"{host}:{port}" for host, port in endpoints))
    natlab.wait_ready(server)
    return endpoints


def classify(lab: NatLab, node: str, local_ip: str, reflectors: list[tuple[str, int]]) -> ReachabilityTracker:
    tracker = ReachabilityTracker()
    local = (ipaddress.ip_address(local_ip), LOCAL_PORT)
    for now, (host, port) in enumerate(reflectors):
        reply = lab.run(node, sys.executable, str(AGENT), "whoami", str(LOCAL_PORT), host, str(port)).stdout
        _, seen_ip, seen_port = reply.split()
        tracker.observe((host, port), (ipaddress.ip_address(seen_ip), int(seen_port)), local, float(now))
    return tracker


def test_public_host(natlab: NatLab, reflectors: list[tuple[str, int]]) -> None:
    # r2's own WAN address is public: a process on the router is not behind any NAT
    tracker = classify(natlab, "r2", natlab.wan_ip("r2"), reflectors)
    assert tracker.current.classification is ReachabilityClass.PUBLIC
    assert not tracker.current.firewalled


def test_cone_nat(natlab: NatLab, reflectors: list[tuple[str, int]]) -> None:
    tracker = classify(natlab, "a1", natlab.host_ip("a1"), reflectors)
    assert tracker.current.classification is ReachabilityClass.NAT_CONSISTENT
    assert tracker.current.external_endpoint == (ipaddress.ip_address(natlab.wan_ip("r1")), LOCAL_PORT)
    assert tracker.current.firewalled


def test_symmetric_nat(natlab: NatLab, reflectors: list[tuple[str, int]]) -> None:
    tracker = classify(natlab, "b1", natlab.host_ip("b1"), reflectors)
    assert tracker.current.classification is ReachabilityClass.NAT_RANDOM
    assert tracker.current.firewalled and tracker.current.external_port == 0


# ---- peernet.ReachabilityMonitor on real engines: what the relays see ------------------------

PUNCH_AGENT = HERE / "punch_agent.py"
RELAY_ENDPOINTS = ((10, 7001), (10, 7002), (11, 7001))  # three public peers report our address


@pytest.fixture(scope="module")
def relays(natlab: NatLab) -> list[tuple[str, subprocess.Popen[str]]]:
    """Three public relays on rdv, as ``KEY@IP:PORT`` with their processes."""
    started = []
    for host, port in RELAY_ENDPOINTS:
        address = f"{natlab.public}.{host}:{port}"
        started.append((address, natlab.python("rdv", PUNCH_AGENT, "relay", "--listen", address)))
    found = []
    for address, process in started:
        key = natlab.next_event(process, ["ready"], timeout=10)["keys"][0]  # type: ignore[index]
        found.append((f"{key}@{address}", process))
    return found


def wait_for(lab: NatLab, process: subprocess.Popen[str], kind: str, match: Callable[[dict[str, Any]], bool],
             timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        event = lab.next_event(process, [kind], timeout=max(0.01, deadline - time.monotonic()))
        if match(event):
            return event


def start_node(lab: NatLab, host: str, port: int, relays: list[tuple[str, subprocess.Popen[str]]],
               *options: str) -> tuple[subprocess.Popen[str], str]:
    """A node with its public key (chosen here: its first change may come before "ready")."""
    key = PrivateKey.generate()
    roots = [arg for address, _ in relays for arg in ("--root", address)]
    node = lab.python(host, PUNCH_AGENT, "node", "--listen", f"{lab.host_ip(host)}:{port}",
                      "--key", key.to_bytes().hex(), *roots, *options)
    return node, key.public_key.hex()


def lookup(lab: NatLab, relay: str, key: str, port: int) -> dict[str, Any]:
    """The relay's record of ``key``, as a node behind r2 gets it."""
    process = lab.python("b1", PUNCH_AGENT, "lookup", "--listen", f"{lab.host_ip('b1')}:{port}",
                         "--relay", relay, "--target", key)
    return lab.next_event(process, ["record"], timeout=15)


def test_node_behind_cone_nat_without_mapping_announces_the_firewall_bit(
    natlab: NatLab, relays: list[tuple[str, subprocess.Popen[str]]]
) -> None:
    node, key = start_node(natlab, "a1", 7201, relays, "--monitor")
    change = natlab.next_event(node, ["reachability"], timeout=10)
    assert change["new"] == "nat-consistent" and change["firewall"] is True
    assert int(change["features"]) & Feature.FIREWALL
    for _, relay in relays:  # each relay hears it in the Announcement sent after the change
        seen = wait_for(natlab, relay, "announcement",
                        lambda e: e["peer"] == key and bool(e["features"] & Feature.FIREWALL), timeout=5)
        assert seen["remote"] == [natlab.wan_ip("r1"), 7201] and seen["port_external"] == 0
    record = lookup(natlab, relays[0][0], key, 7301)
    assert record["found"] and record["features"] & Feature.FIREWALL
    assert (record["ipv4"], record["ipv4_port"], record["ipv4_port_external"]) == (natlab.wan_ip("r1"), 7201, 0)
    node.terminate()


def test_node_with_a_port_mapping_reports_the_external_port(
    natlab: NatLab, relays: list[tuple[str, subprocess.Popen[str]]]
) -> None:
    node, key = start_node(natlab, "a2", 7202, relays, "--map")
    change = natlab.next_event(node, ["reachability"], timeout=10)
    while change["new"] != "mapped":  # the relays' reports may come before the mapping
        change = natlab.next_event(node, ["reachability"], timeout=10)
    external = int(change["external_port"])
    assert change["firewall"] is False and external
    assert f"dport {external}" in natlab.forwarded_ports("r1")
    seen = wait_for(natlab, relays[0][1], "announcement",
                    lambda e: e["peer"] == key and e["port_external"] == external, timeout=5)
    assert not seen["features"] & Feature.FIREWALL
    record = lookup(natlab, relays[1][0], key, 7302)
    assert record["found"] and not record["features"] & Feature.FIREWALL
    assert (record["ipv4"], record["ipv4_port_external"]) == (natlab.wan_ip("r1"), external)
    # the reported address works without hole punching, even from behind r2's symmetric NAT
    initiator = natlab.python("b1", PUNCH_AGENT, "initiator", "--listen", f"{natlab.host_ip('b1')}:7303",
                              "--relay", relays[2][0], "--target", key, "--direct", "--timeout", "3")
    outcome = natlab.next_event(initiator, ["punch"], timeout=15)
    assert outcome["success"] and outcome["record_endpoints"] == [[natlab.wan_ip("r1"), external]]
    assert "traverse_sent" not in outcome["counters"]
    node.terminate()  # SIGTERM: the mapping is deleted on the way out
    natlab.next_event(node, ["stopped"], timeout=10)
    assert f"dport {external}" not in natlab.forwarded_ports("r1")
