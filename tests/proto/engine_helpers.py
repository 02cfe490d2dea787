"""A direct datagram switch between sans-IO engines, for engine tests (no sockets, no clock)."""

from __future__ import annotations

import random

from peernet_proto import EngineConfig, PeerEngine, PrivateKey


class Switch:
    def __init__(self) -> None:
        self.engines: dict[tuple[str, int], PeerEngine] = {}
        self.delivered = 0
        self.drop = lambda data, source, destination: False  # set to filter traffic
        self.rewrite_source: dict[tuple[str, int], tuple[str, int]] = {}  # NAT-like source rewriting

    def add(self, endpoint, *, seed=0, key=None, **config) -> PeerEngine:
        config.setdefault("local_discovery", False)
        engine = PeerEngine(key or PrivateKey.generate(), EngineConfig(**config), rng=random.Random(seed))
        engine.set_local_endpoints([endpoint], 0.0)
        self.engines[endpoint] = engine
        return engine

    def pump(self, now: float) -> None:
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
        now = start
        while now <= end:
            self.pump(now)
            now += step
