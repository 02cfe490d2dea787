"""Lookups on 500 simulated nodes (the big runs are in benchmarks/bench_dht.py)."""

from __future__ import annotations

import json
import math

import pytest

from peernet_dht.sim import SimConfig, main, simulate

LOOKUPS = 150


@pytest.mark.parametrize(
    ("loss", "churn", "minimum"),
    [(0.0, 0.0, 1.0), (0.1, 0.0, 0.99), (0.0, 0.3, 0.95)],
    ids=["clean", "loss-10%", "churn-30%"],
)
def test_success_rate_on_500_nodes(loss: float, churn: float, minimum: float) -> None:
    summary = simulate(SimConfig(nodes=500, lookups=LOOKUPS, seed=7, loss=loss, churn=churn)).as_dict()
    assert summary["lookups"] == LOOKUPS
    assert summary["success_rate"] >= minimum
    assert summary["hops_median"] <= math.log2(500) / math.log2(40) + 2
    assert summary["messages_per_lookup"] < 200


def test_same_seed_same_outcome() -> None:
    first = simulate(SimConfig(nodes=200, lookups=20, seed=3, loss=0.1)).as_dict()
    second = simulate(SimConfig(nodes=200, lookups=20, seed=3, loss=0.1)).as_dict()
    for name in ("success_rate", "hops_median", "hops_p95", "messages_per_lookup"):
        assert first[name] == second[name]


def test_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--nodes", "100", "--lookups", "10", "--seed", "1", "--loss", "0.05", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for name in ("nodes", "lookups", "success_rate", "hops_median", "hops_p95", "messages_per_lookup", "wall_seconds"):
        assert name in summary
    assert summary["nodes"] == 100 and summary["lookups"] == 10


def test_cli_rejects_nonsense() -> None:
    with pytest.raises(SystemExit):
        main(["--nodes", "1", "--lookups", "1", "--json"])
