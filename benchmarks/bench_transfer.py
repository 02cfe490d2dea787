"""Transfer benchmark: bytes through two UDT connections wired in memory in one process, over UDP
streams, and between two real peer engines (PeerEngine + EngineRunner + TransferBehaviour, two
processes on UDP loopback: one Transfer of the whole file, and the download manager's verified
256 KiB pieces), next to the bare cost measured in the same run (Salsa20 over as many
lite-packet-sized payloads, plus the UDT frame codec encoding and decoding the same frames).

With ``--go-runner PATH`` (or ``PEERNET_GO_NODE``) naming a script that starts a Go reference node
(see ``benchmarks/go_reference.py``), two Go nodes on loopback move the same amount through their
web API in the same run, and the ratio is printed next to our figure; without it the Go figure is
not taken. Loopback only.

Run: .venv/bin/python benchmarks/bench_transfer.py [--mib 64] [--runs 3] [--go-runner PATH] [--json] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import multiprocessing
import multiprocessing.connection
import os
import pstats
import random
import socket
import time
import tracemalloc
import uuid
from collections import deque
from collections.abc import Callable

import trio
from Crypto.Cipher import Salsa20

from peernet_proto.udt import (
    UdtConfig,
    UdtConnection,
    UdtData,
    UdtState,
    UdtStream,
    decode_udt_frame,
    encode_udt_frame,
)
from peernet_proto.wire import decode_lite_packet, encode_lite_packet

MIB = 1 << 20


def run_transfer(total: int, loss: float, seed: int = 1) -> dict[str, float]:
    """Push ``total`` bytes dialer → listener on the real clock; frames pass through lite packets."""
    rng = random.Random(seed)
    clock = time.perf_counter
    config = UdtConfig()
    dialer = UdtConnection.dial(1, rng.getrandbits(31), clock(), config)
    listener = UdtConnection.listen(2, clock(), config)
    chunk = os.urandom(MIB)
    sent = received = frames = 0
    to_listener: deque[bytes] = deque()
    to_dialer: deque[bytes] = deque()
    session = os.urandom(16)
    start_wall, start_cpu = clock(), time.process_time()
    while received < total:
        now = clock()
        if sent < total:
            sent += dialer.send(memoryview(chunk)[: min(MIB, total - sent)])
        for frame in dialer.frames_to_send(now):
            lite = session + len(frame).to_bytes(2, "little") + frame
            if not loss or rng.random() >= loss:
                to_listener.append(lite)
        for frame in listener.frames_to_send(now):
            lite = session + len(frame).to_bytes(2, "little") + frame
            if not loss or rng.random() >= loss:
                to_dialer.append(lite)
        moved = len(to_listener) + len(to_dialer)
        frames += len(to_listener)
        while to_listener:
            listener.receive_frame(memoryview(to_listener.popleft())[18:], now)
        while to_dialer:
            dialer.receive_frame(memoryview(to_dialer.popleft())[18:], now)
        received += len(listener.read())
        if UdtState.BROKEN in (dialer.state, listener.state):
            raise RuntimeError("connection broke")
        if not moved:  # both sides wait for a timer: sleep like an event loop would
            deadline = min(t for t in (dialer.next_deadline(), listener.next_deadline()) if t is not None)
            pause = deadline - clock()
            if pause > 0:
                time.sleep(pause)
    wall, cpu = clock() - start_wall, time.process_time() - start_cpu
    return {"wall": wall, "cpu": cpu, "frames": frames, "retransmitted": dialer.stats["retransmitted"]}


async def _udp_transfer(total: int) -> dict[str, float]:
    """The same bytes through two UdtStreams over real UDP sockets on 127.0.0.1 (one process, trio)."""
    session = uuid.uuid4()
    socks = [socket.socket(type=socket.SOCK_DGRAM) for _ in range(2)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    socks[0].connect(socks[1].getsockname())
    socks[1].connect(socks[0].getsockname())

    def sender(sock: socket.socket) -> Callable[[bytes], None]:
        def transmit(frame: bytes) -> None:
            with contextlib.suppress(BlockingIOError):
                sock.send(encode_lite_packet(session, frame))

        return transmit

    async def pump(sock: socket.socket, stream: UdtStream) -> None:
        while True:
            await trio.lowlevel.wait_readable(sock)
            while True:
                try:
                    raw = sock.recv(2048)
                except BlockingIOError:
                    break
                stream.feed(decode_lite_packet(raw).data)

    now = trio.current_time()
    a = UdtStream(UdtConnection.dial(1, 7, now), sender(socks[0]))
    b = UdtStream(UdtConnection.listen(2, now), sender(socks[1]))
    chunk = os.urandom(MIB)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    async with trio.open_nursery() as nursery:
        for stream, sock in ((a, socks[0]), (b, socks[1])):
            nursery.start_soon(stream.run)
            nursery.start_soon(pump, sock, stream)

        async def send() -> None:
            for _ in range(total // MIB):
                await a.send_all(chunk)
            await a.send_eof()

        nursery.start_soon(send)
        received = 0
        while data := await b.receive_some(1 << 20):
            received += len(data)
        nursery.cancel_scope.cancel()
    for sock in socks:
        sock.close()
    return {
        "wall": time.perf_counter() - start_wall,
        "cpu": time.process_time() - start_cpu,
        "retransmitted": a.conn.stats["retransmitted"],
    }


def _udp_receiver(total: int, port_out: multiprocessing.connection.Connection) -> None:
    """Child process: listen on UDP, receive ``total`` bytes over UDT, report wall and CPU time."""

    async def main() -> None:
        session = uuid.UUID(int=1)
        sock = socket.socket(type=socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        port_out.send(sock.getsockname())
        sock.connect(port_out.recv())
        stream = UdtStream(UdtConnection.listen(2, trio.current_time()), _udp_sender(sock, session))
        start_cpu = time.process_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.run)
            nursery.start_soon(_udp_pump, sock, stream)
            received = 0
            while received < total:
                received += len(await stream.receive_some(1 << 20))
            await trio.sleep(0.05)  # let the last ACKs out
            nursery.cancel_scope.cancel()
        port_out.send(time.process_time() - start_cpu)

    trio.run(main)


def _udp_sender(sock: socket.socket, session: uuid.UUID) -> Callable[[bytes], None]:
    def transmit(frame: bytes) -> None:
        with contextlib.suppress(BlockingIOError):  # a full socket buffer is a lost datagram
            sock.send(encode_lite_packet(session, frame))

    return transmit


async def _udp_pump(sock: socket.socket, stream: UdtStream) -> None:
    while True:
        await trio.lowlevel.wait_readable(sock)
        while True:
            try:
                raw = sock.recv(2048)
            except BlockingIOError:
                break
            stream.feed(decode_lite_packet(raw).data)


def two_process_transfer(total: int) -> dict[str, float]:
    """Sender here, receiver in a child process, UDP on 127.0.0.1: the shape of two real nodes."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_udp_receiver, args=(total, child))
    process.start()
    peer = parent.recv()

    async def main() -> dict[str, float]:
        sock = socket.socket(type=socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        sock.connect(peer)
        parent.send(sock.getsockname())
        stream = UdtStream(UdtConnection.dial(1, 7, trio.current_time()), _udp_sender(sock, uuid.UUID(int=1)))
        chunk = os.urandom(MIB)
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.run)
            nursery.start_soon(_udp_pump, sock, stream)
            for _ in range(total // MIB):
                await stream.send_all(chunk)
            await stream.send_eof()
            while not stream.conn.send_finished:
                await trio.sleep(0.001)
            wall = time.perf_counter() - start_wall
            nursery.cancel_scope.cancel()
        sock.close()
        return {
            "wall": wall,
            "cpu": time.process_time() - start_cpu,
            "retransmitted": stream.conn.stats["retransmitted"],
        }

    result = trio.run(main)
    result["receiver_cpu"] = parent.recv()
    process.join()
    return result


def _engine_owner(total: int, conn: multiprocessing.connection.Connection) -> None:
    """The data owner: a real engine serving ``total`` random bytes; reports its CPU time at the end."""
    from peernet_proto import EngineRunner, PeerEngine, PrivateKey, UdpTransport, hash_data
    from peernet_proto.transfer import MemoryFiles, TransferBehaviour

    data = os.urandom(total)
    key = PrivateKey.generate()

    async def main() -> None:
        behaviour = TransferBehaviour(MemoryFiles({hash_data(data): data}))
        engine = PeerEngine(key, behaviours=[behaviour])
        async with UdpTransport.open([("127.0.0.1", 0)]) as udp, trio.open_nursery() as nursery:
            runner = EngineRunner(engine, udp)
            await nursery.start(runner.run)
            conn.send((key.public_key.to_bytes(), udp.local_endpoints()[0], hash_data(data)))
            start = time.process_time()
            await trio.to_thread.run_sync(conn.recv)
            conn.send(time.process_time() - start)
            nursery.cancel_scope.cancel()

    trio.run(main)


def engine_transfer(total: int, tmp: str) -> dict[str, float]:
    """Download from a real engine in a child process: one Transfer, then the download manager."""
    from peernet._transfer_adapters import TransferRangeSource
    from peernet.downloads import RUN_BYTES, DownloadManager, DownloadStatus
    from peernet_proto import EngineRunner, PeerEngine, PrivateKey, PublicKey, UdpTransport
    from peernet_proto.transfer import TransferBehaviour, TransferClient

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_engine_owner, args=(total, child))
    process.start()
    raw_key, endpoint, file_hash = parent.recv()
    owner = PublicKey.from_bytes(raw_key)

    async def main() -> dict[str, float]:
        behaviour = TransferBehaviour()
        engine = PeerEngine(PrivateKey.generate(), behaviours=[behaviour])
        result: dict[str, float] = {}
        async with UdpTransport.open([("127.0.0.1", 0)]) as udp, trio.open_nursery() as nursery:
            runner = EngineRunner(engine, udp)
            await nursery.start(runner.run)
            engine.contact(owner, [endpoint], trio.current_time())
            runner.poke()
            while engine.peer(owner) is None:
                await trio.sleep(0.01)
            client = TransferClient(behaviour, poke=runner.poke)
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            received = 0
            async for chunk in client.download(owner, file_hash):
                received += len(chunk)
            assert received == total
            result["wall"], result["cpu"] = time.perf_counter() - start_wall, time.process_time() - start_cpu
            state = os.path.join(tmp, "downloads.json")
            manager = DownloadManager(TransferRangeSource(client), state, run_bytes=RUN_BYTES)
            await nursery.start(manager.run)
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            download_id = manager.start(file_hash, total, [owner], tmp, "bench.bin")
            while (info := manager.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
                await manager.wait_changed()
            assert info is not None and info.status == DownloadStatus.FINISHED, info
            result["pieces_wall"] = time.perf_counter() - start_wall
            result["pieces_cpu"] = time.process_time() - start_cpu
            nursery.cancel_scope.cancel()
        return result

    result = trio.run(main)
    parent.send("done")
    result["owner_cpu"] = parent.recv()
    process.join()
    return result


def bare_cost(frames: int, payload: int) -> dict[str, float]:
    """Salsa20 over ``frames`` lite-packet-sized payloads plus the codec on the same data frames."""
    data = os.urandom(payload)
    key = os.urandom(32)
    start = time.process_time()
    for i in range(frames):
        Salsa20.new(key=key, nonce=i.to_bytes(8, "little")).encrypt(data)
    salsa = time.process_time() - start
    start = time.process_time()
    session = b"\x00" * 16
    import uuid

    sid = uuid.UUID(bytes=session)
    for i in range(frames):
        raw = encode_udt_frame(UdtData(i, i, 0, 7, data[16:]))
        encode_lite_packet(sid, raw)
        decoded = decode_udt_frame(raw)
        assert isinstance(decoded, UdtData)
    codec = time.process_time() - start
    return {"salsa20": salsa, "codec": codec}


def _exchange(a: UdtConnection, b: UdtConnection, now: float, rounds: int) -> None:
    """Pass frames both ways ``rounds`` times (nobody reads at ``b``)."""
    for _ in range(rounds):
        for frame in a.frames_to_send(now):
            b.receive_frame(frame, now)
        for frame in b.frames_to_send(now):
            a.receive_frame(frame, now)
        now += 0.001


def session_memory(sessions: int = 200) -> dict[str, float]:
    """Bytes per connected idle UDT connection pair, and of one pair whose windows are full
    (the sender's buffer and unacknowledged packets, the receiver's unread packets)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    pairs = []
    for index in range(sessions):
        pair = UdtConnection.dial(index, index, 0.0), UdtConnection.listen(index + sessions, 0.0)
        _exchange(*pair, 0.0, 3)
        pairs.append(pair)
    idle = (tracemalloc.get_traced_memory()[0] - before) / sessions
    chunk = os.urandom(MIB)
    before = tracemalloc.get_traced_memory()[0]
    dialer, listener = UdtConnection.dial(1, 1, 0.0), UdtConnection.listen(2, 0.0)
    _exchange(dialer, listener, 0.0, 3)
    for _ in range(100):
        dialer.send(chunk)
        _exchange(dialer, listener, 0.01, 1)
    dialer.send(chunk)
    active = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del pairs
    return {"idle_pair_bytes": idle, "active_pair_bytes": active, "unread_bytes": listener.readable}


def _measure_udt(args: argparse.Namespace, figures: dict[str, float]) -> None:
    total = args.mib * MIB
    for loss in (0.0, 0.05):
        if args.profile and loss == 0.0:
            profiler = cProfile.Profile()
            profiler.enable()
            result = run_transfer(total, loss)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
        else:
            result = run_transfer(total, loss)
        figures[f"memory_loss{loss:.0%}_mib_s"] = args.mib / result["wall"]
        print(
            f"  loss {loss:4.0%}: {args.mib / result['wall']:7.1f} MiB/s wall, {result['cpu']:5.2f} CPU s, "
            f"{int(result['frames'])} frames to the listener, {int(result['retransmitted'])} retransmitted"
        )
    udp = trio.run(_udp_transfer, total)
    print(
        f"  UDP loopback, trio streams, one process: {args.mib / udp['wall']:7.1f} MiB/s wall, "
        f"{udp['cpu']:5.2f} CPU s, {int(udp['retransmitted'])} retransmitted"
    )
    two = two_process_transfer(total)
    figures["bare_udt_two_processes_mib_s"] = args.mib / two["wall"]
    print(
        f"  UDP loopback, two processes:             {args.mib / two['wall']:7.1f} MiB/s wall, "
        f"sender {two['cpu']:5.2f} CPU s, receiver {two['receiver_cpu']:5.2f} CPU s, "
        f"{int(two['retransmitted'])} retransmitted"
    )


def _measure_engines(args: argparse.Namespace, figures: dict[str, float]) -> None:
    import tempfile

    rates = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            engines = engine_transfer(args.mib * MIB, tmp)
        rates.append(args.mib / engines["wall"])
        print(
            f"  two real engines, two processes, one Transfer:        {rates[-1]:7.1f} MiB/s wall, requester "
            f"{engines['cpu']:5.2f} CPU s, owner {engines['owner_cpu']:5.2f} CPU s (both downloads)"
        )
        print(
            f"  two real engines, download manager (verified pieces): {args.mib / engines['pieces_wall']:7.1f} "
            f"MiB/s wall, requester {engines['pieces_cpu']:5.2f} CPU s"
        )
    figures.update(
        ours_best_mib_s=max(rates),
        ours_mean_mib_s=sum(rates) / len(rates),
        ours_requester_cpu_s=engines["cpu"],
        ours_owner_cpu_s=engines["owner_cpu"],
        ours_pieces_mib_s=args.mib / engines["pieces_wall"],
    )


def _measure_go(args: argparse.Namespace, figures: dict[str, float]) -> None:
    if not args.go_runner:
        print("  Go reference: not measured (give --go-runner PATH or set PEERNET_GO_NODE)")
        return
    from go_reference import go_download

    go = go_download(args.go_runner, args.mib * MIB, args.runs)
    figures.update(go_best_mib_s=go["go_best"], go_mean_mib_s=go["go_mean"])
    figures["ratio_best"] = figures["ours_best_mib_s"] / go["go_best"]
    figures["ratio_mean"] = figures["ours_mean_mib_s"] / go["go_mean"]
    print(
        f"  Go reference, Go to Go through the web API:           {go['go_best']:7.1f} MiB/s best, "
        f"{go['go_mean']:.1f} mean of {args.runs}; ours/Go {figures['ratio_best']:.2f} (best), "
        f"{figures['ratio_mean']:.2f} (mean)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1, help="engine and Go downloads to time (best and mean)")
    parser.add_argument("--profile", action="store_true", help="profile the lossless run with cProfile")
    parser.add_argument("--go-runner", default=os.environ.get("PEERNET_GO_NODE", ""),
                        help="a script starting a Go reference node (RUNNER DIR UDPPORT APIPORT); "
                        "default: $PEERNET_GO_NODE")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    args = parser.parse_args()
    config = UdtConfig()
    figures: dict[str, float] = {"mib": args.mib}
    print(f"UDT over lite packets, {args.mib} MiB, frame {config.max_frame_size} bytes, window {config.flow_window}")
    _measure_udt(args, figures)
    _measure_engines(args, figures)
    _measure_go(args, figures)
    frames = args.mib * MIB // config.payload_size + 1
    bare = bare_cost(frames, config.max_frame_size + 18)
    figures["codec_floor_mib_s"] = args.mib / (bare["salsa20"] + bare["codec"])
    print(
        f"  baseline for {frames} frames: Salsa20 {bare['salsa20']:.2f} CPU s, "
        f"frame codec (encode+lite+decode) {bare['codec']:.2f} CPU s, "
        f"together {figures['codec_floor_mib_s']:.1f} MiB/s"
    )
    memory = session_memory()
    figures.update(memory)
    print(
        f"  memory: {memory['idle_pair_bytes'] / 1024:.1f} KiB per idle connected pair; "
        f"{memory['active_pair_bytes'] / 1024:.0f} KiB for a pair with full windows "
        f"({memory['unread_bytes'] / 1024:.0f} KiB unread at the receiver)"
    )
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
