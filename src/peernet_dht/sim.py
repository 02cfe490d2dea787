"""A Kademlia simulator for researchers: lookups on N simulated nodes, in simulated time.

    python -m peernet_dht.sim --nodes 10000 --lookups 1000 --seed 1 [--loss 0.1] [--churn 0.3] --json
    python -m peernet_dht.sim --scenario run.toml --out results/   # results/run.json + plots
    python -m peernet_dht.sim --nodes 100000 --lookups 1000 --workers 2   # sharded (Ray)
    python -m peernet_dht.sim --nodes 2000 --lookups 500 --leave 0.5:0.1 --stores 50 --searches 50
    python -m peernet_dht.sim --nodes 2000 --lookups 1000 --nat none=0.7,restricted=0.2,symmetric=0.1
    python -m peernet_dht.sim --nodes 2000 --lookups 1000 --join 0.5:0.05,1.0:0.05

prints one JSON object: nodes, lookups, success_rate (fraction of lookups whose nearest result is
the live node truly closest to the key), hops_median, hops_p95, messages_per_lookup, wall_seconds,
peak_rss_bytes and more; a reproducibility line (seed, versions, scenario hash) goes to stderr and
into the JSON. ``--out DIR`` writes the JSON and plots (hops, lookup latency, requests per lookup,
load per node) there; ``--churn-sweep 0,0.1,0.2,0.3`` runs once per churn level (with ``--out``
or ``--plot`` it plots success against churn). ``--leave AT:FRACTION,...`` is a churn schedule
during the lookups, ``--join AT:FRACTION,...`` nodes that are offline until AT and then join
through a root node (engine model); ``--stores`` and ``--searches`` add values stored and fetched, files
published and searched for (engine model, one process). ``--nat KIND=FRACTION,...`` puts
nodes behind full cone, restricted or symmetric NATs; lookups punch through them (see
:mod:`peernet_dht._sim_nat`). Plots need matplotlib (optional).

Two models (``--model``):

* ``engine`` (default): every node is a real ``PeerEngine`` with a ``RoutingTable``, driven in a
  discrete-event loop in simulated time (see :mod:`peernet_dht._sim_engine`). ``--fill direct``
  (default) installs the tables a clean handshake fill leaves, ``--fill handshake`` shakes hands
  for real; ``--packets trusted`` (default) skips signatures and encryption, ``--packets signed``
  runs the wire format. For the same seed all four give the same lookups (without loss).
  ``--workers N`` shards the nodes over N processes with Ray (``--ray-address`` for a cluster).
* ``abstract``: Python values on an idealised network, tables built on first use, lookups one
  after another. No wire format, engine or crypto; a million nodes fit one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from attrs import asdict as _asdict

from ._lookup import ALPHA
from ._routing import K
from ._sim_abstract import AbstractSimulator
from ._sim_plots import write_churn_plot, write_hops_plot, write_plots
from ._sim_progress import Progress, RichProgress
from ._sim_report import FILLS, MODELS, NAT_KINDS, PACKETS, LookupRecord, SimConfig, SimReport
from ._sim_runner import EngineSimulator
from ._sim_scenario import ScenarioError, load_scenario

__all__ = [
    "AbstractSimulator",
    "EngineSimulator",
    "LookupRecord",
    "SimConfig",
    "SimReport",
    "main",
    "reproducibility",
    "simulate",
    "write_churn_plot",
    "write_hops_plot",
    "write_plots",
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


def _version(*names: str) -> str:
    """The installed version of the first distribution found (the layer, else the workspace)."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def reproducibility(config: SimConfig, scenario_hash: str | None = None) -> dict[str, Any]:
    """Seed, versions and the hash of the scenario (or of the configuration) that produced a run."""
    if scenario_hash is None:
        canonical = json.dumps(vars_of(config), sort_keys=True).encode()
        scenario_hash = hashlib.sha256(canonical).hexdigest()[:16]
    return {
        "seed": config.seed,
        "scenario_hash": scenario_hash,
        "python": platform.python_version(),
        "peernet_dht": _version("peernet-dht", "peernet-workspace"),
        "peernet_proto": _version("peernet-proto", "peernet-workspace"),
    }


def vars_of(config: SimConfig) -> dict[str, Any]:
    """The configuration as a plain dict (ray_address and workers left out: they do not change results;
    features not used left out too, so a configuration hashes as it did before they existed)."""
    values = _asdict(config)
    return {k: v for k, v in values.items() if k not in ("ray_address", "workers") and not (k in _NEWER and not v)}


_NEWER = ("nat", "joins")  # added later; left out of the hash when not used


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


