"""Scenario files: the format, and clear errors for bad input (library and command line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peernet_dht._sim_scenario import ScenarioError, load_scenario
from peernet_dht.sim import main

GOOD = """
[network]
nodes = 80
latency = [0.02, 0.1]
loss = 0.05

[churn]
fraction = 0.1

[workload]
lookups = 10

[run]
seed = 4
model = "engine"
"""


def test_a_toml_scenario_becomes_a_config(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    config = scenario.config
    assert (config.nodes, config.lookups, config.seed, config.loss, config.churn) == (80, 10, 4, 0.05, 0.1)
    assert config.latency == (0.02, 0.1) and len(scenario.digest) == 16


def test_json_scenarios_nest_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text(json.dumps({"network": {"nodes": 50}, "workload": {"lookups": 5}}))
    assert load_scenario(path).config.nodes == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[network\nnodes = 1", "not valid TOML"),
        ("[network]\nnodes = 80\n[workload]\nlookups = 1\n[weather]\nsun = 1", "unknown section [weather]"),
        ("[network]\nnodes = 80\nspeed = 3\n[workload]\nlookups = 1", "unknown key network.speed"),
        ("[network]\nnodes = 'many'\n[workload]\nlookups = 1", "network.nodes must be int"),
        ("[network]\nnodes = 80\nlatency = [0.1]\n[workload]\nlookups = 1", "network.latency must be [low, high]"),
        ("[network]\nnodes = 80\nloss = 1.5\n[workload]\nlookups = 1", "loss and churn must be in [0, 1)"),
        ("[network]\nnodes = 80", "missing workload.lookups"),
        ("[network]\nnodes = 80\n[churn]\njoin = [[0.1, 1.5]]\n[workload]\nlookups = 1", "joins: times must be"),
        ("[network]\nnodes = 80\n[nat]\nfull_cone = 1.5\n[workload]\nlookups = 1", "must be a fraction of the nodes"),
        ("[network]\nnodes = 80\n[workload]\nlookups = 1\n[run]\nfill = 'magic'", "fill must be one of"),
    ],
)
def test_bad_scenarios_are_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_cli_runs_a_scenario_and_writes_json_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "small.toml"
    path.write_text(GOOD)
    out = tmp_path / "out"
    assert main(["--scenario", str(path), "--nodes", "60", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "small.json").read_text())
    assert printed == written and written["nodes"] == 60 and written["seed"] == 4
    assert written["reproducibility"]["scenario_hash"] == load_scenario(path).digest
    for name in ("hops", "latency", "messages", "load"):
        assert (out / f"small.{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_reports_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[network]\nnodes = -3\n[workload]\nlookups = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "peernet_dht.sim", "--scenario", str(path), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "need at least 2 nodes" in result.stderr and "Traceback" not in result.stderr
