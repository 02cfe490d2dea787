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

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from lab import HERE, NatLab, lab_unavailable_reason

pytestmark = pytest.mark.natlab

AGENT = HERE / "punch_agent.py"
RELAY_PORT, TARGET_PORT, INITIATOR_PORT = 7000, 8000, 9000
TICK = 1.0  # the engine notices a timed-out request on its next one-second tick


@pytest.fixture(scope="module", autouse=True)
def _needs_lab() -> None:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)


class PunchLab:
    """A lab with a relay on rdv and ``count`` targets on b1."""

    def __init__(self, lab: NatLab, count: int) -> None:
        self.lab = lab
        relay = lab.python("rdv", AGENT, "relay", "--listen", f"{lab.rdv_ip}:{RELAY_PORT}")
        self.relay_key = str(lab.next_event(relay, ["ready"], timeout=10)["keys"][0])  # type: ignore[index]
        self.relay = f"{self.relay_key}@{lab.rdv_ip}:{RELAY_PORT}"
        self.targets = lab.python(
            "b1", AGENT, "node", "--listen", f"{lab.host_ip('b1')}:{TARGET_PORT}", "--count", str(count),
            "--root", self.relay,
        )
        ready = lab.next_event(self.targets, ["ready"], timeout=15)
        self.target_keys: list[str] = list(ready["keys"])  # type: ignore[call-overload]

    def punch(self, *, timeout: float = 5.0, trials: int | None = None, concurrent: bool = False,
              direct: bool = False, first_port: int = INITIATOR_PORT) -> list[dict[str, Any]]:
        trials = len(self.target_keys) if trials is None else trials
        argv = ["initiator", "--listen", f"{self.lab.host_ip('a1')}:{first_port}", "--relay", self.relay,
                "--trials", str(trials), "--timeout", str(timeout)]
        argv += [arg for key in self.target_keys for arg in ("--target", key)]
        argv += ["--concurrent"] * concurrent + ["--direct"] * direct
        initiator = self.lab.python("a1", AGENT, *argv)
        outcomes = []
        limit = (timeout + 10) * (1 if concurrent else trials)
        while True:
            event = self.lab.next_event(initiator, ["punch", "done"], timeout=limit)
            if event["event"] == "done":
                return sorted(outcomes, key=lambda o: int(o["trial"]))
            outcomes.append(event)

    def target_events(self, kind: str) -> list[dict[str, Any]]:
        """What the targets printed so far (read without blocking for long)."""
        found = []
        while True:
            try:
                line = self.lab.read_line(self.targets, timeout=0.3)
            except TimeoutError:
                return found
            if not line:
                return found
            event = json.loads(line)
            if event["event"] == kind:
                found.append(event)


@contextmanager
def punch_lab(nat1: str, nat2: str, count: int) -> Iterator[PunchLab]:
    with NatLab(nat1=nat1, nat2=nat2, upnp=False) as lab:
        yield PunchLab(lab, count)


def remote_of(peer_events: list[dict[str, Any]], key: str) -> tuple[str, int] | None:
    for event in peer_events:
        if event["peer"] == key:
            return event["remote"][0], event["remote"][1]
    return None


def test_cone_to_cone_nineteen_of_twenty() -> None:
    with punch_lab("cone", "cone", 20) as lab:
        # without the relay the request dies at r2: punching is what makes it work
        (direct,) = lab.punch(trials=1, timeout=2.0, direct=True, first_port=INITIATOR_PORT + 100)
        assert not direct["success"] and direct["timed_out"]
        outcomes = lab.punch(timeout=5.0)
        peers = lab.target_events("peer")
    successes = [o for o in outcomes if o["success"]]
    assert len(successes) >= 19, [o for o in outcomes if not o["success"]]
    for outcome in successes:
        assert not outcome["known_before"]
        assert outcome["counters"]["traverse_sent"] == 1 and outcome["counters"]["punched"] == 1
        # masquerade keeps the ports: everyone is where the relay says
        assert outcome["answered_from"] == outcome["record_endpoints"][0]
        assert outcome["observed_by_relay"] == ["11.0.0.1", outcome["local"][1]]
        assert outcome["mutual"]  # the target knows us too (our ping, its introduction)
        assert remote_of(peers, outcome["initiator"]) == tuple(outcome["observed_by_relay"])
        assert outcome["seconds"] < 0.5


@pytest.mark.parametrize("target_nat", ["restricted", "fullcone"])
def test_symmetric_initiator_reaches_cone_targets_through_the_peer_reflexive_reply(target_nat: str) -> None:
    with punch_lab("symmetric", target_nat, 3) as lab:
        outcomes = lab.punch(concurrent=True)
        peers = lab.target_events("peer")
    for outcome in outcomes:
        assert outcome["success"], outcome
        relay_saw = tuple(outcome["observed_by_relay"])
        target_saw = remote_of(peers, outcome["initiator"])
        # the target answered the port our direct request came from, not the one in the Traverse
        assert target_saw is not None and target_saw[0] == relay_saw[0] and target_saw[1] != relay_saw[1]
        assert outcome["answered_from"] == outcome["record_endpoints"][0]


def test_restricted_initiator_accepts_the_answer_of_a_symmetric_target_from_another_port() -> None:
    with punch_lab("restricted", "symmetric", 3) as lab:
        outcomes = lab.punch(concurrent=True)
    for outcome in outcomes:
        assert outcome["success"], outcome
        answered_from, asked = outcome["answered_from"], outcome["record_endpoints"][0]
        assert answered_from[0] == asked[0] and answered_from[1] != asked[1]


@pytest.mark.parametrize("nats", [("symmetric", "symmetric"), ("cone", "symmetric")], ids="/".join)
def test_punching_fails_with_a_timeout_and_does_not_hang(nats: tuple[str, str]) -> None:
    timeout = 3.0
    with punch_lab(*nats, 2) as lab:
        outcomes = lab.punch(timeout=timeout, concurrent=True)
    for outcome in outcomes:
        assert not outcome["success"] and outcome["timed_out"] and outcome["error"] is None, outcome
        assert timeout <= outcome["seconds"] <= timeout + TICK + 0.5
        assert outcome["counters"]["traverse_sent"] == 1 and "punched" not in outcome["counters"]
