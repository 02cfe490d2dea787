"""Uneven cost: one valid 65 KB Announcement asking for 2,040 peers, replayed 20 times a second
(1.3 MB/s) at full size; and one small valid packet replayed at 142,000 a second."""

from __future__ import annotations

import time

import pytest

from peernet_proto import EngineConfig, PeerEngine

from .conftest import ANSWERED_DURING, DURATION, RECOVERY, SCALE, START, lab_with_good_peer
from .harness import (
    NODE_V4,
    Identities,
    Outcome,
    expensive_announcement,
    ipv4_sources,
    node_key,
    replay_flood,
    run_attack,
    sybil_flood,
)

NOT_YET = "defence not built yet: "
PEERS = 200


@pytest.fixture(scope="module")
def heavy(pool: Identities) -> Outcome:
    lab, good = lab_with_good_peer()
    packet = expensive_announcement(pool.take(1)[0], lab.node.public_key)
    lab.attack(replay_flood(packet, ipv4_sources(1)), 20 / SCALE, START, DURATION)
    return run_attack(lab, good, START, DURATION)


def test_expensive_announcement_is_one_valid_packet(pool: Identities) -> None:
    assert 60_000 < len(expensive_announcement(pool.take(1)[0], node_key().public_key)) <= 65_507


def test_one_expensive_announcement_costs_little(pool: Identities) -> None:
    node = PeerEngine(node_key(), EngineConfig(local_discovery=False))
    node.set_local_endpoints([NODE_V4], 0.0)
    flood = sybil_flood(pool, node.public_key, ipv4_sources(400), find_self=False)
    for index in range(PEERS):  # a modest table: the answer looks up each requested key in it
        ((data, source),) = flood(index)
        node.receive_datagram(data, source, NODE_V4, 0.5)
    packet = expensive_announcement(pool.take(1)[0], node.public_key)
    began = time.process_time()
    node.receive_datagram(packet, ipv4_sources(1)[0], NODE_V4, 1.0)
    assert time.process_time() - began <= 0.005


def test_good_peer_answered_during_expensive_replays(heavy: Outcome) -> None:
    assert heavy.answered_during >= ANSWERED_DURING


def test_recovers_after_expensive_replays(heavy: Outcome) -> None:
    assert heavy.recovery <= RECOVERY


def test_newcomers_join_during_expensive_replays(heavy: Outcome) -> None:
    assert heavy.joined == heavy.newcomers  # the one-packet Announcement → Response still works
    assert heavy.told_truth == heavy.newcomers
