"""The outside world on real UDP: the good peer with newcomers, or one attacker.

``python -m tests.attacks.world_agent good T0 START STOP END``: the good peer pings the
node every 0.2 s from T0 to END, a newcomer joins every second from START to STOP; prints a JSON
result (answered shares, RTTs, recovery, newcomers, bytes received by the good peer).

``python -m tests.attacks.world_agent flood ATTACK RATE DURATION``: builds the attack's datagrams
(prints ``ready``), reads the start time from stdin, sends them paced at RATE; prints a JSON result.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from .harness import (
    GOOD_SEED,
    Datagram,
    GoodPeer,
    Newcomer,
    eclipse_stream,
    expensive_announcement,
    hello,
    honest_key,
    ipv4_sources,
    ipv6_sources,
    node_key,
    replay_flood,
    seal,
    shared_identities,
    sybil_flood,
    traverse_flood,
)
from .netns import ATTACK_V4, ATTACK_V6, NODE_IP, NODE_IP6, WORLD_IP

__all__ = ["ATTACKS", "main"]

PORT = 5000
GOOD = (WORLD_IP, 6000)
FREEBIND = 15  # IP_FREEBIND (also accepted for IPv6 sockets)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, FREEBIND, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def _attack(name: str, count: int) -> tuple[Callable[[int], Sequence[Datagram]], list[tuple[str, int]]]:
    victim = node_key().public_key
    pool = shared_identities(min(max(count, 100), 70_000))
    v4 = ipv4_sources(400, ATTACK_V4)
    if name == "sybil":
        return sybil_flood(pool, victim, v4), v4
    if name == "sybil6":
        v6 = ipv6_sources(400, ATTACK_V6)
        return sybil_flood(pool, victim, v6), v6
    if name == "cost":
        return replay_flood(expensive_announcement(pool.take(1)[0], victim), v4[:1]), v4[:1]
    if name == "replay":
        return replay_flood(seal(pool.take(1)[0], victim, hello(7000, find_self=False), 5), v4[:1]), v4[:1]
    if name == "hijack":  # the good peer's own Announcement, as seen on its path, from another address
        return replay_flood(seal(honest_key(GOOD_SEED), victim, hello(GOOD[1]), 77), v4[:1]), v4[:1]
    if name == "relay":
        return traverse_flood(pool, victim, honest_key(GOOD_SEED).public_key, v4, per_signer=1), v4
    if name == "eclipse":
        keys = pool.nearest(honest_key(GOOD_SEED).public_key.node_id, count)
        return eclipse_stream(keys, victim, v4), v4
    raise SystemExit(f"unknown attack {name}")


ATTACKS = ("sybil", "sybil6", "cost", "replay", "hijack", "relay", "eclipse")


def flood(name: str, rate: float, duration: float) -> None:
    """Precompute, wait for the start time on stdin, send paced."""
    count = int(rate * duration)
    make, _sources = _attack(name, count)
    packets = [datagram for index in range(count) for datagram in make(index)]
    sockets = {source: _bind(*source) for source in {source for _, source in packets}}
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    per_packet = duration / max(1, len(packets))
    sent = dropped = size = 0
    while time.monotonic() < start:
        time.sleep(0.001)
    for index, (data, source) in enumerate(packets):
        due = start + index * per_packet
        delay = due - time.monotonic()
        if delay > 0.001:
            time.sleep(delay)
        try:
            sockets[source].sendto(data, (NODE_IP6 if ":" in source[0] else NODE_IP, PORT))
            sent, size = sent + 1, size + len(data)
        except OSError:
            dropped += 1
    print(
        json.dumps({"sent": sent, "bytes": size, "send_errors": dropped, "took": time.monotonic() - start}), flush=True
    )


def good(t0: float, start: float, stop: float, end: float) -> None:
    """The good peer and the newcomers (times in CLOCK_MONOTONIC seconds)."""
    victim = node_key().public_key
    node = (NODE_IP, PORT)
    peer = GoodPeer(victim, GOOD, interval=0.2, node=node)
    actors: list[GoodPeer | Newcomer] = [peer]
    sockets = {GOOD: _bind(*GOOD)}
    received = {"bytes": 0}
    while time.monotonic() < t0:
        time.sleep(0.001)
    peer.start(time.monotonic())
    joined_next = start
    while (now := time.monotonic()) < end:
        if start <= now < stop and now >= joined_next:
            endpoint = (WORLD_IP, 6100 + len(actors))
            newcomer = Newcomer(victim, endpoint, peer.engine.public_key, GOOD, seed=100 + len(actors), node=node)
            sockets[endpoint] = _bind(*endpoint)
            actors.append(newcomer)
            newcomer.start(now)
            joined_next = now + 1.0
        _pump(actors, sockets, received, start, end)
    newcomers = [a for a in actors if isinstance(a, Newcomer)]
    rtts = [p.rtt for p in peer.pings if start <= p.sent_at < stop and p.rtt is not None]
    after = [p.rtt for p in peer.pings if p.sent_at >= stop + 5 and p.rtt is not None]
    recovered = peer.recovered_at(stop, until=end)
    print(
        json.dumps(
            {
                "answered_before": peer.answered(t0 + 1, start),
                "answered_during": peer.answered(start, stop),
                "answered_after": peer.answered(stop + 5, end - 1),
                "rtt_during": statistics.median(rtts) if rtts else None,
                "rtt_after": statistics.median(after) if after else None,
                "recovery": None if recovered is None else max(0.0, recovered - stop),
                "newcomers": len(newcomers),
                "joined": sum(n.joined for n in newcomers),
                "told_truth": sum(n.told_truth for n in newcomers),
                "good_received_bytes": received["bytes"],
            }
        ),
        flush=True,
    )


def _pump(
    actors: Sequence[GoodPeer | Newcomer],
    sockets: dict[tuple[str, int], socket.socket],
    received: dict[str, int],
    start: float,
    end: float,
) -> None:
    by_fd = {sock.fileno(): (local, sock) for local, sock in sockets.items()}
    ready, _, _ = select.select(list(by_fd), [], [], 0.01)
    engines = {actor.endpoint: actor.engine for actor in actors}
    for fd in ready:
        local, sock = by_fd[fd]
        for _ in range(64):
            try:
                data, address = sock.recvfrom(65535)
            except BlockingIOError:
                break
            if local == GOOD and time.monotonic() >= start:
                received["bytes"] += len(data)
            engines[local].receive_datagram(data, (address[0], address[1]), local, time.monotonic())
    now = time.monotonic()
    for actor in actors:
        actor.act(now)
        actor.engine.handle_timer(now)
        for out in actor.engine.datagrams_to_send():
            with contextlib.suppress(OSError):
                sockets[out.local].sendto(out.data, out.destination)


def main() -> None:
    """Dispatch on the mode."""
    if sys.argv[1] == "good":
        good(*(float(value) for value in sys.argv[2:6]))
    else:
        flood(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))


if __name__ == "__main__":
    main()
