"""Peer engine figures, each next to a baseline from the same run.

    .venv/bin/python benchmarks/bench_engine.py [--nodes 1000] [--baseline-nodes 100] [--peers 10000] [--json]

1. Ping/Pong round trips between two engines in two processes on real UDP loopback, one in flight:
   round trips per CPU second of both processes and the median RTT, against the bare codec over
   UDP in the same run (encode, send, the other process decodes and answers, decode; blocking
   sockets, no engine), and against the same codec driven by trio's socket waits on both sides
   (the floor of any trio-driven engine), and the same engines driven by the plain-socket runner
   (``SocketRunner``: blocking waits like the codec's). ``--json`` prints these figures as one JSON line.
2. Memory per known peer: tracemalloc growth of one engine that learns N peers.
3. Bootstrap of a simulated network (in-memory network, simulated time): wall and CPU time until
   every node knows at least 20 peers, next to a smaller network bootstrapped the same way and to
   the bare codec cost of the datagrams exchanged (the time if handling a datagram cost only its
   codec, measured right after each bootstrap: on a shared machine the load changes between sections).
   With ``--compare COMMIT`` the same bootstrap also runs on the sources of an older commit (its own
   benchmark script, in a subprocess, right before ours), so old and new come from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import trio
from trio.testing import MockClock

_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))

from peernet import Node  # noqa: E402
from peernet_proto import (  # noqa: E402
    Announcement,
    Command,
    Endpoint,
    EngineConfig,
    EngineEvent,
    EngineLimits,
    EngineRunner,
    Packet,
    PeerEngine,
    PongReceived,
    PrivateKey,
    PublicKey,
    Response,
    RootPeer,
    SocketRunner,
    UdpTransport,
    decode_packet,
    encode_packet,
)
from peernet_proto.testing import MemoryNetwork  # noqa: E402


@attrs.frozen
class PingRun:
    """Sequential round trips (one in flight) between this process and a child process."""

    round_trips: int
    cpu: float  # CPU seconds of both processes while pinging
    rtts: tuple[float, ...]  # seconds, measured by the application around each round trip

    @property
    def per_cpu_second(self) -> float:
        return self.round_trips / self.cpu

    @property
    def rtt_median_us(self) -> float:
        return statistics.median(self.rtts) * 1e6


@contextlib.contextmanager
def _spawn(mode: str) -> Iterator[tuple[subprocess.Popen[str], Endpoint, PublicKey]]:
    """The other process in ``mode``, its endpoint and key; killed on leaving."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, __file__, "--child", mode], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        _, port, key = child.stdout.readline().split()
        yield child, ("127.0.0.1", int(port)), PublicKey.from_hex(key)
    finally:
        child.kill()
        child.wait()


def _child_command(child: subprocess.Popen[str], command: str) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


class _Pinger:
    """An engine that pings ``peer`` again as each Pong arrives, timing every round trip."""

    def __init__(self, peer: PublicKey, clock: Callable[[], float]) -> None:
        self.engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
        self.peer, self.clock = peer, clock
        self.after_ping: Callable[[], None] = lambda: None  # the runner's "send it now"
        self.rtts: list[float] = []
        self.running = True
        self._sent = 0.0

    def ping(self) -> None:
        self._sent = time.perf_counter()
        self.engine.ping(self.peer, self.clock())
        self.after_ping()

    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, PongReceived) and self.running:
            self.rtts.append(time.perf_counter() - self._sent)
            self.ping()

    def measure(self, child: subprocess.Popen[str]) -> float:
        """Start timing (the child too); returns this process's CPU clock."""
        _child_command(child, "go")
        self.rtts.clear()
        return time.process_time()

    def result(self, cpu: float) -> PingRun:
        """Stop timing: the round trips since :meth:`measure` and this process's CPU seconds."""
        self.running = False
        cpu = time.process_time() - cpu
        count = len(self.rtts)
        return PingRun(count, cpu, tuple(self.rtts[:count]))


def _with_child_cpu(child: subprocess.Popen[str], run: PingRun) -> PingRun:
    child_cpu = float(_child_command(child, "stop"))
    return PingRun(run.round_trips, run.cpu + child_cpu, run.rtts)


