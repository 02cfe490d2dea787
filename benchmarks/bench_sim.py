"""Simulator benchmark: wall time, CPU time and peak memory of the fast defaults, next to the
complete path (real handshakes, signed packets) and the bare cost of the same work, all measured
in this run.

    .venv/bin/python benchmarks/bench_sim.py [--sizes 2000,10000] [--lookups 1000] [--baseline-sizes 2000]
        [--workers-size 2000] [--abstract-size 1000000] [--seed 1] [--scale-sizes 10000,100000]
        [--nat-size 2000] [--nat none=0.7,full_cone=0.1,restricted=0.1,symmetric=0.1]

Each simulation runs in its own process (``python -m peernet_dht.sim --json``) so that its peak
resident memory is its own. Rows:

* engine model, defaults (``--fill direct --packets trusted``) at each of ``--sizes``;
* the complete path (``--fill handshake --packets signed``) at ``--baseline-sizes``: the speed-up
  of the defaults, and that they give the same success rate and hops;
* the defaults on 1 and 2 worker processes (Ray) at ``--workers-size``: the sharding speed-up
  (same results, checked);
* the message-level model at ``--abstract-size``;
* the defaults with ``--fill-per-bucket 4`` (about half the peers per node) at ``--scale-sizes``
  (none by default: 100,000 nodes need about 11 GiB and 4 CPU minutes);
* the defaults behind a NAT mix (``--nat``) at ``--nat-size`` (none by default), next to the same
  run without NAT: success and hops by the NAT kind of the lookup's target, hole punches;
* bare cost: the packets each engine run sent, times the CPU cost of encoding and decoding one
  such packet with the codec the run used (signed or trusted), timed here; for the message-level
  model, its requests times one routing-table ``closest`` query.

The machine's load (``uptime``) is printed next to the figures: wall time on a shared machine is
inflated, CPU time much less so.

Measured here (2 cores shared with other work, load averages 4 to 8; 1,000 lookups, seed 1):

    bare cost per packet: signed 143 us, trusted 48 us (encode + decode + message decode)
    engine   2,000 direct+trusted      wall  77 s  cpu  23 s  0.35 GiB  165 KiB/node  success 1.0  hops 2
    engine   2,000 handshake+signed    wall 335 s  cpu 108 s  0.53 GiB  258 KiB/node  success 1.0  hops 2
                                       speed-up: wall x4.3, cpu x4.8, same success and hops (p95 too)
    engine  10,000 direct+trusted      wall 287 s  cpu 142 s  2.14 GiB  221 KiB/node  success 1.0  hops 2
    engine   2,000 1 -> 2 workers      wall 38 s -> 25 s (x1.5, Ray start-up included), same results
    abstract 1,000,000                 wall 354 s  cpu 100 s  2.48 GiB  2.6 KiB/node  success 1.0  hops 4

Again on the engine split into peer table, outbox, requests and behaviours (load 3.6 -> 6.7):

    bare cost per packet: signed 156 us, trusted 52 us
    engine   2,000 direct+trusted      wall  78 s  cpu  24 s  0.35 GiB  168 KiB/node  success 1.0  hops 2
    engine   2,000 handshake+signed    wall 232 s  cpu 109 s  0.53 GiB  261 KiB/node  success 1.0  hops 2
                                       speed-up: wall x3.0, cpu x4.5, same success and hops (p95 too)

With the collector off while building (then frozen), fill edges sorted per time step and shared
add results (``--sizes 2000,10000 --workers-size 0 --abstract-size 0``; load 3.9 -> 6.0, a
100,000-node run beside it; the complete path itself costs more CPU than above on today's engine):

    bare cost per packet: signed 150 us, trusted 52 us (trusted: packet codec 1.8 us, message
                          decode 47 us: a 20-record answer builds 20 PeerRecords)
    engine   2,000 direct+trusted      wall  89 s  cpu  20 s  0.39 GiB  187 KiB/node  success 1.0  hops 2
    engine   2,000 handshake+signed    wall 824 s  cpu 208 s  0.88 GiB  442 KiB/node  success 1.0  hops 2
                                       speed-up: wall x9.2, cpu x10.6, same success and hops (p95 too)
    engine  10,000 direct+trusted      wall 244 s  cpu  90 s  2.32 GiB  240 KiB/node  success 1.0  hops 2

The same code at scale (``--fill-per-bucket 4``, one process each, run alone beside other work,
load about 3.5; at 8 per bucket 100,000 nodes had reached 12.6 GB at 60 % of the fill, on course
for about 20 GB, and were stopped):

    engine  10,000 4 per bucket        wall  36 s  cpu  31 s  0.91 GiB   92 KiB/node  success 1.0  hops 3 (p95 4)
    engine 100,000 4 per bucket        wall 333 s  cpu 246 s 10.01 GiB  105 KiB/node  success 1.0  hops 4 (p95 4)
                                       setup (keys, tables, 12.4 million installed peers) 302 s of it

A NAT mix (``--sizes '' --baseline-sizes '' --workers-size 0 --abstract-size 0 --nat-size 2000
--nat none=0.7,restricted=0.2,symmetric=0.1``; load 2.7 -> 3.5):

    engine   2,000 no NAT                wall  48 s  cpu  19 s  0.39 GiB  187 KiB/node  success 1.0    hops 2
    engine   2,000 NAT 70/20/10 %        wall  52 s  cpu  26 s  0.45 GiB  215 KiB/node  success 0.956  hops 2
             punches: 7,008 Traverses sent, 6,796 relayed and answered, 4,016 punched; 53,493 datagrams
             NAT-dropped; by target: none 699 lookups 1.000, restricted 203 0.911, symmetric 98 0.735
             (median hops 2 each); every failure is restricted->symmetric (0.05 success),
             symmetric->restricted (0.05) or symmetric->symmetric (0.27), pairs no punch can join
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from peernet_dht._routing import RoutingTable  # noqa: E402
from peernet_proto import (  # noqa: E402
    Announcement,
    Hash2Peer,
    Packet,
    PeerRecord,
    PrivateKey,
    Response,
    SignedPacketCodec,
    TrustedPacketCodec,
    decode_message,
)


def uptime() -> str:
    """The load averages now."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def run(nodes: int, lookups: int, seed: int, *extra: str) -> dict[str, Any]:
    """One simulation in its own process; its JSON summary plus the load during it."""
    argv = [sys.executable, "-m", "peernet_dht.sim", "--nodes", str(nodes), "--lookups", str(lookups),
            "--seed", str(seed), "--json", *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = uptime()
    began = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    summary: dict[str, Any] = json.loads(result.stdout)
    summary["outer_wall_seconds"] = round(time.perf_counter() - began, 1)
    summary["load"] = f"{before} -> {uptime()}"
    return summary


def codec_cost(codec: Any, repeat: int = 300) -> float:
    """CPU seconds to encode and decode one lookup packet (mean of a request and an answer with 20 records)."""
    sender, receiver = PrivateKey.generate(), PrivateKey.generate()
    key = bytes(range(32))
    (ask,) = Announcement(features=3, find_peer=[key]).encode()
    records = [PeerRecord(PrivateKey.generate().public_key, ipv4=f"11.0.0.{i + 1}", ipv4_port=112,
                          ipv4_port_internal=112, features=3) for i in range(20)]  # fmt: skip
    (answer,) = Response(features=3, hash2peers=[Hash2Peer(key, closest=records)]).encode()
    began = time.process_time()
    for sequence in range(repeat):
        for command, payload in ((0, ask), (1, answer)):
            raw = codec.encode(Packet(0, command, sequence, payload), sender, receiver.public_key)
            packet, _ = codec.decode(raw, receiver.public_key)
            decode_message(packet.command, packet.payload)
    return (time.process_time() - began) / (2 * repeat)


def codec_split(repeat: int = 300) -> tuple[float, float]:
    """CPU seconds per packet of the trusted packet codec alone and of decoding its message (mean of a
    request and an answer with 20 records): where the trusted bare cost goes."""
    codec, sender, receiver = TrustedPacketCodec(), PrivateKey.generate(), PrivateKey.generate()
    (ask,) = Announcement(features=3, find_peer=[bytes(32)]).encode()
    records = [PeerRecord(PrivateKey.generate().public_key, ipv4=f"11.0.0.{i + 1}", ipv4_port=112,
                          ipv4_port_internal=112, features=3) for i in range(20)]  # fmt: skip
    (answer,) = Response(features=3, hash2peers=[Hash2Peer(bytes(32), closest=records)]).encode()
    packets = [(command, payload, codec.encode(Packet(0, command, 1, payload), sender, receiver.public_key))
               for command, payload in ((0, ask), (1, answer))]  # fmt: skip
    began = time.process_time()
    for _ in range(repeat):
        for command, payload, raw in packets:
            codec.encode(Packet(0, command, 1, payload), sender, receiver.public_key)
            codec.decode(raw, receiver.public_key)
    middle = time.process_time()
    for _ in range(repeat):
        for command, payload, _ in packets:
            decode_message(command, payload)
    return (middle - began) / (2 * repeat), (time.process_time() - middle) / (2 * repeat)


def closest_cost(repeat: int = 2000) -> float:
    """CPU seconds of one k-closest query on a table of 300 contacts."""
    keys = [PrivateKey.generate().public_key for _ in range(300)]
    table: RoutingTable[Any] = RoutingTable(keys[0].node_id)
    for key in keys:
        table.add(key, 0.0)
    began = time.process_time()
    for i in range(repeat):
        table.closest(keys[i % 300].node_id, 20)
    return (time.process_time() - began) / repeat


def row(name: str, summary: dict[str, Any], bare: float | None) -> None:
    """One line of figures."""
    per_node = summary.get("memory_per_node_bytes", 0)
    bare_text = "" if bare is None else f" bare {bare:8.1f} s"
    print(f"{name:<44} wall {summary['wall_seconds']:8.1f} s  cpu {summary['cpu_seconds']:8.1f} s{bare_text}  "
          f"peak {summary['peak_rss_bytes'] / 2**30:6.2f} GiB ({per_node / 1024:6.1f} KiB/node)  "
          f"success {summary['success_rate']:.3f}  hops {summary['hops_median']}  "
          f"msgs/lookup {summary['messages_per_lookup']:.1f}  load {summary['load']}", flush=True)  # fmt: skip


def packets(summary: dict[str, Any]) -> int:
    """Datagrams a run sent."""
    return int(summary.get("fill_packets", 0) + summary.get("packets_per_lookup", 0) * summary["lookups"])


def nat_mix(nodes: int, lookups: int, seed: int, mix: str, trusted: float) -> None:
    """The defaults behind a NAT mix, next to the same run without NAT."""
    open_run = run(nodes, lookups, seed)
    row(f"engine {nodes} no NAT", open_run, packets(open_run) * trusted)
    natted = run(nodes, lookups, seed, "--nat", mix)
    row(f"engine {nodes} NAT {mix}", natted, packets(natted) * trusted)
    punches = natted["punches"]
    print(f"{'':<44} punches: traverse sent {punches['traverse_sent']}, relayed {punches['traverse_relayed']}, "
          f"answered {punches['traverse_answered']}, punched {punches['punched']}; "
          f"NAT-dropped datagrams {natted['nat_dropped']}", flush=True)  # fmt: skip
    for kind, figures in natted["lookups_by_target_nat"].items():
        print(f"{'':<44} target {kind:<10} lookups {figures['lookups']:5}  success {figures['success_rate']:.3f}  "
              f"hops {figures['hops_median']}", flush=True)  # fmt: skip
    failing = {pair: rate for pair, rate in natted["success_by_nat_pair"].items() if rate < 1}
    print(f"{'':<44} pairs under 1.0 success: {failing or 'none'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--baseline-sizes", default="2000")
    parser.add_argument("--workers-size", type=int, default=2000)
    parser.add_argument("--abstract-size", type=int, default=1_000_000)
    parser.add_argument("--scale-sizes", default="")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nat-size", type=int, default=0)
    parser.add_argument("--nat", default="none=0.7,full_cone=0.1,restricted=0.1,symmetric=0.1")
    args = parser.parse_args()
    signed, trusted, closest = codec_cost(SignedPacketCodec()), codec_cost(TrustedPacketCodec()), closest_cost()
    print(f"bare cost per packet: signed {signed * 1e6:.0f} us, trusted {trusted * 1e6:.0f} us; "
          f"closest query {closest * 1e6:.0f} us; cores {os.cpu_count()}; load {uptime()}", flush=True)  # fmt: skip
    packet_only, message_only = codec_split()
    print(
        f"trusted bare cost split: packet codec {packet_only * 1e6:.1f} us, "
        f"message decode {message_only * 1e6:.1f} us (a 20-record answer builds 20 PeerRecords)",
        flush=True,
    )
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for nodes in sorted(set(sizes) | {int(s) for s in args.baseline_sizes.split(",") if s}):
        fast = run(nodes, args.lookups, args.seed)
        row(f"engine {nodes} direct+trusted", fast, packets(fast) * trusted)
        if str(nodes) in args.baseline_sizes.split(","):
            slow = run(nodes, args.lookups, args.seed, "--fill", "handshake", "--packets", "signed")
            row(f"engine {nodes} handshake+signed (complete path)", slow, packets(slow) * signed)
            same = (fast["success_rate"], fast["hops_median"], fast["hops_p95"]) == (
                slow["success_rate"], slow["hops_median"], slow["hops_p95"])  # fmt: skip
            print(
                f"{'':<44} speed-up: wall x{slow['wall_seconds'] / fast['wall_seconds']:.1f}, "
                f"cpu x{slow['cpu_seconds'] / fast['cpu_seconds']:.1f}; same success and hops: {same}",
                flush=True,
            )
    if args.workers_size:
        one = run(args.workers_size, args.lookups, args.seed)
        two = run(args.workers_size, args.lookups, args.seed, "--workers", "2")
        row(f"engine {args.workers_size} 1 worker", one, None)
        row(f"engine {args.workers_size} 2 workers (Ray)", two, None)
        same = (one["success_rate"], one["hops_median"], one["messages_per_lookup"]) == (
            two["success_rate"], two["hops_median"], two["messages_per_lookup"])  # fmt: skip
        print(f"{'':<44} speed-up 1 -> 2 workers: wall x{one['wall_seconds'] / two['wall_seconds']:.2f} "
              f"(Ray start-up included in 2); same results: {same}", flush=True)  # fmt: skip
    for nodes in [int(s) for s in args.scale_sizes.split(",") if s]:
        scaled = run(nodes, args.lookups, args.seed, "--fill-per-bucket", "4")
        row(f"engine {nodes} direct+trusted, 4 per bucket", scaled, packets(scaled) * trusted)
    if args.nat_size:
        nat_mix(args.nat_size, args.lookups, args.seed, args.nat, trusted)
    if args.abstract_size:
        abstract = run(args.abstract_size, args.lookups, args.seed, "--model", "abstract")
        row(f"abstract {args.abstract_size}", abstract, abstract["requests_per_lookup"] * args.lookups * closest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
