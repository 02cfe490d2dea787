"""The simulator: lookups on 500 nodes that are real peer engines in simulated time
(the large runs are benchmarks/bench_sim.py; the fast paths' equivalence is test_sim_modes.py)."""

from __future__ import annotations

import json
import math

import pytest

from peernet_dht.sim import SimConfig, main, simulate, write_hops_plot

LOOKUPS = 150


@pytest.mark.parametrize(
    ("loss", "churn", "minimum"),
    [(0.0, 0.0, 1.0), (0.1, 0.0, 0.99), (0.0, 0.3, 0.95)],
    ids=["clean", "loss-10%", "churn-30%"],
)
def test_success_rate_on_500_engine_nodes(loss: float, churn: float, minimum: float) -> None:
    summary = simulate(SimConfig(nodes=500, lookups=LOOKUPS, seed=7, loss=loss, churn=churn)).as_dict()
    assert summary["model"] == "engine"
    assert summary["lookups"] == LOOKUPS
    assert summary["success_rate"] >= minimum
    assert summary["hops_median"] <= math.log2(500) / math.log2(40) + 2
    assert summary["messages_per_lookup"] < 200
    # The tables were installed as a clean handshake fill leaves them: no packets.
    assert summary["fill"] == "direct" and summary["packets"] == "trusted"
    assert summary["fill_packets"] == 0 and summary["fill_entries"] > 500 * 50
    assert summary["table_size_mean"] > 80
    if loss == churn == 0:
        # Every datagram of the lookup phase is a lookup's request or answer (a few answers are
        # still in flight at the end), or the routability check a node that does not know the asker
        # adds (its token Announcement and the Response echoing it): no keep-alive traffic.
        assert summary["messages_per_lookup"] - 0.1 <= summary["packets_per_lookup"]
        assert summary["packets_per_lookup"] <= 1.5 * summary["messages_per_lookup"]
        assert summary["keepalive_pongs"] == 0
        assert summary["deadline_hits"] == 0


def test_same_seed_same_outcome() -> None:
    config = SimConfig(nodes=80, lookups=20, seed=3, loss=0.1, churn=0.1)
    first, second = simulate(config), simulate(config)
    assert first.records == second.records
    for name in ("messages_per_lookup", "fill_packets", "packets_per_lookup", "packets_lost", "table_size_mean"):
        assert first.as_dict()[name] == second.as_dict()[name]


def test_abstract_model_is_still_available() -> None:
    summary = simulate(SimConfig(nodes=300, lookups=30, seed=2, model="abstract")).as_dict()
    assert summary["model"] == "abstract" and summary["success_rate"] == 1.0


def test_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--nodes", "60", "--lookups", "10", "--seed", "1", "--loss", "0.05", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for name in ("nodes", "lookups", "success_rate", "hops_median", "hops_p95", "messages_per_lookup", "wall_seconds",
                 "peak_rss_bytes", "reproducibility"):
        assert name in summary
    assert summary["nodes"] == 60 and summary["lookups"] == 10 and summary["model"] == "engine"
    assert summary["peak_rss_bytes"] > 10 * 2**20


def test_cli_keeps_the_old_way_selectable(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--nodes", "60", "--lookups", "10", "--seed", "1", "--fill", "handshake", "--packets", "signed", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["fill"], summary["packets"]) == ("handshake", "signed")
    # Announcement and Response each way: the stranger's Announcement is answered statelessly with our
    # token Announcement, whose Response admits it (return routability before state).
    assert summary["fill_packets"] == 4 * summary["fill_handshakes"] > 0


def test_cli_churn_sweep(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--nodes", "200", "--lookups", "10", "--model", "abstract", "--churn-sweep", "0,0.2", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [run["churn"] for run in summary["churn_sweep"]] == [0.0, 0.2]


@pytest.mark.parametrize(
    "argv",
    [
        ["--nodes", "1", "--lookups", "1"],
        ["--nodes", "10", "--lookups", "1", "--loss", "1.5"],
        ["--nodes", "10", "--lookups", "1", "--model", "nonsense"],
        ["--nodes", "10", "--lookups", "1", "--churn-sweep", "a,b"],
        ["--nodes", "10", "--lookups", "1", "--fill", "sometimes"],
        ["--nodes", "10", "--lookups", "1", "--fill", "handshake", "--workers", "2"],
        ["--lookups", "1"],
    ],
)
def test_cli_rejects_nonsense(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main([*argv, "--json"])


def test_hops_plot_is_a_png_or_refused_without_matplotlib(tmp_path) -> None:
    report = simulate(SimConfig(nodes=50, lookups=5, seed=1, model="abstract"))
    path = tmp_path / "hops.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert write_hops_plot(report, str(path)) is False
        assert not path.exists()
    else:
        assert write_hops_plot(report, str(path)) is True
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
