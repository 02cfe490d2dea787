"""Reachability vote: throwaway identities answer the node's Announcements with made-up observed
addresses; the vote counts reports per public key, so they decide our FIREWALL bit."""

from __future__ import annotations

import pytest

from peernet._reachability import ReachabilityMonitor
from peernet_nat import ReachabilityClass
from peernet_proto import PublicKey

from .conftest import lab_with_good_peer
from .harness import NODE_V4, Identities, Lab, ObservedAddressLiars, honest_engine, ipv4_sources

NOT_YET = "defence not built yet: "
LIARS = 20


def _contact_all(lab: Lab, peers: list[tuple[PublicKey, tuple[str, int]]]) -> None:
    for key, endpoint in peers:
        lab.node.contact(key, [endpoint], lab.now)
        lab.run_until(lab.now + 0.2)


@pytest.fixture(scope="module")
def vote(pool: Identities) -> tuple[ReachabilityMonitor, ReachabilityClass]:
    lab, _good = lab_with_good_peer()
    monitor = ReachabilityMonitor(lab.node)
    lab.event_handlers.append(lambda event, now: monitor.handle_event(event, now))  # type: ignore[arg-type]
    honest = []
    for index in range(4):  # honest peers that report what they see: our real address
        endpoint = (f"44.5.0.{index + 1}", 6000)
        engine = honest_engine(endpoint, 500 + index)
        lab.hosts[endpoint] = engine
        honest.append((engine.public_key, endpoint))
    for _ in range(3):
        _contact_all(lab, honest)
        lab.run_until(lab.now + 2.0)
    before = monitor.reachability(NODE_V4).classification
    sources = ipv4_sources(LIARS, "46.0.0.0/16")
    keys = pool.take(LIARS)
    liars = ObservedAddressLiars(keys, sources, lambda index: (NODE_V4[0], 20_000 + index))  # random ports
    lab.liars = liars
    _contact_all(lab, [(key.public_key, source) for key, source in zip(keys, sources, strict=True)])
    lab.run_until(lab.now + 3.0)
    assert liars.answered >= LIARS
    return monitor, before


def test_honest_reports_make_us_public(vote: tuple[ReachabilityMonitor, ReachabilityClass]) -> None:
    assert vote[1] is ReachabilityClass.PUBLIC


def test_throwaway_identities_cannot_set_firewall(vote: tuple[ReachabilityMonitor, ReachabilityClass]) -> None:
    monitor = vote[0]
    assert not monitor.engine.firewall
    assert monitor.reachability(NODE_V4).classification is ReachabilityClass.PUBLIC
