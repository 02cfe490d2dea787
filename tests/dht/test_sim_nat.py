"""NAT mixes in the engine model: pinholes, hole punching through reporters, what gets through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peernet_dht._sim_nat import FULL_CONE, NONE, RESTRICTED, SYMMETRIC, NatState, mapped_port
from peernet_dht._sim_plan import PORT, SimPlan
from peernet_dht._sim_scenario import ScenarioError, load_scenario
from peernet_dht._sim_shards import run_sharded
from peernet_dht.sim import SimConfig, main, simulate

MIX = (("full_cone", 0.2), ("restricted", 0.3), ("symmetric", 0.3))
# Pairs (source -> target) a punch cannot join: a restricted NAT only lets in the port it sent to,
# and a symmetric NAT answers from (or expects) another port than the one the other side knows.
UNPUNCHABLE = {"restricted->symmetric", "symmetric->restricted", "symmetric->symmetric"}


def _config(**changes: object) -> SimConfig:
    return SimConfig(**{"nodes": 200, "lookups": 50, "seed": 1, **changes})  # type: ignore[arg-type]


def test_the_plan_puts_the_given_fractions_behind_nat() -> None:
    plan = SimPlan(_config(nat=MIX))
    assert [plan.nat.count(kind) for kind in (NONE, FULL_CONE, RESTRICTED, SYMMETRIC)] == [40, 40, 60, 60]
    assert SimPlan(_config(nat=MIX)).nat == plan.nat != SimPlan(_config(nat=MIX, seed=2)).nat


def test_pinholes_let_in_only_what_the_kind_of_nat_allows() -> None:
    kinds = bytearray([NONE, FULL_CONE, RESTRICTED, SYMMETRIC, NONE])
    nat = NatState(kinds, range(5), [f"11.0.{i}.1" for i in range(5)], PORT)
    assert nat.admits(0, 3) and not nat.admits(1, 0) and not nat.admits(2, 0) and not nat.admits(3, 0)
    assert nat.send(1, 0, PORT) and nat.admits(1, 4)  # full cone: open to anyone once it sent
    assert nat.send(2, 0, PORT) and nat.admits(2, 0) and not nat.admits(2, 4)  # restricted: only where it sent
    assert nat.endpoint(3, 0) == ("11.0.3.1", mapped_port(3, 0)) != nat.endpoint(3, 4)  # a port per peer
    assert not nat.send(0, 3, PORT) and nat.send(0, 3, mapped_port(3, 0))  # reached only at the mapped port
    assert nat.send(3, 0, PORT) and nat.admits(3, 0) and not nat.admits(3, 4)
    # Told of 3 by 4, 2 sends to the port 3 shows 4 (no mapping answers there); 3 answers from another
    assert not nat.send(2, 3, mapped_port(3, 4)) and not nat.admits(2, 3)
    assert nat.dropped == 8


def test_lookups_punch_through_restricted_nats() -> None:
    report = simulate(_config(nat=(("restricted", 0.3),)))
    figures = report.as_dict()
    assert report.success_rate == 1.0 and figures["nat_mix"] == {"none": 0.7, "restricted": 0.3}
    assert figures["lookups_by_target_nat"]["restricted"]["success_rate"] == 1.0
    punches = figures["punches"]
    assert punches["traverse_sent"] > 0 and punches["traverse_answered"] > 0 and punches["punched"] > 0
    assert figures["nat_dropped"] > 0  # the direct packets a restricted NAT refused before the Traverse came


def test_a_mixed_network_fails_only_where_no_punch_can_join() -> None:
    figures = simulate(_config(nat=MIX)).as_dict()
    pairs = figures["success_by_nat_pair"]
    assert all(rate == 1.0 for pair, rate in pairs.items() if pair not in UNPUNCHABLE)
    assert any(pairs.get(pair, 1.0) < 1.0 for pair in UNPUNCHABLE)
    assert figures["lookups_by_target_nat"]["full_cone"]["success_rate"] == 1.0


def test_a_nat_run_is_deterministic_sharded_and_filled_by_handshakes() -> None:
    small = {"nodes": 120, "lookups": 30, "nat": MIX}
    first = simulate(_config(**small, loss=0.05))
    assert simulate(_config(**small, loss=0.05)).records == first.records
    sharded = run_sharded(_config(**small, loss=0.05, workers=3), in_process=True)
    assert sharded.records == first.records and sharded.as_dict()["punches"] == first.as_dict()["punches"]
    assert simulate(_config(**small, fill="handshake")).records == simulate(_config(**small)).records


def test_scenarios_and_the_command_line_take_a_nat_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nat.toml"
    path.write_text("[network]\nnodes = 60\n[nat]\nrestricted = 0.2\nsymmetric = 0.1\n[workload]\nlookups = 8\n")
    assert load_scenario(path).config.nat == (("restricted", 0.2), ("symmetric", 0.1))
    assert main(["--scenario", str(path), "--nat", "none=0.5,full_cone=0.5", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["nat_mix"] == {"none": 0.5, "full_cone": 0.5} and printed["success_rate"] == 1.0
    assert "nat_mix" not in simulate(_config(nodes=60, lookups=4)).as_dict()


@pytest.mark.parametrize(
    ("nat", "message"),
    [
        ("cone = 0.2", "unknown NAT kind nat.cone"),
        ("symmetric = 1.5", r"nat.symmetric must be a fraction of the nodes in \[0, 1\]"),
        ("symmetric = true", "nat.symmetric must be a fraction"),
        ("restricted = 0.6\nsymmetric = 0.6", "add up to at most 1"),
    ],
)
def test_bad_nat_mixes_are_refused_clearly(tmp_path: Path, nat: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[network]\nnodes = 60\n[nat]\n{nat}\n[workload]\nlookups = 8\n")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_the_command_line_and_the_abstract_model_refuse_bad_mixes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--nodes", "20", "--lookups", "2", "--nat", "restricted"])
    assert "KIND=FRACTION" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs the engine model"):
        _config(nat=MIX, model="abstract").check()