async def engine_pings(seconds: float) -> PingRun:
    """Ping/Pong between two engines, each in its own process, on UDP loopback."""
    with _spawn("engine") as (child, endpoint, peer):
        async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
            pinger = _Pinger(peer, trio.current_time)
            runner = EngineRunner(pinger.engine, transport, pinger.on_event)
            pinger.after_ping = runner.poke
            async with trio.open_nursery() as nursery:
                await nursery.start(runner.run)
                pinger.engine.contact(peer, [endpoint], trio.current_time())
                runner.poke()
                while pinger.engine.peer(peer) is None:
                    await trio.sleep(0.01)
                await trio.sleep(0.2)
                cpu = pinger.measure(child)
                pinger.ping()
                await trio.sleep(seconds)
                run = pinger.result(cpu)
                nursery.cancel_scope.cancel()
        return _with_child_cpu(child, run)


def engine_socket_pings(seconds: float) -> PingRun:
    """Ping/Pong between two engines driven by the plain-socket runner (no event loop) in both processes."""
    with _spawn("engine-sockets") as (child, endpoint, peer):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            pinger = _Pinger(peer, time.monotonic)
            runner = SocketRunner(pinger.engine, [sock], pinger.on_event, clock=time.monotonic)
            pinger.engine.contact(peer, [endpoint], runner.clock())
            runner.flush()
            while pinger.engine.peer(peer) is None:
                runner.run_once(0.01)
            runner.run_for(0.2)
            cpu = pinger.measure(child)
            pinger.ping()
            runner.flush()
            runner.run_for(seconds)
            run = pinger.result(cpu)
            runner.close()
        return _with_child_cpu(child, run)


def codec_pings(seconds: float) -> PingRun:
    """The bare codec over UDP: encode, send, the child decodes and answers, decode; blocking sockets."""
    me = PrivateKey.generate()
    rtts: list[float] = []
    with _spawn("codec") as (child, endpoint, peer):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            _child_command(child, "go")
            cpu = time.process_time()
            end = time.perf_counter() + seconds
            sequence = 0
            while (sent := time.perf_counter()) < end:
                sequence += 1
                sock.sendto(encode_packet(Packet(0, Command.PING, sequence, b""), sender=me, receiver=peer), endpoint)
                data = sock.recv(2048)
                packet, _ = decode_packet(data, receiver=me.public_key)
                assert packet.sequence == sequence
                rtts.append(time.perf_counter() - sent)
            cpu = time.process_time() - cpu
        return _with_child_cpu(child, PingRun(len(rtts), cpu, tuple(rtts)))


async def _trio_recv(sock: socket.socket) -> tuple[bytes, Endpoint]:
    while True:
        try:
            data, source = sock.recvfrom(2048)
            return data, (str(source[0]), int(source[1]))
        except BlockingIOError:
            await trio.lowlevel.wait_readable(sock)


async def codec_trio_pings(seconds: float) -> PingRun:
    """The bare codec over UDP with trio waiting for the socket on both sides: the floor of any
    engine driven by trio (its event loop costs, without the engine)."""
    me = PrivateKey.generate()
    rtts: list[float] = []
    with _spawn("codec-trio") as (child, endpoint, peer):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            _child_command(child, "go")
            cpu = time.process_time()
            end = time.perf_counter() + seconds
            sequence = 0
            while (sent := time.perf_counter()) < end:
                sequence += 1
                sock.sendto(encode_packet(Packet(0, Command.PING, sequence, b""), sender=me, receiver=peer), endpoint)
                data, _ = await _trio_recv(sock)
                packet, _ = decode_packet(data, receiver=me.public_key)
                assert packet.sequence == sequence
                rtts.append(time.perf_counter() - sent)
            cpu = time.process_time() - cpu
        return _with_child_cpu(child, PingRun(len(rtts), cpu, tuple(rtts)))


async def _codec_trio_child() -> None:
    key = PrivateKey.generate()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        print("port", sock.getsockname()[1], key.public_key.hex(), flush=True)

        async def answer() -> None:
            while True:
                data, source = await _trio_recv(sock)
                packet, sender = decode_packet(data, receiver=key.public_key)
                pong = encode_packet(Packet(0, Command.PONG, packet.sequence, b""), sender=key, receiver=sender)
                sock.sendto(pong, source)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer)
            await _serve_commands(nursery.cancel_scope)


async def _serve_commands(scope: trio.CancelScope) -> None:
    cpu = 0.0
    while True:
        command = (await trio.to_thread.run_sync(sys.stdin.readline)).strip()
        if command == "go":
            cpu = time.process_time()
            print("ok", flush=True)
        else:
            print(time.process_time() - cpu, flush=True)
            scope.cancel()
            return


