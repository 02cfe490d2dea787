"""NAT traversal in the NAT lab: port mappings, hole punching, and what works behind which NAT.

Needs root, Linux network namespaces, nftables and miniupnpd (see scripts/debian-packages.txt);
without them it says why and exits 0. Three parts:

* mapping: time from start to a working external port mapping, per protocol. Each run starts a
  node inside a1 (behind router r1), measures from the start of its port mapper to the "mapped"
  event, checks from the public host that the mapping really forwards, and stops the node (which
  deletes the mapping).
* punch: time to a punched connection between real engines, cone/cone, over PUNCH_TRIALS trials:
  from the initiator's request (direct + Traverse through the relay) to the target's Response,
  next to the round trip of one request to the relay on the same path (the baseline).
* matrix: which NAT pairs connect with which method, MATRIX_TRIALS trials per cell: "direct"
  (the request to the address the relay reports, no relay), "punch" (with the relay), "mapped"
  (the target keeps a UPnP/NAT-PMP/PCP mapping through peernet's ReachabilityMonitor and reports
  its external port; the request goes there directly).

    python benchmarks/bench_nat.py [RUNS] [--punch-trials N] [--matrix-trials N] [--only PART]
"""

from __future__ import annotations

import argparse
import itertools
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "nat"))

from lab import HERE, NAT_TYPES, NatLab, lab_unavailable_reason
from punch_lab import PunchLab

METHODS = ("pcp", "natpmp", "upnp")
PUNCH_METHODS = ("direct", "punch", "mapped")
MATRIX_TIMEOUT = 3.0  # seconds per request in the matrix; a failure is noticed by the next tick


def time_one(lab: NatLab, method: str, port: int) -> float:
    client = lab.python("a1", HERE / "nat_client.py", method, str(port), "60")
    try:
        start = lab.next_event(client, ["start"], timeout=10)
        mapped = lab.next_event(client, ["mapped", "failed"], timeout=10)
        if mapped["event"] != "mapped":
            raise RuntimeError(f"{method}: {mapped}")
        if not lab.udp_reachable("rdv", lab.wan_ip("r1"), int(str(mapped["external_port"]))):
            raise RuntimeError(f"{method}: mapping does not forward")
        return float(str(mapped["t"])) - float(str(start["t"]))
    finally:
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=10)


def bench_mapping(runs: int) -> None:
    with NatLab() as lab:
        print(f"time from start to a working external mapping ({runs} runs, miniupnpd 2.3.1 in the lab)")
        print(f"{'protocol':<8} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
        for index, method in enumerate(METHODS):
            times = [time_one(lab, method, 7500 + 10 * index + run) * 1000 for run in range(runs)]
            print(f"{method:<8} {statistics.median(times):>10.1f} {min(times):>8.1f} {max(times):>8.1f}")


def bench_punch(trials: int) -> None:
    with NatLab(nat1="cone", nat2="cone", upnp=False) as lab:
        session = PunchLab(lab)
        outcomes = session.punch(session.targets(trials, 8000), 9000, timeout=5.0)
    punched = [o for o in outcomes if o["success"]]
    print(f"\ntime to a punched connection, cone/cone ({trials} trials, a fresh initiator and target each)")
    print(f"{'':<34} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for label, values in (
        ("request -> Response, punched", [float(o["seconds"]) * 1000 for o in punched]),
        ("baseline: request to the relay", [float(o["relay_rtt"]) * 1000 for o in outcomes if o.get("relay_rtt")]),
    ):
        if values:
            print(f"{label:<34} {statistics.median(values):>10.2f} {min(values):>8.2f} {max(values):>8.2f}")
    print(f"succeeded: {len(punched)}/{trials}")


def matrix_cell(session: PunchLab, trials: int) -> dict[str, tuple[int, int]]:
    """All three methods at once, each with its own targets and initiator ports."""
    starting = {
        method: session.start_targets(
            trials, 8000 + 100 * index, *(["--map", "--wait-mapped"] if method == "mapped" else [])
        )
        for index, method in enumerate(PUNCH_METHODS)
    }
    targets = {method: session.targets_ready(process) for method, process in starting.items()}
    initiators: dict[str, subprocess.Popen[str]] = {
        method: session.start_initiator(
            targets[method], 9000 + 100 * index, timeout=MATRIX_TIMEOUT, concurrent=True, direct=method != "punch"
        )
        for index, method in enumerate(PUNCH_METHODS)
    }
    result = {}
    for method, initiator in initiators.items():
        outcomes: list[dict[str, Any]] = session.outcomes(initiator, MATRIX_TIMEOUT + 15)
        result[method] = (sum(1 for o in outcomes if o["success"]), len(outcomes))
    return result


def bench_matrix(trials: int) -> None:
    print(
        f"\nsuccess matrix: initiator on a1 behind r1, target on b1 behind r2, relay public ({trials} trials per cell)"
    )
    print(f"{'r1 / r2 NAT':<24}" + "".join(f"{method:>9}" for method in PUNCH_METHODS))
    started = time.monotonic()
    for nat1, nat2 in itertools.product(NAT_TYPES, NAT_TYPES):
        with NatLab(nat1=nat1, nat2=nat2, upnp=True) as lab:
            cell = matrix_cell(PunchLab(lab), trials)
        print(f"{nat1 + ' / ' + nat2:<24}" + "".join(f"{f'{ok}/{n}':>9}" for ok, n in cell.values()), flush=True)
    print(
        f"({time.monotonic() - started:.0f} s; NAT types as in tests/nat/lab.py: "
        "cone = Linux masquerade, port-restricted)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="?", type=int, default=5, help="mapping runs per protocol")
    parser.add_argument("--punch-trials", type=int, default=20)
    parser.add_argument("--matrix-trials", type=int, default=3)
    parser.add_argument("--only", choices=["mapping", "punch", "matrix"])
    args = parser.parse_args()
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench_nat: skipped: {reason}")
        return 0
    if args.only in (None, "mapping"):
        bench_mapping(args.runs)
    if args.only in (None, "punch"):
        bench_punch(args.punch_trials)
    if args.only in (None, "matrix"):
        bench_matrix(args.matrix_trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
