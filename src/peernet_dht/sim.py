"""A Kademlia simulator for researchers: lookups on N simulated nodes, in simulated time.

    python -m peernet_dht.sim --nodes 10000 --lookups 1000 --seed 1 [--loss 0.1] [--churn 0.3] --json

prints one JSON object: nodes, lookups, success_rate (fraction of lookups whose nearest result is
the live node truly closest to the key), hops_median, hops_p95, messages_per_lookup, wall_seconds
and more. ``--plot hops.png`` writes a histogram of hops; ``--churn-sweep 0,0.1,0.2,0.3
--plot churn.png`` runs once per churn level and plots success against churn (plots need
matplotlib, which is optional).

Two models (``--model``):

* ``engine`` (default): every node is a real ``PeerEngine`` with a ``RoutingTable`` on its own
  host of peernet_proto's ``MemoryNetwork``; tables are filled by real handshakes, lookups run
  through ``LookupDriver``; every packet is encrypted, signed and decoded. See
  :mod:`peernet_dht._sim_engine`. 0.3 to 0.4 ms of CPU per packet, nearly all of them filling
  the tables (two per pair of peers): 500 nodes take ~30 s, 10 000 nodes ~24 min and 3.4 GiB
  (``--fill 10`` shakes ~40 % fewer hands).
* ``abstract``: Python values on an idealised network, tables pre-filled, lookups one after
  another. Seconds for 10 000 nodes; no wire format, engine or crypto.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from ._lookup import ALPHA
from ._routing import K
from ._sim_abstract import AbstractSimulator
from ._sim_runner import EngineSimulator
from ._sim_progress import Progress, RichProgress
from ._sim_report import MODELS, LookupRecord, SimConfig, SimReport

__all__ = [
    "AbstractSimulator",
    "EngineSimulator",
    "LookupRecord",
    "SimConfig",
    "SimReport",
    "main",
    "simulate",
    "write_churn_plot",
    "write_hops_plot",
]


def simulate(config: SimConfig, progress: Progress | None = None) -> SimReport:
    """Build the network ``config`` describes, run its lookups, and report."""
    config.check()
    if config.model == "abstract":
        return AbstractSimulator(config).run()
    if config.workers > 1 or config.ray_address:
        from ._sim_shards import run_sharded  # Ray is optional: imported only for sharded runs

        return run_sharded(config, progress)
    return EngineSimulator(config, progress).run()


def _pyplot() -> Any:
    """matplotlib.pyplot with a file backend, or None when matplotlib is not installed."""
    try:  # optional: matplotlib is not a dependency
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None


def write_hops_plot(report: SimReport, path: str) -> bool:
    """A histogram of hops per lookup as PNG; False if matplotlib is not installed."""
    plt = _pyplot()
    if plt is None:
        return False
    hops = [r.hops for r in report.records]
    config = report.config
    figure, axes = plt.subplots()
    axes.hist(hops, bins=range(0, max(hops, default=0) + 2), align="left", rwidth=0.8)
    axes.set_xticks(range(0, max(hops, default=0) + 1))
    axes.set_xlabel("hops")
    axes.set_ylabel("lookups")
    axes.set_title(f"{config.nodes} nodes ({config.model}), loss {config.loss}, churn {config.churn}")
    figure.savefig(path)
    plt.close(figure)
    return True


def write_churn_plot(reports: Sequence[SimReport], path: str) -> bool:
    """Success rate against churn, one point per report, as PNG; False without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return False
    ordered = sorted(reports, key=lambda r: r.config.churn)
    figure, axes = plt.subplots()
    axes.plot([r.config.churn for r in ordered], [r.success_rate for r in ordered], marker="o")
    axes.set_xlabel("fraction of nodes gone without notice")
    axes.set_ylabel("success rate")
    axes.set_ylim(0, 1.05)
    if ordered:
        config = ordered[0].config
        axes.set_title(f"{config.nodes} nodes ({config.model}), {config.lookups} lookups, loss {config.loss}")
    figure.savefig(path)
    plt.close(figure)
    return True


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m peernet_dht.sim", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--lookups", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss", type=float, default=0.0, help="probability that a datagram is lost")
    parser.add_argument("--churn", type=float, default=0.0, help="fraction of nodes that leave before the lookups")
    parser.add_argument("--model", choices=MODELS, default="engine")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--alpha", type=int, default=ALPHA)
    parser.add_argument("--fill", type=int, default=None, help="peers contacted per full bucket (default k)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", metavar="PNG", help="write a hops histogram, or with --churn-sweep success against churn")
    parser.add_argument("--churn-sweep", type=_fractions, metavar="LIST", help="one run per churn level, e.g. 0,0.1,0.2,0.3")
    args = parser.parse_args(argv)
    try:
        configs = [
            SimConfig(
                nodes=args.nodes, lookups=args.lookups, seed=args.seed, loss=args.loss, churn=churn,
                model=args.model, k=args.k, alpha=args.alpha, fill=args.fill,
            )
            for churn in args.churn_sweep or [args.churn]
        ]
        for config in configs:
            config.check()
    except ValueError as exc:
        parser.error(str(exc))
    reports = [simulate(config) for config in configs]
    if args.plot:
        written = write_churn_plot(reports, args.plot) if args.churn_sweep else write_hops_plot(reports[0], args.plot)
        if not written:
            print("matplotlib is not installed: no plot written", file=sys.stderr)
    summary: dict[str, Any] = reports[0].as_dict()
    if args.churn_sweep:
        summary = {"churn_sweep": [report.as_dict() for report in reports]}
    if args.json:
        print(json.dumps(summary))
    else:
        for summary_item in summary.get("churn_sweep", [summary]):
            for name, value in summary_item.items():
                print(f"{name:>28}: {value}")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
