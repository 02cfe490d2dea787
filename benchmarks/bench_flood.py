"""The node under attack on real UDP (issue 14): the "before" and "after" figures of the defences.

Each attack runs for ``--duration`` seconds (≤ 20) against a node process in its own network
namespace, with one good peer pinging it every 0.2 s and a newcomer joining every second; the
baseline row is the same run without an attacker. Columns: the good peer's answered share (within
1 s) and median RTT during the attack and from 5 s after it, the seconds until every ping is
answered again, newcomers told the good peer's real address, the node's CPU share and peak RSS,
and the bytes the node relayed to the good peer. Needs root (skips with a reason otherwise).

    python benchmarks/bench_flood.py [--duration 10] [--after 10] [--only sybil,cost] [--json]
    python benchmarks/bench_flood.py --eviction     # the peer-table micro-benchmark (no root needed)

``--eviction``: a full table of 10,000 proven peers; the cost of one admission that is refused
(every peer live) and of one that evicts (every peer silent), with the lazy heap of last-heard
times and, as the baseline in the same run, the scan of the whole table it replaced.

Measured (10 s attacks, 2 shared cores; the baseline row of each run was 100 % answered, 10/10):

    attack    before: answered, RTT, newcomers told   after: answered, RTT, told, node CPU
    sybil     8 %, 429 ms, 0/10                       100 %, 0.6 ms, 10/10, 9 %
    sybil6    98 %, 201 ms                            100 %, 0.6 ms, 10/10, 8 %
    cost      27 %, 2,053 ms                          100 %, 0.8 ms, 10/10, 1 %
    hijack    told the right address 1/10             100 %, 0.6 ms, 10/10
    relay     115 MB relayed (budget 5 MB)            0.01 MB relayed, 10/10
    eclipse   fine                                    100 %, 0.6 ms, 10/10

With work budgets, pending shares per prefix, Traverse only to reported targets and the lazy
eviction heap (10 s attacks, 2 shared cores under a load of about 4; baseline 100 %, 0.7 ms,
10/10, 34 MB):

    attack    answered during/after, RTT during   recovery  told   node CPU  RSS     relayed
    sybil     100 % / 100 %, 0.6 ms                0.14 s    10/10  9 %      34 MB   0.01 MB
    sybil6    100 % / 100 %, 0.7 ms                0.11 s    10/10  7 %      34 MB   0.01 MB
    cost      100 % / 100 %, 0.8 ms                0.14 s    10/10  1 %      34 MB   0.01 MB
    hijack    100 % / 100 %, 0.8 ms                0.17 s    10/10  1 %      34 MB   0.01 MB
    relay     100 % / 100 %, 0.7 ms                0.18 s    10/10  7 %      34 MB   0.01 MB
    eclipse   100 % / 100 %, 0.7 ms                0.09 s    10/10  4 %      34 MB   0.01 MB

``--eviction`` (10,000 proven peers, same run): a refused admission 8.2 ms with the scan, 8 µs
with the heap; an evicting one 26.8 ms with the scan, 64 µs with the heap (including the
admission itself).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from peernet_proto import EngineConfig, PeerEngine, PrivateKey, PublicKey  # noqa: E402
from tests.attacks.netns import netns_unavailable_reason, run_real  # noqa: E402

__all__ = ["ATTACKS", "eviction", "main"]

# name: (attack of world_agent, datagrams a second, what it is)
ATTACKS: dict[str, tuple[str, float, str]] = {
    "baseline": ("none", 0, "no attack"),
    "sybil": ("sybil", 6400, "6,400 fresh identities/s from 400 IPv4 addresses"),
    "sybil6": ("sybil6", 6400, "6,400 fresh identities/s from one IPv6 /64"),
    "cost": ("cost", 20, "one 65 KB Announcement (2,040 FIND_PEER) replayed 20/s"),
    "hijack": ("hijack", 100, "the good peer's Announcement replayed 100/s from another address"),
    "relay": ("relay", 2 * 18_407 / 60, "307 throwaway identities/s, one 60 KB Traverse each"),
    "eclipse": ("eclipse", 50, "50 identities/s near the good peer"),
}


def _row(name: str, result: dict[str, Any]) -> dict[str, Any]:
    node = result["node"]
    return {
        "attack": name,
        "answered_during": result["answered_during"],
        "rtt_during_ms": None if result["rtt_during"] is None else result["rtt_during"] * 1000,
        "answered_after": result["answered_after"],
        "rtt_after_ms": None if result["rtt_after"] is None else result["rtt_after"] * 1000,
        "recovery_s": result["recovery"],
        "newcomers_told": f"{result['told_truth']}/{result['newcomers']}",
        "node_cpu_share": _cpu_share(node["samples"], *result["window"]),
        "node_rss_mb": node["max_rss_kb"] / 1024,
        "relayed_mb": result["good_received_bytes"] / 1e6,
        "peers_end": node["peers"],
        "sent": result.get("attacker", {}).get("sent", 0),
    }


def _cpu_share(samples: list[list[float]], start: float, stop: float) -> float:
    """The node's CPU share over the attack (samples: time, peers, CPU seconds)."""
    during = [s for s in samples if start - 0.5 <= s[0] <= stop + 0.5]
    if len(during) < 2:
        return 0.0
    return (during[-1][2] - during[0][2]) / (during[-1][0] - during[0][0])


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def _full_engine(peers: int) -> tuple[PeerEngine, list[PublicKey]]:
    """An engine whose table holds ``peers`` proven peers, and keys of newcomers."""
    rng = random.Random(5)
    engine = PeerEngine(PrivateKey(bytes(range(1, 33))), EngineConfig(local_discovery=False), rng=rng)
    engine.set_local_endpoints([("10.9.0.1", 4000)], 0.0)
    keys = [PrivateKey(rng.randbytes(31) + b"\x01").public_key for _ in range(peers + 2000)]
    for index, key in enumerate(keys[:peers]):
        address = f"{11 + index // 62500}.{index // 250 % 250}.{index % 250}.1"
        engine.install_peer(key, (address, 4000), float(index) / peers, port_internal=4000)
    return engine, keys[peers:]


