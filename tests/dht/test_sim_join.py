"""Joining nodes in the engine model: offline until their time, then a real bootstrap through a root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peernet_dht._sim_plan import JOIN_SETTLE, SimPlan
from peernet_dht._sim_scenario import load_scenario
from peernet_dht._sim_shards import run_sharded
from peernet_dht.sim import SimConfig, main, simulate

JOINS = ((0.1, 0.1), (0.5, 0.1))


def _config(**changes: object) -> SimConfig:
    values = {"nodes": 200, "lookups": 60, "seed": 1, "joins": JOINS, "lookup_spread": 3.0, **changes}
    return SimConfig(**values)  # type: ignore[arg-type]


def test_the_plan_keeps_joining_nodes_out_of_tables_and_truths_until_they_join() -> None:
    plan = SimPlan(_config(leaves=((0.3, 0.1),)))
    assert len(plan.join_at) == 40 and not set(plan.join_at) & set(plan.leave_at)
    assert all(not len(plan.ideal(index)) for index in plan.join_at)
    assert not set(plan.join_at) & {p for index in range(200) for p in plan.ideal(index)}
    assert len(plan.up_at(0.0)) == 160 and len(plan.up_at(0.2)) == 180 and len(plan.up_at(0.6)) == 180  # 20 left
    for lookup in plan.lookups():
        truth = next(i for i, key in enumerate(plan.public_keys) if key.node_id == lookup.truth)
        assert plan.join_at.get(truth, 0.0) <= lookup.start
        assert plan.join_at.get(lookup.source, -JOIN_SETTLE) + JOIN_SETTLE <= lookup.start
    assert plan.join_root(next(iter(plan.join_at))) in plan.stayers()


def test_joining_nodes_bootstrap_and_are_found() -> None:
    figures = simulate(_config()).as_dict()
    assert figures["join_schedule"] == [[0.1, 0.1], [0.5, 0.1]]
    assert figures["nodes_joining"] == figures["nodes_joined"] == 40
    assert figures["lookups_for_joined"]["lookups"] > 5 and figures["lookups_from_joined"]["lookups"] > 0
    assert figures["lookups_from_joined"]["success_rate"] == 1.0
    # Found once the bootstrap has told its neighbours (a lookup a few ms after a join may miss it)
    assert figures["lookups_for_joined"]["success_rate"] >= 0.9 and figures["success_rate"] >= 0.95
    assert "join_schedule" not in simulate(_config(joins=())).as_dict()


def test_a_run_with_joins_is_deterministic_sharded_and_filled_by_handshakes() -> None:
    small = {"nodes": 120, "lookups": 30}
    first = simulate(_config(**small))
    assert simulate(_config(**small)).records == first.records
    assert run_sharded(_config(**small, workers=2), in_process=True).records == first.records
    assert simulate(_config(**small, fill="handshake")).records == first.records


def test_scenarios_and_the_command_line_take_joins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "join.toml"
    path.write_text("[network]\nnodes = 80\n[churn]\njoin = [[0.2, 0.1]]\n[workload]\nlookups = 10\n")
    assert load_scenario(path).config.joins == ((0.2, 0.1),)
    assert main(["--scenario", str(path), "--join", "0.1:0.05,0.3:0.1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["join_schedule"] == [[0.1, 0.05], [0.3, 0.1]] and printed["nodes_joined"] == 12


def test_the_abstract_model_refuses_joins() -> None:
    with pytest.raises(ValueError, match="joining nodes need the engine model"):
        _config(model="abstract").check()