def _child(mode: str) -> None:
    """The other process: an engine (answers Pings) or the bare codec (answers with a Pong)."""
    if mode == "engine":
        trio.run(_engine_child)
        return
    if mode == "codec-trio":
        trio.run(_codec_trio_child)
        return
    if mode == "engine-sockets":
        _engine_sockets_child()
        return
    key = PrivateKey.generate()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print("port", sock.getsockname()[1], key.public_key.hex(), flush=True)
        cpu = 0.0
        while True:
            readable, _, _ = select.select([sock, sys.stdin], [], [])
            if sys.stdin in readable:
                command = sys.stdin.readline().strip()
                if command == "go":
                    cpu = time.process_time()
                    print("ok", flush=True)
                else:
                    print(time.process_time() - cpu, flush=True)
                    return
            if sock in readable:
                data, source = sock.recvfrom(2048)
                packet, sender = decode_packet(data, receiver=key.public_key)
                pong = encode_packet(Packet(0, Command.PONG, packet.sequence, b""), sender=key, receiver=sender)
                sock.sendto(pong, source)


async def _engine_child() -> None:
    key = PrivateKey.generate()
    async with UdpTransport.open([("127.0.0.1", 0)]) as transport:
        engine = PeerEngine(key, EngineConfig(local_discovery=False))
        async with trio.open_nursery() as nursery:
            await nursery.start(EngineRunner(engine, transport).run)
            print("port", transport.local_endpoints()[0][1], key.public_key.hex(), flush=True)
            await _serve_commands(nursery.cancel_scope)


def _engine_sockets_child() -> None:
    key = PrivateKey.generate()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        runner = SocketRunner(PeerEngine(key, EngineConfig(local_discovery=False)), [sock])
        print("port", sock.getsockname()[1], key.public_key.hex(), flush=True)
        cpu = 0.0
        selector = selectors.DefaultSelector()
        selector.register(sys.stdin, selectors.EVENT_READ)
        check_at = 0.0
        while True:
            runner.run_once(0.05)
            if time.monotonic() < check_at:
                continue
            check_at = time.monotonic() + 0.02  # the commands are rare: not a syscall per datagram
            if not selector.select(0):
                continue
            command = sys.stdin.readline().strip()
            if command == "go":
                cpu = time.process_time()
                print("ok", flush=True)
            else:
                print(time.process_time() - cpu, flush=True)
                return


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
    (response,) = Response(user_agent="bench/1.0").encode()
    for i, raw in enumerate(datagrams):
        # Each newcomer announces itself, then answers our challenge: admitted as on the network.
        source = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 112)
        engine.receive_datagram(raw, source, ("127.0.0.1", 112), 0.0)
        for outgoing in engine.datagrams_to_send():
            packet, _ = decode_packet(outgoing.data, receiver=keys[i].public_key)
            if packet.command == Command.ANNOUNCEMENT:
                echo = encode_packet(Packet(0, Command.RESPONSE, packet.sequence, response), sender=keys[i],
                                     receiver=me.public_key)
                engine.receive_datagram(echo, source, ("127.0.0.1", 112), 0.0)
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
            first = nodes[0] if nodes else None
            roots = [RootPeer(first.public_key, tuple(first.runner.transport.local_endpoints()))] if first else []
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


