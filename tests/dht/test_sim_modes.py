"""The simulator's fast paths keep the model honest: trusted packets, direct fill and sharding
give the same lookups as signed packets, real handshakes and one process, for the same seed."""

from __future__ import annotations

from typing import Any

import pytest

from peernet_dht._sim_shards import run_sharded
from peernet_dht.sim import SimConfig, SimReport, simulate

COUNTERS = ("messages_per_lookup", "packets_per_lookup", "packets_lost", "packets_unroutable", "table_size_mean",
            "engine_peers_mean", "load_mean", "load_max", "hops_median", "success_rate")  # fmt: skip


def _same(first: SimReport, second: SimReport, names: tuple[str, ...] = COUNTERS) -> None:
    assert first.records == second.records
    one, two = first.as_dict(), second.as_dict()
    assert {n: one[n] for n in names} == {n: two[n] for n in names}


def _config(**changes: Any) -> SimConfig:
    return SimConfig(**{"nodes": 150, "lookups": 40, "seed": 5, **changes})


def test_trusted_packets_give_the_signed_results() -> None:
    base = {"loss": 0.05, "churn": 0.1}
    trusted = simulate(_config(packets="trusted", **base))
    signed = simulate(_config(packets="signed", **base))
    _same(trusted, signed)
    assert trusted.as_dict()["packets_lost"] > 0 and trusted.as_dict()["packets_unroutable"] > 0


def test_direct_fill_gives_the_handshake_lookups() -> None:
    direct = simulate(_config(fill="direct", churn=0.1))
    handshake = simulate(_config(fill="handshake", churn=0.1))
    _same(direct, handshake)
    assert direct.as_dict()["fill_packets"] == 0
    assert handshake.as_dict()["fill_packets"] == 4 * handshake.as_dict()["fill_handshakes"] > 150 * 40
    assert direct.as_dict()["success_rate"] >= 0.95


def test_same_seed_same_results_and_another_seed_differs() -> None:
    config = _config(loss=0.1, churn=0.1)
    first = simulate(config)
    _same(first, simulate(config))
    assert simulate(_config(loss=0.1, churn=0.1, seed=6)).records != first.records


@pytest.mark.parametrize("workers", [2, 3])
def test_shards_give_the_unsharded_results(workers: int) -> None:
    config = _config(loss=0.05, churn=0.1)
    whole = simulate(config)
    sharded = run_sharded(_config(loss=0.05, churn=0.1, workers=workers), in_process=True)
    _same(whole, sharded)
    assert sharded.as_dict()["windows"] == whole.as_dict()["windows"]


def test_sharded_run_on_ray_with_two_workers() -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        config = _config(nodes=120, lookups=20, loss=0.05)
        sharded = simulate(_config(nodes=120, lookups=20, loss=0.05, workers=2))
    finally:
        ray.shutdown()
    _same(simulate(config), sharded)
    assert len(sharded.as_dict()["peak_rss_per_process"]) == 3  # the driver and two workers


def test_handshake_fill_cannot_be_sharded() -> None:
    with pytest.raises(ValueError, match="direct fill"):
        _config(fill="handshake", workers=2).check()
