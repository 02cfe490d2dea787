"""The hole-punching flow of the lab test (tests/nat/test_lab_punch.py) on the in-memory network,
under trio's MockClock: no root, no namespaces, and exact timing.

The in-memory NAT kinds name filtering as RFC 4787 does: ``cone`` is a full cone (the lab's
``fullcone``), ``restricted`` is address-restricted, ``port-restricted`` is the lab's ``cone``
(Linux masquerade), ``symmetric`` maps per destination.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from punch_agent import Events, make_engine, punch_trial

from peernet_proto import EngineRunner, PeerEngine, PrivateKey, ResponseReceived, RootPeer
from peernet_proto.testing import MemoryNetwork, NatKind

RELAY = ("11.0.0.10", 7000)


async def start_target(
    nursery: trio.Nursery, network: MemoryNetwork, nat: Any, port: int, relay: RootPeer
) -> PeerEngine:
    host = network.add_host([f"192.168.2.{port - 7990}"], ports=(port,), nat=nat)
    engine = make_engine(PrivateKey.generate(), root_peers=[relay])
    events = Events()
    await nursery.start(EngineRunner(engine, host, events).run)
    bootstrapped = await events.wait_for(lambda e: isinstance(e, ResponseReceived) and e.peer == relay.public_key, 10)
    assert bootstrapped is not None
    return engine


async def punches(
    initiator_nat: NatKind, target_nat: NatKind, trials: int, *, use_relay: bool = True, timeout: float = 5.0
) -> list[dict[str, Any]]:
    network = MemoryNetwork(seed=5, latency=0.01)
    nat_a = network.add_nat("11.0.0.1", initiator_nat, preserve_ports=True)
    nat_b = network.add_nat("11.0.0.2", target_nat, preserve_ports=True)
    relay_engine = make_engine(PrivateKey.generate(), relay=True)
    relay = RootPeer(relay_engine.public_key, (RELAY,))
    outcomes = []
    async with trio.open_nursery() as nursery:
        await nursery.start(EngineRunner(relay_engine, network.add_host([RELAY[0]], ports=(RELAY[1],))).run)
        # all targets first: one that bootstrapped later would learn earlier initiators from the
        # relay and contact them, which opens its NAT to their address before its own punch
        targets = [await start_target(nursery, network, nat_b, 8000 + trial, relay) for trial in range(trials)]
        for trial, target in enumerate(targets):
            initiator_host = network.add_host([f"192.168.1.{10 + trial}"], ports=(9000 + trial,), nat=nat_a)
            outcome = await punch_trial(initiator_host, relay, target.public_key, timeout=timeout, use_relay=use_relay)
            outcome["target_knows_us"] = any(p.public_key.hex() == outcome["initiator"] for p in target.peers())
            outcomes.append(outcome)
        nursery.cancel_scope.cancel()
    return outcomes


# (initiator NAT, target NAT, seconds to the Response with 10 ms per hop)
WORKS = [
    # direct request (dropped by the target's NAT), Traverse to the relay and on, the answer
    ("port-restricted", "port-restricted", 0.03),
    # the answer to the Traverse is dropped by our NAT (another port); our request re-sent at
    # 50 ms passes now that the target has sent to our address, and is answered where it came from
    ("symmetric", "restricted", 0.07),
    ("symmetric", "cone", 0.02),  # the first direct request passes a full cone
    ("restricted", "symmetric", 0.03),  # we accept the target's answer from its new port
    ("cone", "symmetric", 0.03),
]
FAILS = [("port-restricted", "symmetric"), ("symmetric", "port-restricted"), ("symmetric", "symmetric")]


@pytest.mark.parametrize(("initiator_nat", "target_nat", "seconds"), WORKS, ids=lambda v: str(v))
async def test_punching_succeeds(
    autojump_clock: trio.testing.MockClock, initiator_nat: NatKind, target_nat: NatKind, seconds: float
) -> None:
    for outcome in await punches(initiator_nat, target_nat, 5):
        assert outcome["success"], outcome
        assert not outcome["known_before"]
        assert outcome["counters"]["traverse_sent"] == 1 and outcome["counters"]["punched"] == 1
        assert outcome["mutual"] and outcome["target_knows_us"]
        assert outcome["seconds"] == pytest.approx(seconds, abs=1e-6)


async def test_answers_come_from_the_recorded_address_unless_the_target_is_symmetric(
    autojump_clock: trio.testing.MockClock,
) -> None:
    (cone,) = await punches("port-restricted", "port-restricted", 1)
    assert cone["answered_from"] == cone["record_endpoints"][0]
    (symmetric,) = await punches("restricted", "symmetric", 1)
    answered_from, asked = symmetric["answered_from"], symmetric["record_endpoints"][0]
    assert answered_from[0] == asked[0] and answered_from[1] != asked[1]  # peer-reflexive


@pytest.mark.parametrize(("initiator_nat", "target_nat"), FAILS, ids="/".join)
async def test_punching_fails_within_the_timeout(
    autojump_clock: trio.testing.MockClock, initiator_nat: NatKind, target_nat: NatKind
) -> None:
    (outcome,) = await punches(initiator_nat, target_nat, 1, timeout=5.0)
    assert not outcome["success"] and outcome["timed_out"] and outcome["error"] is None
    assert 5.0 <= outcome["seconds"] <= 6.0  # noticed on the engine's next one-second tick
    assert "punched" not in outcome["counters"]


async def test_without_the_relay_a_port_restricted_target_stays_unreachable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    (outcome,) = await punches("port-restricted", "port-restricted", 1, use_relay=False, timeout=2.0)
    assert not outcome["success"] and outcome["timed_out"]
    assert "traverse_sent" not in outcome["counters"]
