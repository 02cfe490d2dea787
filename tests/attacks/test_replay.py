"""Replays: one valid packet replayed exactly (142,000 a second at full size), and the good peer's
own Announcement replayed from another address to hijack its connection (a relay can do the same)."""

from __future__ import annotations

import pytest

from .conftest import ANSWERED_DURING, DURATION, RECOVERY, START, lab_with_good_peer
from .harness import (
    GOOD_PEER,
    NODE_V4,
    Identities,
    Newcomer,
    Outcome,
    hello,
    ipv4_sources,
    replay_flood,
    run_attack,
    seal,
)

NOT_YET = "defence not built yet: "
REPLAY_SCALE = 100  # 1,420 a second in the lab
ATTACKER = ("45.9.9.9", 7000)


@pytest.fixture(scope="module")
def exact(pool: Identities) -> tuple[Outcome, int, int]:
    lab, good = lab_with_good_peer(REPLAY_SCALE)
    lab.rcvbuf = 1 << 30  # every replay reaches the engine: what it does with them is measured
    source = ipv4_sources(1)[0]
    packet = seal(pool.take(1)[0], lab.node.public_key, hello(source[1], find_self=False), 5)
    stream = lab.attack(replay_flood(packet, [source]), 142_000 / REPLAY_SCALE, START, 2.0)
    outcome = run_attack(lab, good, START, 2.0, after=6.0)
    return outcome, stream.sent, lab.packets_to[source]


def test_exact_replays_are_not_answered(exact: tuple[Outcome, int, int]) -> None:
    _, replayed, answers = exact
    assert answers <= max(2, replayed // 100)


def test_good_peer_answered_during_exact_replays(exact: tuple[Outcome, int, int]) -> None:
    assert exact[0].answered_during >= ANSWERED_DURING


@pytest.fixture(scope="module")
def hijack() -> tuple[Outcome, list[Newcomer]]:
    lab, good = lab_with_good_peer()
    captured: list[bytes] = []
    lab.taps.append(
        lambda data, source, destination: (
            captured.append(data) if source == GOOD_PEER and destination == NODE_V4 and not captured else None
        )
    )
    lab.run_until(0.1)
    assert captured
    lab.attack(replay_flood(captured[0], [ATTACKER]), 10, START, DURATION)
    outcome = run_attack(lab, good, START, DURATION, after=RECOVERY)
    late = []
    for index in range(3):  # newcomers after the attack
        newcomer = Newcomer(
            lab.node.public_key, (f"44.4.0.{index + 1}", 6000), good.engine.public_key, GOOD_PEER, 300 + index
        )
        lab.add(newcomer)
        late.append(newcomer)
        lab.run_until(lab.now + 1.0)
    lab.run_until(lab.now + 2.0)
    return outcome, late


def test_newcomers_told_real_address_during_hijack(hijack: tuple[Outcome, list[Newcomer]]) -> None:
    outcome = hijack[0]
    assert outcome.told_truth == outcome.newcomers


def test_good_peer_answered_during_hijack(hijack: tuple[Outcome, list[Newcomer]]) -> None:
    assert hijack[0].answered_during >= ANSWERED_DURING


def test_real_address_back_after_hijack(hijack: tuple[Outcome, list[Newcomer]]) -> None:
    assert all(newcomer.told_truth for newcomer in hijack[1])