def bootstrap_at_commit(commit: str, nodes: int) -> str:
    """The bootstrap line printed by ``commit``'s own engine benchmark for ``nodes`` nodes."""
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(["git", "-C", str(_ROOT), "archive", commit, "src", "benchmarks"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        env = dict(os.environ, PYTHONPATH=str(Path(tree) / "src"))
        command = [sys.executable, str(Path(tree) / "benchmarks" / "bench_engine.py"), "--nodes", str(nodes),
                   "--baseline-nodes", "30", "--peers", "100", "--seconds", "0.5"]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=tree).stdout
    prefix = f"bootstrap of {nodes} simulated nodes"
    return next(line for line in output.splitlines() if line.startswith(prefix))


def ping_figures(seconds: float) -> dict[str, float]:
    """Engine and bare-codec round trips, measured alternately (twice each) to even out the load."""
    engine_runs, codec_runs, floor_runs, socket_runs = [], [], [], []
    for _ in range(2):
        codec_runs.append(codec_pings(seconds / 2))
        engine_runs.append(trio.run(engine_pings, seconds / 2))
        floor_runs.append(trio.run(codec_trio_pings, seconds / 2))
        socket_runs.append(engine_socket_pings(seconds / 2))
    sockets = PingRun(sum(r.round_trips for r in socket_runs), sum(r.cpu for r in socket_runs),
                      tuple(t for r in socket_runs for t in r.rtts))
    engine = PingRun(sum(r.round_trips for r in engine_runs), sum(r.cpu for r in engine_runs),
                     tuple(t for r in engine_runs for t in r.rtts))
    codec = PingRun(sum(r.round_trips for r in codec_runs), sum(r.cpu for r in codec_runs),
                    tuple(t for r in codec_runs for t in r.rtts))
    floor = PingRun(sum(r.round_trips for r in floor_runs), sum(r.cpu for r in floor_runs),
                    tuple(t for r in floor_runs for t in r.rtts))
    return {
        "ping_round_trips": engine.round_trips,
        "ping_round_trips_per_cpu_s": round(engine.per_cpu_second, 1),
        "codec_round_trips_per_cpu_s": round(codec.per_cpu_second, 1),
        "throughput_ratio": round(engine.per_cpu_second / codec.per_cpu_second, 3),
        "rtt_median_us": round(engine.rtt_median_us, 1),
        "codec_rtt_median_us": round(codec.rtt_median_us, 1),
        "rtt_ratio": round(engine.rtt_median_us / codec.rtt_median_us, 3),
        "codec_trio_round_trips_per_cpu_s": round(floor.per_cpu_second, 1),
        "codec_trio_rtt_median_us": round(floor.rtt_median_us, 1),
        "ratio_to_trio_floor": round(engine.per_cpu_second / floor.per_cpu_second, 3),
        "socket_runner_round_trips_per_cpu_s": round(sockets.per_cpu_second, 1),
        "socket_runner_ratio": round(sockets.per_cpu_second / codec.per_cpu_second, 3),
        "socket_runner_rtt_median_us": round(sockets.rtt_median_us, 1),
        "socket_runner_rtt_ratio": round(sockets.rtt_median_us / codec.rtt_median_us, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000, help="simulated bootstrap network (0: skip)")
    parser.add_argument("--baseline-nodes", type=int, default=100, help="smaller network, bootstrapped first")
    parser.add_argument("--peers", type=int, default=10000, help="memory per peer (0: skip)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--json", action="store_true", help="print the ping figures as one JSON line")
    parser.add_argument("--compare", metavar="COMMIT", help="also bootstrap --nodes with an older commit's sources")
    parser.add_argument("--no-ping", action="store_true", help="skip the ping figures")
    parser.add_argument("--child", choices=("engine", "codec", "codec-trio", "engine-sockets"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    for count in (args.nodes, args.baseline_nodes):
        if 0 < count <= BOOTSTRAP_PEERS:
            parser.error(f"a network of {count} nodes never gives each node {BOOTSTRAP_PEERS} peers")
    if args.child:
        _child(args.child)
        return
    figures = {} if args.no_ping else ping_figures(args.seconds)
    if figures and args.json:
        print(json.dumps(figures), flush=True)
    elif figures:
        print(f"ping round trips between two processes on UDP loopback: {figures['ping_round_trips_per_cpu_s']:,.0f} "
              f"per CPU second; bare codec over UDP: {figures['codec_round_trips_per_cpu_s']:,.0f}; "
              f"ratio {figures['throughput_ratio']:.2f} (target >= 0.8)")
        print(f"RTT median {figures['rtt_median_us']:.0f} us; bare codec {figures['codec_rtt_median_us']:.0f} us; "
              f"ratio {figures['rtt_ratio']:.2f} (target <= 1.5)")
        print(f"the bare codec driven by trio on both sides (the event loop's floor): "
              f"{figures['codec_trio_round_trips_per_cpu_s']:,.0f} per CPU second, RTT median "
              f"{figures['codec_trio_rtt_median_us']:.0f} us; engine / floor {figures['ratio_to_trio_floor']:.2f}")
        print(f"the engine on plain sockets (SocketRunner, no event loop) in both processes: "
              f"{figures['socket_runner_round_trips_per_cpu_s']:,.0f} per CPU second, ratio to the bare codec "
              f"{figures['socket_runner_ratio']:.2f}; RTT median {figures['socket_runner_rtt_median_us']:.0f} us, "
              f"ratio {figures['socket_runner_rtt_ratio']:.2f}", flush=True)
    if args.peers:
        per_peer = memory_per_peer(args.peers)
        print(f"memory per known peer ({args.peers} peers): {per_peer:,.0f} bytes (target < 4096)")
    if args.nodes and args.compare:
        print(f"at {args.compare}: {bootstrap_at_commit(args.compare, args.nodes)}", flush=True)
    if args.nodes:
        for count in (args.baseline_nodes, args.nodes):
            run = trio.run(bootstrap, count, clock=MockClock(autojump_threshold=0))
            print(report_bootstrap(run, args.seconds), flush=True)


if __name__ == "__main__":
    main()
