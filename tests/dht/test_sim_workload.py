"""Stores and searches in the engine model: every node runs a DhtService; what is put is found again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peernet_dht._sim_scenario import load_scenario
from peernet_dht.sim import SimConfig, main, simulate


def _config(**changes: object) -> SimConfig:
    return SimConfig(**{"nodes": 80, "lookups": 10, "seed": 2, "stores": 8, **changes})  # type: ignore[arg-type]


def test_stored_values_are_found_by_other_nodes() -> None:
    figures = simulate(_config()).as_dict()
    assert figures["stores"] == 8 and figures["store_replicas_mean"] == 20  # k closest peers acknowledged
    assert figures["gets_found_rate"] == 1.0 and figures["success_rate"] == 1.0
    assert figures["store_messages_mean"] >= 20 and figures["get_messages_mean"] >= 1
    assert 0 < figures["get_seconds_median"] < 2


def test_stores_are_the_same_with_signed_packets_and_the_same_seed() -> None:
    names = ("store_replicas_mean", "store_messages_mean", "gets_found_rate", "get_messages_mean", "get_seconds_median")
    trusted, signed = simulate(_config(loss=0.05)), simulate(_config(loss=0.05, packets="signed"))
    assert trusted.records == signed.records
    assert {n: trusted.as_dict()[n] for n in names} == {n: signed.as_dict()[n] for n in names}


def test_stores_survive_churn_and_loss() -> None:
    figures = simulate(_config(nodes=100, loss=0.05, leaves=((0.5, 0.2),))).as_dict()
    assert figures["gets_found_rate"] >= 0.75 and figures["left_during_lookups"] == 20


def test_published_files_are_found_by_searches() -> None:
    figures = simulate(_config(stores=0, searches=6)).as_dict()
    assert "stores" not in figures and figures["searches"] == 6
    assert figures["searches_found_rate"] == 1.0 and figures["publish_stored_mean"] > 0
    assert figures["search_messages_mean"] > 0 and 0 < figures["search_seconds_median"] < 5


def test_no_stores_no_service_figures() -> None:
    figures = simulate(_config(stores=0)).as_dict()
    assert "stores" not in figures and "searches" not in figures


def test_scenarios_and_the_command_line_take_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stores.toml"
    path.write_text("[network]\nnodes = 50\n[workload]\nlookups = 4\nstores = 3\nsearches = 1\n")
    assert (load_scenario(path).config.stores, load_scenario(path).config.searches) == (3, 1)
    assert main(["--scenario", str(path), "--stores", "2", "--searches", "2", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["stores"] == printed["searches"] == 2 and printed["gets_found_rate"] == 1.0


def test_stores_need_one_process_and_the_engine_model() -> None:
    for config in (_config(workers=2), _config(model="abstract"), _config(stores=-1), _config(searches=-1)):
        with pytest.raises(ValueError, match=r"stores (or|and) searches"):
            config.check()
