"""The victim on real UDP: a PeerEngine on an IPv4 and an IPv6 socket driven by a select loop.

Usage: ``python -m tests.attacks.node_agent V4 V6 PORT UNTIL`` (UNTIL in CLOCK_MONOTONIC seconds);
prints one JSON object: CPU seconds, peak RSS, peer table samples, counters.
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import select
import socket
import sys
import time

import attrs

from peernet_proto import EngineConfig, PeerEngine

from .harness import node_key

__all__ = ["main"]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # what UdpTransport asks for
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def main() -> None:
    """Run until the given monotonic time."""
    v4, v6, port, until = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    sockets = {(v4, port): _bind(v4, port), (v6, port): _bind(v6, port)}
    by_fd = {sock.fileno(): (local, sock) for local, sock in sockets.items()}
    engine = PeerEngine(node_key(), EngineConfig(local_discovery=False), rng=random.Random(5))
    engine.set_local_endpoints(list(sockets), time.monotonic())
    samples: list[tuple[float, int, float]] = []
    next_sample = time.monotonic()
    while (now := time.monotonic()) < until:
        deadline = engine.next_deadline() or now + 0.05
        ready, _, _ = select.select(list(by_fd), [], [], max(0.0, min(deadline - now, 0.05)))
        for fd in ready:
            local, sock = by_fd[fd]
            for _ in range(64):
                try:
                    data, address = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                engine.receive_datagram(data, (address[0], address[1]), local, time.monotonic())
        engine.handle_timer(time.monotonic())
        for out in engine.datagrams_to_send():
            with contextlib.suppress(OSError):
                sockets[out.local].sendto(out.data, out.destination)
        engine.events()
        if now >= next_sample:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            samples.append((now, len(engine), usage.ru_utime + usage.ru_stime))
            next_sample = now + 1.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,
                "peers": len(engine),
                "samples": samples,
                "counters": attrs.asdict(engine.counters),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
