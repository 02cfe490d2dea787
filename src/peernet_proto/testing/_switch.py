"""A direct datagram switch between sans-IO engines, for engine tests (no sockets, no clock)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .._engine import EngineConfig, PeerEngine
from .._keys import PrivateKey
from .._transport import Endpoint

__all__ = ["Switch"]


def _keep(data: bytes, source: Endpoint, destination: Endpoint) -> bool:
    return False


class Switch:
    """Delivers the datagrams of several :class:`~peernet_proto.PeerEngine` s to each other, instantly.

    Engines are keyed by their one local endpoint. ``drop(data, source, destination)`` returning true
    filters a datagram; ``rewrite_source`` maps a sender's local endpoint to the source the receiver
    sees (a NAT-like rewrite). ``delivered`` counts the datagrams handed over.
    """

    def __init__(self) -> None:
        self.engines: dict[Endpoint, PeerEngine] = {}
        self.delivered = 0
        self.drop: Callable[[bytes, Endpoint, Endpoint], bool] = _keep
        self.rewrite_source: dict[Endpoint, Endpoint] = {}

    def add(self, endpoint: Endpoint, *, seed: int = 0, key: PrivateKey | None = None, **config: Any) -> PeerEngine:
        """A new engine at ``endpoint``; ``config`` are :class:`~peernet_proto.EngineConfig` fields
        (``local_discovery`` defaults to false), ``seed`` seeds its random numbers."""
        config.setdefault("local_discovery", False)
        engine = PeerEngine(key or PrivateKey.generate(), EngineConfig(**config), rng=random.Random(seed))
        engine.set_local_endpoints([endpoint], 0.0)
        self.engines[endpoint] = engine
        return engine

    def pump(self, now: float) -> None:
        """Runs every engine's timers at ``now`` (seconds) and delivers datagrams until none is left."""
        moved = True
        while moved:
            moved = False
            for engine in list(self.engines.values()):
                engine.handle_timer(now)
                for out in engine.datagrams_to_send():
                    moved = True
                    target = self.engines.get(out.destination)
                    source = self.rewrite_source.get(out.local, out.local)
                    if target is None or self.drop(out.data, source, out.destination):
                        continue
                    self.delivered += 1
                    target.receive_datagram(out.data, source, out.destination, now)

    def run(self, start: float, end: float, step: float = 1.0) -> None:
        """Pumps at ``start``, ``start + step``, … up to ``end`` inclusive (seconds, ``step`` > 0)."""
        now = start
        while now <= end:
            self.pump(now)
            now += step