def _scan_victim(engine: PeerEngine) -> object:
    """The eviction before: scan every peer for the longest silent one without an active connection."""
    candidates = [p for p in engine.table if not p.active_connections()]
    if not candidates:
        return None
    return min(candidates, key=lambda p: max((c.last_received for c in p.connections), default=p.first_seen))


def _per_call(calls: int, action: Callable[[int], object]) -> float:
    began = time.perf_counter()
    for index in range(calls):
        action(index)
    return (time.perf_counter() - began) / calls


def eviction(peers: int = 10_000, calls: int = 1000) -> dict[str, float]:
    """Seconds per refused and per evicting admission into a full table, now and with the scan."""
    engine, newcomers = _full_engine(peers)
    address = ("45.0.0.1", 4000)
    figures = {
        "refused_scan": _per_call(50, lambda _: _scan_victim(engine)),
        "refused_heap": _per_call(calls, lambda i: engine.install_peer(newcomers[i], address, 1.0)),
    }
    for peer in engine.table:  # every peer silent: each admission evicts one
        for connection in list(peer.connections):
            peer.invalidate(connection, 2.0)
    figures["evicting_scan"] = _per_call(50, lambda _: _scan_victim(engine))
    hosts = [(f"46.{i // 250}.{i % 250}.1", 4000) for i in range(calls)]
    figures["evicting_heap"] = _per_call(calls, lambda i: engine.install_peer(newcomers[calls + i], hosts[i], 3.0))
    assert len(engine.table) == peers
    return figures


def main() -> None:
    """Run the attacks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=10.0)
    parser.add_argument("--only", default=",".join(ATTACKS))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--eviction", action="store_true", help="only the peer-table micro-benchmark")
    args = parser.parse_args()
    if args.eviction:
        figures = eviction()
        print(json.dumps(figures) if args.json else "\n".join(f"{k}: {v * 1e6:.1f} µs" for k, v in figures.items()))
        return
    reason = netns_unavailable_reason()
    if reason:
        print(f"skipped: {reason}")
        return
    rows = []
    for name in args.only.split(","):
        attack, rate, _ = ATTACKS[name]
        rows.append(_row(name, run_real(attack, rate, min(args.duration, 20.0), after=args.after)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(_fmt(row[column]) for column in columns))


if __name__ == "__main__":
    main()
