"""Time from start to a working external port mapping, per protocol, in the NAT lab.

Needs root, Linux network namespaces, nftables and miniupnpd (see scripts/debian-packages.txt);
without them it says why and exits 0. Each run starts a node inside the lab's a1 namespace (behind
router r1), measures from the start of its port mapper to the "mapped" event, then checks from
the public host that the mapping really forwards, and stops the node (which deletes the mapping).

    python benchmarks/bench_nat.py [RUNS]
"""

from __future__ import annotations

import signal
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "nat"))

from lab import HERE, NatLab, lab_unavailable_reason  # noqa: E402

METHODS = ("pcp", "natpmp", "upnp")


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


def main() -> int:
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench_nat: skipped: {reason}")
        return 0
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with NatLab() as lab:
        print(f"time from start to a working external mapping ({runs} runs, miniupnpd 2.3.1 in the lab)")
        print(f"{'protocol':<8} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
        for index, method in enumerate(METHODS):
            times = [time_one(lab, method, 7500 + 10 * index + run) * 1000 for run in range(runs)]
            print(f"{method:<8} {statistics.median(times):>10.1f} {min(times):>8.1f} {max(times):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
