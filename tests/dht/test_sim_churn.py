"""The churn schedule: nodes leave at given times during the lookups (engine model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peernet_dht._sim_plan import SimPlan
from peernet_dht._sim_scenario import ScenarioError, load_scenario
from peernet_dht._sim_shards import run_sharded
from peernet_dht.sim import SimConfig, main, simulate

SCHEDULE = ((0.0, 0.1), (0.4, 0.2))


def _config(**changes: object) -> SimConfig:
    return SimConfig(**{"nodes": 120, "lookups": 30, "seed": 3, "leaves": SCHEDULE, **changes})  # type: ignore[arg-type]


def test_the_plan_schedules_leaves_and_judges_lookups_by_who_is_up() -> None:
    plan = SimPlan(_config())
    assert sorted(plan.leave_at.values()).count(0.0) == 12 and len(plan.leave_at) == 12 + 24
    assert len(plan.up_at(0.1)) == 108 and len(plan.up_at(0.5)) == 84
    for lookup in plan.lookups():
        assert lookup.source not in plan.leave_at  # sources stay up: every lookup ends
        truth = next(i for i, key in enumerate(plan.public_keys) if key.node_id == lookup.truth)
        assert plan.leave_at.get(truth, float("inf")) > lookup.start


def test_leaving_nodes_cost_lookups_and_are_reported() -> None:
    calm = simulate(_config(leaves=()))
    stormy = simulate(_config(leaves=((0.0, 0.3), (0.3, 0.3))))
    figures = stormy.as_dict()
    assert figures["churn_schedule"] == [[0.0, 0.3], [0.3, 0.3]] and figures["left_during_lookups"] == 72
    assert "churn_schedule" not in calm.as_dict()
    assert figures["requests_per_lookup"] > calm.as_dict()["requests_per_lookup"]
    assert figures["table_size_mean"] == pytest.approx(calm.as_dict()["table_size_mean"], rel=0.2)


def test_a_scheduled_run_is_the_same_sharded_and_unsharded() -> None:
    whole = simulate(_config(loss=0.05))
    sharded = run_sharded(_config(loss=0.05, workers=2), in_process=True)
    assert whole.records == sharded.records and whole.as_dict()["left_during_lookups"] == 36


def test_scenarios_and_the_command_line_take_a_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "churn.toml"
    path.write_text("[network]\nnodes = 60\n[churn]\nleave = [[0.2, 0.1]]\n[workload]\nlookups = 8\n")
    assert load_scenario(path).config.leaves == ((0.2, 0.1),)
    assert main(["--scenario", str(path), "--leave", "0.1:0.05,0.5:0.1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["churn_schedule"] == [[0.1, 0.05], [0.5, 0.1]] and printed["left_during_lookups"] == 9


@pytest.mark.parametrize(
    ("churn", "message"),
    [
        ("leave = [0.2, 0.1]", "churn.leave must be a list of [seconds, fraction]"),
        ("leave = [[0.2, 1.5]]", "fractions in (0, 1)"),
        ("leave = [[0.1, 0.6], [0.2, 0.6]]", "leaves fewer than 2 nodes"),
        ("join = [[0.2, 0.1], 3]", "churn.join must be a list of [seconds, fraction]"),
        ("join = [[0.1, 0.5]]\nleave = [[0.2, 0.5]]", "leave fewer than 2 nodes up all the run"),
    ],
)
def test_bad_schedules_are_refused_clearly(tmp_path: Path, churn: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[network]\nnodes = 60\n[churn]\n{churn}\n[workload]\nlookups = 8\n")
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_scenario(path)


def test_the_abstract_model_refuses_a_schedule() -> None:
    with pytest.raises(ValueError, match="needs the engine model"):
        _config(model="abstract").check()
