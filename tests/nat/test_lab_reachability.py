"""Reachability classification from what real NATs do to our packets: a1 sits behind a cone NAT
(r1), b1 behind a symmetric NAT (r2), rdv is public. Several rendezvous endpoints play the peers
that report our observed endpoint."""

from __future__ import annotations

import ipaddress
import sys

import pytest

from lab import AGENT, NatLab
from peernet_nat import ReachabilityClass, ReachabilityTracker

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
