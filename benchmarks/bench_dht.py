"""DHT benchmark: the simulator at 10 000 nodes and 1 000 lookups, next to brute-force baselines.

    .venv/bin/python benchmarks/bench_dht.py [--nodes 10000] [--lookups 1000] [--seed 1] [--loss 0] [--churn 0]

Targets: success rate 1.0, median hops <= log2(N)/log2(2k) + 2, peak memory < 8 GiB.
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import sys
import time

from peernet_dht.sim import SimConfig, Simulator


def peak_memory_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--churn", type=float, default=0.0)
    args = parser.parse_args()
    config = SimConfig(nodes=args.nodes, lookups=args.lookups, seed=args.seed, loss=args.loss, churn=args.churn)

    began = time.perf_counter()
    simulator = Simulator(config)
    setup = time.perf_counter() - began
    memory_after_setup = peak_memory_gib()
    report = simulator.run(setup_seconds=setup)
    summary = report.as_dict()

    # Baselines measured in the same process: one brute-force scan of all N nodes for the closest
    # peer (what a node with global knowledge would pay) against one routing-table answer.
    rng = random.Random(args.seed)
    keys = [rng.randbytes(32) for _ in range(200)]
    node = simulator.nodes[0]
    t = time.perf_counter()
    for key in keys:
        simulator.true_closest(key, node)
    brute = (time.perf_counter() - t) / len(keys)
    t = time.perf_counter()
    for key in keys:
        node.table.closest(key, config.k)
    table = (time.perf_counter() - t) / len(keys)
    table_sizes = [len(n.table) for n in simulator.nodes]

    hops_target = math.log2(config.nodes) / math.log2(2 * config.k) + 2
    rows = [
        ("nodes", summary["nodes"], ""),
        ("lookups", summary["lookups"], ""),
        ("loss / churn", f"{config.loss} / {config.churn}", ""),
        ("success rate", summary["success_rate"], "target 1.0"),
        ("hops median", summary["hops_median"], f"target <= {hops_target:.2f}"),
        ("hops p95", summary["hops_p95"], ""),
        ("messages per lookup", round(summary["messages_per_lookup"], 1), f"flooding baseline: {2 * config.nodes}"),
        ("lookups hitting the deadline", summary["deadline_hits"], ""),
        ("simulated seconds per lookup (median)", round(summary["simulated_seconds_median"], 3), ""),
        ("contacts per routing table (mean)", round(sum(table_sizes) / len(table_sizes), 1), ""),
        ("closest() from a routing table", f"{table * 1e6:.1f} us", f"brute force over all N: {brute * 1e6:.1f} us"),
        ("setup wall seconds", round(setup, 2), ""),
        ("total wall seconds", summary["wall_seconds"], ""),
        ("peak memory", f"{peak_memory_gib():.2f} GiB", f"after setup {memory_after_setup:.2f} GiB; target < 8 GiB"),
    ]
    for name, value, note in rows:
        print(f"{name:>40}: {value!s:<14} {note}")
    ok = summary["success_rate"] >= 1.0 and summary["hops_median"] <= hops_target and peak_memory_gib() < 8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
