"""The plain-socket runner: two engines on real UDP loopback sockets, driven in one thread."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from peernet_proto import (
    EngineConfig,
    EngineEvent,
    PeerConnected,
    PeerEngine,
    PongReceived,
    PrivateKey,
    SocketRunner,
)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        opened.append(sock)
    yield opened
    for sock in opened:
        sock.close()


def runner(sock: socket.socket, seen: list[EngineEvent]) -> SocketRunner:
    engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
    return SocketRunner(engine, [sock], seen.append)


def turns(*runners: SocketRunner, until: object, limit: int = 200) -> None:
    for _ in range(limit):
        for item in runners:
            item.run_once(0.01)
        if callable(until) and until():
            return
    raise AssertionError("the condition never held")


def test_two_engines_connect_and_ping_over_plain_sockets(sockets: list[socket.socket]) -> None:
    seen_a: list[EngineEvent] = []
    seen_b: list[EngineEvent] = []
    a, b = runner(sockets[0], seen_a), runner(sockets[1], seen_b)
    a.engine.contact(b.engine.public_key, b.local_endpoints(), a.clock())
    a.flush()
    turns(a, b, until=lambda: a.engine.peer(b.engine.public_key) and b.engine.peer(a.engine.public_key))
    assert any(isinstance(e, PeerConnected) for e in seen_a)
    assert a.engine.ping(b.engine.public_key, a.clock()) is not None
    a.flush()
    turns(a, b, until=lambda: any(isinstance(e, PongReceived) for e in seen_a))
    assert a.send_errors == 0 and b.send_errors == 0


def test_the_engine_timers_run_without_datagrams(sockets: list[socket.socket]) -> None:
    """With nothing arriving, run_once still returns at the engine's deadline and runs its timer."""
    a = runner(sockets[0], [])
    deadline = a.engine.next_deadline()
    assert deadline is not None
    a.run_for(max(0.0, deadline - a.clock()) + 0.05)
    after = a.engine.next_deadline()
    assert after is not None and after > deadline


def test_the_socket_endpoints_are_the_engine_endpoints(sockets: list[socket.socket]) -> None:
    a = runner(sockets[0], [])
    name = sockets[0].getsockname()
    assert a.local_endpoints() == [(name[0], name[1])]
    a.close()