def _schedule(text: str) -> tuple[tuple[float, float], ...]:
    try:
        pairs = [part.split(":") for part in text.split(",") if part.strip()]
        return tuple((float(at), float(fraction)) for at, fraction in pairs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of AT:FRACTION pairs: {text!r}") from None


def _mix(text: str) -> tuple[tuple[str, float], ...]:
    try:
        pairs = [part.split("=") for part in text.split(",") if part.strip()]
        return tuple((kind.strip(), float(fraction)) for kind, fraction in pairs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of KIND=FRACTION pairs: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m peernet_dht.sim", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--scenario", metavar="FILE", help="a TOML or JSON scenario; other options override it")
    add("--nodes", type=int)
    add("--lookups", type=int)
    add("--seed", type=int)
    add("--stores", type=int, help="values stored and then fetched by another node (engine model, one process)")
    add("--searches", type=int, help="files published and then searched for by another node (likewise)")
    add("--loss", type=float, help="probability that a datagram is lost")
    add("--churn", type=float, help="fraction of nodes that leave before the lookups")
    add(
        "--leave",
        type=_schedule,
        metavar="AT:FRACTION,...",
        dest="leaves",
        help="churn schedule (engine model): at AT seconds after the lookups begin, FRACTION of all nodes leave",
    )
    add(
        "--join",
        type=_schedule,
        metavar="AT:FRACTION,...",
        dest="joins",
        help="joining nodes (engine model): FRACTION of all nodes are offline until AT seconds after the lookups "
        "begin, then bootstrap through a root",
    )
    add(
        "--nat",
        type=_mix,
        metavar="KIND=FRACTION,...",
        help=f"NAT mix (engine model), kinds {', '.join(NAT_KINDS)}; e.g. none=0.7,restricted=0.2,symmetric=0.1",
    )
    add("--model", choices=MODELS)
    add("--k", type=int)
    add("--alpha", type=int)
    add("--fill", choices=FILLS, help="direct (default): install the tables; handshake: real handshakes")
    add("--packets", choices=PACKETS, help="trusted (default): no signatures or encryption; signed: the wire format")
    add("--fill-per-bucket", type=int, help="peers known per bucket with more than k candidates (default k)")
    add("--workers", type=int, help="shard the engine model over this many processes (Ray)")
    add("--ray-address", help="a Ray cluster to run the shards on ('auto': the one this machine is in)")
    add("--json", action="store_true", help="print one JSON object")
    add("--out", metavar="DIR", help="write the results as JSON and plots into this directory")
    add("--progress", action="store_true", help="live progress on stderr (default when stderr is a terminal)")
    add("--plot", metavar="PNG", help="write a hops histogram, or with --churn-sweep success against churn")
    add("--churn-sweep", type=_fractions, metavar="LIST", help="one run per churn level, e.g. 0,0.1,0.2,0.3")
    return parser


_OPTIONS = ("nodes", "lookups", "seed", "loss", "churn", "model", "k", "alpha", "fill", "packets",
            "fill_per_bucket", "workers", "ray_address", "leaves", "stores", "searches", "nat", "joins")  # fmt: skip


def _configs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[list[SimConfig], str | None]:
    values: dict[str, Any] = {}
    digest = None
    if args.scenario:
        scenario = load_scenario(args.scenario)
        values = _asdict(scenario.config)
        digest = scenario.digest
    values.update({name: getattr(args, name) for name in _OPTIONS if getattr(args, name) is not None})
    if "nodes" not in values or "lookups" not in values:
        parser.error("--nodes and --lookups are required (or a --scenario that sets them)")
    values.setdefault("k", K)
    values.setdefault("alpha", ALPHA)
    configs = [SimConfig(**{**values, "churn": churn}) for churn in (args.churn_sweep or [values.get("churn", 0.0)])]
    for config in configs:
        config.check()
    return configs, digest


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        configs, digest = _configs(args, parser)
    except (ValueError, TypeError) as exc:  # ScenarioError is a ValueError
        parser.error(str(exc))
    show = args.progress or (sys.stderr.isatty() and not args.json)
    reports = [simulate(config, RichProgress() if show else None) for config in configs]
    line = reproducibility(configs[0], digest)
    print("reproduce: " + " ".join(f"{k}={v}" for k, v in line.items()), file=sys.stderr)
    summary: dict[str, Any] = {**reports[0].as_dict(), "reproducibility": line}
    if args.churn_sweep:
        summary = {"churn_sweep": [report.as_dict() for report in reports], "reproducibility": line}
    if args.plot:
        written = write_churn_plot(reports, args.plot) if args.churn_sweep else write_hops_plot(reports[0], args.plot)
        if not written:
            print("matplotlib is not installed: no plot written", file=sys.stderr)
    if args.out:
        _write_out(Path(args.out), Path(args.scenario).stem if args.scenario else "sim", summary, reports, args)
    if args.json:
        print(json.dumps(summary))
    else:
        for item in summary.get("churn_sweep", [summary]):
            for name, value in item.items():
                print(f"{name:>28}: {value}")
            print()
    return 0


def _write_out(directory: Path, stem: str, summary: dict[str, Any], reports: list[SimReport], args: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    written = [str(path)]
    if args.churn_sweep and write_churn_plot(reports, str(directory / f"{stem}.churn.png")):
        written.append(str(directory / f"{stem}.churn.png"))
    written += write_plots(reports[0], directory, stem)
    print("wrote " + ", ".join(written), file=sys.stderr)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ScenarioError as error:
        sys.exit(str(error))
