"""DHT benchmark: the simulator at 10 000 nodes and 1 000 lookups, next to baselines of the same run.

    .venv/bin/python benchmarks/bench_dht.py [--nodes 10000] [--lookups 1000] [--seed 1] [--loss 0] [--churn 0]
                                             [--model engine|abstract] [--fill K] [--no-abstract]

Every node is a real peer engine (``--model engine``, the default) with the simulator's slow,
complete path: the tables are filled by real handshakes, the lookups run through LookupDriver,
every packet is encrypted, signed and decoded (``--fill handshake --packets signed``; the fast
defaults are measured by benchmarks/bench_sim.py). Baselines measured in the same process:

* the abstract model (Python values, no wire format) on the same seed: what the protocol and the
  engine change about success, hops and messages;
* the bare codec: CPU time of encode + decode of the packets the run sent (a fill handshake, a
  lookup request and its answer with five peer records, each timed here) times their number,
  against the run's CPU time: the overhead of engine, routing table, lookup driver, network and
  scheduling (CPU rather than wall time, which other processes on the machine inflate);
* memory per engine peer: peak memory over the connections all engines hold.

Targets: success rate 1.0, median hops <= log2(N)/log2(2k) + 2, peak memory < 8 GiB.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peernet_dht.sim import SimConfig, simulate
from peernet_proto import (
    Announcement,
    Hash2Peer,
    Packet,
    PeerRecord,
    PrivateKey,
    Response,
    decode_message,
    decode_packet,
    encode_packet,
)


def peak_memory_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def codec_seconds(command: int, payload: bytes, repeat: int = 300) -> float:
    """CPU seconds of encode + decode of one packet (encryption, signature, recovery, message decoding)."""
    sender, receiver = PrivateKey.generate(), PrivateKey.generate()
    began = time.process_time()
    for sequence in range(repeat):
        raw = encode_packet(Packet(0, command, sequence, payload), sender=sender, receiver=receiver.public_key)
        packet, _ = decode_packet(raw, receiver=receiver.public_key)
        decode_message(packet.command, packet.payload)
    return (time.process_time() - began) / repeat


def packet_costs() -> tuple[float, float]:
    """Seconds per packet of a fill handshake and of a lookup exchange (mean of request and answer)."""
    (hello,) = Announcement(features=3, user_agent="peernet-sim/0.1").encode()
    (welcome,) = Response(features=3, user_agent="peernet-sim/0.1").encode()
    key = bytes(range(32))
    (ask,) = Announcement(features=3, find_peer=[key]).encode()
    records = [
        PeerRecord(
            PrivateKey.generate().public_key, ipv4=f"11.0.0.{i + 1}", ipv4_port=112, ipv4_port_internal=112, features=3
        )
        for i in range(5)
    ]
    (answer,) = Response(features=3, hash2peers=[Hash2Peer(key, closest=records)]).encode()
    fill = (codec_seconds(0, hello) + codec_seconds(1, welcome)) / 2
    lookup = (codec_seconds(0, ask) + codec_seconds(1, answer)) / 2
    return fill, lookup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--churn", type=float, default=0.0)
    parser.add_argument("--model", choices=("engine", "abstract"), default="engine")
    parser.add_argument("--fill", type=int, default=None, help="peers contacted per full bucket (default k)")
    parser.add_argument("--no-abstract", action="store_true", help="skip the abstract-model baseline")
    args = parser.parse_args()
    config = SimConfig(
        nodes=args.nodes, lookups=args.lookups, seed=args.seed, loss=args.loss, churn=args.churn,
        model=args.model, fill_per_bucket=args.fill, fill="handshake", packets="signed",
    )
    config.check()
    fill_cost, lookup_cost = packet_costs()
    report = simulate(config)
    summary = report.as_dict()
    peak = peak_memory_gib()
    abstract = None
    if config.model == "engine" and not args.no_abstract:
        abstract = simulate(SimConfig(
            nodes=args.nodes, lookups=args.lookups, seed=args.seed, loss=args.loss, churn=args.churn,
            model="abstract", fill_per_bucket=args.fill,
        )).as_dict()

    def versus(name: str) -> str:
        return "" if abstract is None else f"abstract model: {round(abstract[name], 2)}"

    hops_target = math.log2(config.nodes) / math.log2(2 * config.k) + 2
    rows = [
        ("model", config.model, ""),
        ("nodes", summary["nodes"], ""),
        ("lookups", summary["lookups"], ""),
        ("loss / churn", f"{config.loss} / {config.churn}", ""),
        ("success rate", summary["success_rate"], "target 1.0; " + versus("success_rate")),
        ("hops median", summary["hops_median"], f"target <= {hops_target:.2f}; " + versus("hops_median")),
        ("hops p95", summary["hops_p95"], versus("hops_p95")),
        ("messages per lookup", round(summary["messages_per_lookup"], 1),
         f"{summary['messages_counted']}; " + versus("messages_per_lookup")),
        ("requests per lookup", round(summary["requests_per_lookup"], 1), versus("requests_per_lookup")),
        ("lookups hitting the deadline", summary["deadline_hits"], ""),
        ("simulated seconds per lookup (median)", round(summary["simulated_seconds_median"], 3), ""),
        ("contacts per routing table (mean)", summary["table_size_mean"], versus("table_size_mean")),
    ]
    if config.model == "engine":
        fill_packets = summary["fill_packets"]
        lookup_packets = round(summary["packets_per_lookup"] * summary["lookups"])
        floor = fill_packets * fill_cost + lookup_packets * lookup_cost
        peers = summary["engine_peers_mean"] * (config.nodes - int(config.churn * config.nodes))
        rows += [
            ("fill handshakes", summary["fill_handshakes"],
             f"{summary['fill_missing']} never answered after {summary['fill_rounds']} retry rounds"),
            ("packets: fill / lookups", f"{fill_packets} / {lookup_packets}",
             f"{summary['packets_per_lookup']} per lookup, every datagram of the lookup phase"),
            ("engine peers per node (mean)", summary["engine_peers_mean"], ""),
            ("simulated seconds: fill / lookups",
             f"{summary['simulated_seconds_fill']} / {summary['simulated_seconds_lookups']}", ""),
            ("bare codec per packet", f"{fill_cost * 1e6:.0f} / {lookup_cost * 1e6:.0f} us",
             "fill handshake / lookup exchange: encode + decode only"),
            ("setup wall seconds (build + fill)", summary["setup_seconds"],
             f"codec floor {fill_packets * fill_cost:.1f} s"),
            ("lookup wall seconds", round(summary["wall_seconds"] - summary["setup_seconds"], 3),
             f"codec floor {lookup_packets * lookup_cost:.1f} s"),
            ("total wall seconds", summary["wall_seconds"], f"codec floor {floor:.1f} s"),
            ("total CPU seconds", summary["cpu_seconds"],
             f"codec floor {floor:.1f} s: overhead x{summary['cpu_seconds'] / max(floor, 1e-9):.2f}"),
            ("peak memory", f"{peak:.2f} GiB",
             f"target < 8 GiB; {peak * 2**30 / max(peers, 1):,.0f} bytes per engine peer"),
        ]
    else:
        rows += [
            ("setup wall seconds", summary["setup_seconds"], ""),
            ("total wall seconds", summary["wall_seconds"], ""),
            ("total CPU seconds", summary["cpu_seconds"], ""),
            ("peak memory", f"{peak:.2f} GiB", "target < 8 GiB"),
        ]
    for name, value, note in rows:
        print(f"{name:>40}: {value!s:<16} {note}")
    ok = summary["success_rate"] >= 1.0 and summary["hops_median"] <= hops_target and peak < 8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
