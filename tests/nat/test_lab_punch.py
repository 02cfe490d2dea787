"""UDP hole punching between real engines in the namespace lab: the initiator on a1 (behind r1),
the targets on b1 (behind r2), the relay on the public rendezvous host.

Each trial uses a fresh initiator key and port and its own target (key and port), so no trial
profits from NAT state an earlier one left behind, and no peer is known before its punch. The
initiator learns the target's record from the relay (FIND_PEER), sends its request straight to
that address and through a Traverse via the relay; the target answers the request where the
relay saw the initiator, and again wherever the initiator's re-sent requests come from.

Which NAT pairs work follows from each router's mapping and filtering (see lab.py):

* cone/cone: the initiator's first direct request opens r1 towards the target's (kept) port;
  the target's answer to where the relay saw us passes it.
* symmetric initiator, restricted or full-cone target: r1 gives the direct requests another
  port than the one the relay saw, so the target's answer through the Traverse is dropped; but
  once the target has sent to our address, r2 admits our re-sent request from any port, and the
  target's answer to the address that request came from (peer-reflexive) passes r1.
* restricted initiator, symmetric target: r2 gives the target's answer a new port; r1 admits
  any port of an address we sent to, and the engine accepts a Response from another address
  than it asked (peer-reflexive).
* cone initiator, symmetric target: as before, but r1 admits only the exact port we sent to
  (where the relay saw the target), and the target's answer comes from a new one: fails, as
  the natlab README lists for cone/symmetric. symmetric/symmetric fails for the same reasons on
  both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from lab import NatLab, lab_unavailable_reason
from punch_lab import PunchLab

pytestmark = pytest.mark.natlab

TARGET_PORT, INITIATOR_PORT = 8000, 9000
TICK = 1.0  # the engine notices a timed-out request on its next one-second tick


@pytest.fixture(scope="module", autouse=True)
def _needs_lab() -> None:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)


@contextmanager
def punch_lab(nat1: str, nat2: str) -> Iterator[PunchLab]:
    with NatLab(nat1=nat1, nat2=nat2, upnp=False) as lab:
        yield PunchLab(lab)


def test_cone_to_cone_nineteen_of_twenty() -> None:
    with punch_lab("cone", "cone") as lab:
        alone = lab.targets(1, TARGET_PORT + 100)
        targets = lab.targets(20, TARGET_PORT)
        # without the relay the request dies at r2: punching is what makes it work
        (direct,) = lab.punch(alone, INITIATOR_PORT + 100, timeout=2.0, direct=True)
        assert not direct["success"] and direct["timed_out"]
        outcomes = lab.punch(targets, INITIATOR_PORT, timeout=5.0)
        peers = targets.events("peer")
    successes = [o for o in outcomes if o["success"]]
    assert len(successes) >= 19, [o for o in outcomes if not o["success"]]
    for outcome in successes:
        assert not outcome["known_before"]
        assert outcome["counters"]["traverse_sent"] == 1 and outcome["counters"]["punched"] == 1
        # masquerade keeps the ports: everyone is where the relay says
        assert outcome["answered_from"] == outcome["record_endpoints"][0]
        assert outcome["observed_by_relay"] == [lab.lab.wan_ip("r1"), outcome["local"][1]]
        assert outcome["mutual"]  # the target knows us too (our ping, its introduction)
        assert targets.remote_of(peers, outcome["initiator"]) == tuple(outcome["observed_by_relay"])
        assert outcome["seconds"] < 0.5


@pytest.mark.parametrize("target_nat", ["restricted", "fullcone"])
def test_symmetric_initiator_reaches_cone_targets_through_the_peer_reflexive_reply(target_nat: str) -> None:
    with punch_lab("symmetric", target_nat) as lab:
        targets = lab.targets(3, TARGET_PORT)
        outcomes = lab.punch(targets, INITIATOR_PORT, concurrent=True)
        peers = targets.events("peer")
    for outcome in outcomes:
        assert outcome["success"], outcome
        relay_saw = tuple(outcome["observed_by_relay"])
        target_saw = targets.remote_of(peers, outcome["initiator"])
        # the target answered the port our direct request came from, not the one in the Traverse
        assert target_saw is not None and target_saw[0] == relay_saw[0] and target_saw[1] != relay_saw[1]
        assert outcome["answered_from"] == outcome["record_endpoints"][0]


def test_restricted_initiator_accepts_the_answer_of_a_symmetric_target_from_another_port() -> None:
    with punch_lab("restricted", "symmetric") as lab:
        outcomes = lab.punch(lab.targets(3, TARGET_PORT), INITIATOR_PORT, concurrent=True)
    for outcome in outcomes:
        assert outcome["success"], outcome
        answered_from, asked = outcome["answered_from"], outcome["record_endpoints"][0]
        assert answered_from[0] == asked[0] and answered_from[1] != asked[1]


@pytest.mark.parametrize("nats", [("symmetric", "symmetric"), ("cone", "symmetric")], ids="/".join)
def test_punching_fails_with_a_timeout_and_does_not_hang(nats: tuple[str, str]) -> None:
    timeout = 3.0
    with punch_lab(*nats) as lab:
        outcomes = lab.punch(lab.targets(2, TARGET_PORT), INITIATOR_PORT, timeout=timeout, concurrent=True)
    for outcome in outcomes:
        assert not outcome["success"] and outcome["timed_out"] and outcome["error"] is None, outcome
        assert timeout <= outcome["seconds"] <= timeout + TICK + 0.5
        assert outcome["counters"]["traverse_sent"] == 1 and "punched" not in outcome["counters"]
