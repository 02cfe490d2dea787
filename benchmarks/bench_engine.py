"""Peer engine figures, each next to a baseline from the same run.

    .venv/bin/python benchmarks/bench_engine.py [--nodes 1000] [--baseline-nodes 100] [--peers 10000]

1. Ping/Pong round trips between two nodes on real UDP loopback (datagrams handled per second by
   both engines) against the bare codec cost of the same packets (encode + decode, no engine, no I/O).
2. Memory per known peer: tracemalloc growth of one engine that learns N peers.
3. Bootstrap of a simulated network (in-memory network, simulated time): wall and CPU time until
   every node knows at least 20 peers, next to a smaller network bootstrapped the same way and to
   the bare codec cost of the datagrams exchanged (the time if handling a datagram cost only its
   codec, measured right after each bootstrap: on a shared machine the load changes between sections).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

import attrs
import trio
from trio.testing import MockClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peernet import Node
from peernet_proto import (
    Announcement,
    EngineConfig,
    EngineLimits,
    Packet,
    PeerEngine,
    PongReceived,
    PrivateKey,
    RootPeer,
    UdpTransport,
    decode_packet,
    encode_packet,
)
from peernet_proto.testing import MemoryNetwork


async def ping_pong(seconds: float) -> float:
    async with UdpTransport.open([("127.0.0.1", 0)]) as ua, UdpTransport.open([("127.0.0.1", 0)]) as ub:
        a = Node(PrivateKey.generate(), ua)
        b = Node(PrivateKey.generate(), ub)
        pongs = 0
        done = trio.Event()

        def on_pong(event: object) -> None:
            nonlocal pongs
            if isinstance(event, PongReceived):
                pongs += 1
                if not done.is_set():
                    a.engine.ping(b.public_key, trio.current_time())
                    a.runner.poke()

        a.runner.add_event_handler(on_pong)
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            await nursery.start(b.run)
            a.engine.contact(b.public_key, ub.local_endpoints(), trio.current_time())
            a.runner.poke()
            while a.engine.peer(b.public_key) is None or b.engine.peer(a.public_key) is None:
                await trio.sleep(0.01)
            for _ in range(8):  # eight pings in flight
                a.engine.ping(b.public_key, trio.current_time())
            a.runner.poke()
            start = time.perf_counter()
            await trio.sleep(seconds)
            done.set()
            elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    return pongs * 2 / elapsed  # a Ping and a Pong per round trip


def bare_codec(seconds: float) -> float:
    a, b = PrivateKey.generate(), PrivateKey.generate()
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        raw = encode_packet(Packet(0, 2, count, b""), sender=a, receiver=b.public_key)
        decode_packet(raw, receiver=b.public_key)
        count += 1
    return count / (time.perf_counter() - start)


def memory_per_peer(count: int) -> float:
    keys = [PrivateKey(os.urandom(31) + b"\x01") for _ in range(count)]
    me = PrivateKey.generate()
    (payload,) = Announcement(user_agent="bench/1.0", find_self=False).encode()
    datagrams = [encode_packet(Packet(0, 0, i, payload), sender=k, receiver=me.public_key) for i, k in enumerate(keys)]
    config = EngineConfig(local_discovery=False, limits=EngineLimits(max_peers=count + 1))
    engine = PeerEngine(me, config, rng=random.Random(0))
    engine.set_local_endpoints([("127.0.0.1", 112)], 0.0)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i, raw in enumerate(datagrams):
        engine.receive_datagram(raw, (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 112), ("127.0.0.1", 112), 0.0)
        engine.datagrams_to_send()
        engine.events()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(engine) == count
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return growth / count


BOOTSTRAP_PEERS = 20
# Simulated time between checks. Every datagram up to the check is simulated (and paid for in wall
# time) before it runs: a coarse step would charge the storm of lookups that follows the goal.
POLL = 0.01


@attrs.frozen
class Bootstrap:
    nodes: int
    simulated: float  # seconds from the last node's start until every node knows BOOTSTRAP_PEERS
    wall: float
    cpu: float  # process CPU seconds in the same span: the wall time on a machine not shared
    datagrams: int  # sent by every node in that time


async def bootstrap(count: int) -> Bootstrap:
    network = MemoryNetwork(seed=1, latency=0.02)
    nodes: list[Node] = []
    async with trio.open_nursery() as nursery:
        for index in range(count):
            host = network.add_host([f"10.{index // 250}.{index % 250}.1"], ports=[112])
            roots = []
            if nodes:
                roots = [RootPeer(nodes[0].public_key, tuple(nodes[0].runner.transport.local_endpoints()))]
            node = Node(PrivateKey.generate(), host, root_peers=roots, rng=random.Random(index), refresh_interval=60.0)
            nodes.append(node)
            await nursery.start(node.run)
        start_sim, start_wall, start_cpu = trio.current_time(), time.perf_counter(), time.process_time()
        start_sent = network.statistics().sent
        while min(len(node.engine) for node in nodes) < BOOTSTRAP_PEERS:
            await trio.sleep(POLL)
        result = Bootstrap(count, trio.current_time() - start_sim, time.perf_counter() - start_wall,
                           time.process_time() - start_cpu, network.statistics().sent - start_sent)
        nursery.cancel_scope.cancel()
    return result


def report_bootstrap(run: Bootstrap, codec_seconds: float) -> str:
    codec = run.datagrams / bare_codec(codec_seconds)
    return (f"bootstrap of {run.nodes} simulated nodes to >= {BOOTSTRAP_PEERS} peers each: "
            f"{run.wall:.1f} s wall, {run.cpu:.1f} s CPU ({run.simulated:.2f} s simulated, "
            f"{run.datagrams:,} datagrams, {run.datagrams / run.nodes:,.0f} per node); "
            f"bare codec for those datagrams {codec:.1f} s, ratio (CPU) {run.cpu / codec:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--baseline-nodes", type=int, default=100, help="smaller network, bootstrapped first")
    parser.add_argument("--peers", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    engine_rate = trio.run(ping_pong, args.seconds)
    codec_rate = bare_codec(args.seconds)
    print(f"ping/pong on UDP loopback: {engine_rate:,.0f} datagrams/s handled; bare codec (encode+decode): "
          f"{codec_rate:,.0f} packets/s; ratio {engine_rate / codec_rate:.2f}")
    per_peer = memory_per_peer(args.peers)
    print(f"memory per known peer ({args.peers} peers): {per_peer:,.0f} bytes (target < 4096)")
    for count in (args.baseline_nodes, args.nodes):
        run = trio.run(bootstrap, count, clock=MockClock(autojump_threshold=0))
        print(report_bootstrap(run, args.seconds), flush=True)


if __name__ == "__main__":
    main()
