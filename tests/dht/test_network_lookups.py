"""Lookups over real peer engines (sans-IO switch, time passed in)."""

from __future__ import annotations

import random

from peernet_dht import LookupDriver, LookupStatus, Remote
from peernet_proto import PeerEngine, hash_data
from peernet_proto.testing import Switch


def network(count: int, seed: int = 7) -> tuple[Switch, list[PeerEngine]]:
    """``count`` engines on public-looking addresses; each knows the root and a few others."""
    rng = random.Random(seed)
    switch = Switch()
    engines = [switch.add((f"11.0.{i // 250}.{i % 250 + 1}", 5000), seed=i) for i in range(count)]
    root = engines[0]
    for engine in engines[1:]:
        engine.contact(root.public_key, [("11.0.0.1", 5000)], 0.0)
        switch.pump(0.0)
    for engine in engines[1:]:  # a sparse mesh: three random acquaintances each
        for other in rng.sample(engines[1:], min(3, count - 1)):
            if other is not engine:
                engine.contact(other.public_key, [_address(engines, other)], 1.0)
    switch.pump(1.0)
    return switch, engines


def _address(engines: list[PeerEngine], engine: PeerEngine) -> tuple[str, int]:
    i = engines.index(engine)
    return (f"11.0.{i // 250}.{i % 250 + 1}", 5000)


def run_lookup(switch: Switch, engine: PeerEngine, driver: LookupDriver, key: bytes, **options) -> object:
    initial = [Remote(p.public_key) for p in engine.peers()]
    lookup_id = driver.start(key, initial, 2.0, **options)
    assert lookup_id is not None
    now = 2.0
    while now < 30.0:
        switch.pump(now)
        for event in engine.events():
            driver.handle_event(event, now)
        driver.handle_timer(now)
        for done in driver.finished():
            return done
        now += 0.05
    raise AssertionError("lookup did not finish")


def test_lookup_over_engines_finds_the_closest_peer_of_random_keys():
    switch, engines = network(60)
    rng = random.Random(3)
    asker = engines[17]
    driver = LookupDriver(asker, self_id=asker.public_key.node_id, k=8)
    for _ in range(5):
        key = rng.randbytes(32)
        done = run_lookup(switch, asker, driver, key)
        others = [e for e in engines if e is not asker]
        truth = min(others, key=lambda e: int.from_bytes(e.public_key.node_id, "big") ^ int.from_bytes(key, "big"))
        assert done.result.status is LookupStatus.CONVERGED
        assert done.result.closest[0].public_key == truth.public_key
        assert len(done.result.closest) == 8


class ValueHandler:
    def __init__(self, value: bytes) -> None:
        self.value = value

    def find_value(self, key, requester, now):
        return self.value if key == hash_data(self.value) else None

    def info_store(self, requester, records, now):
        pass

    def extension(self, requester, features, items, now):
        return {}


def test_find_value_over_engines_returns_the_value_held_by_a_distant_peer():
    switch, engines = network(40)
    value = b"a value somebody published"
    asker = engines[5]
    key = int.from_bytes(hash_data(value), "big")
    # Values live with the peers closest to their key: that is where the walk ends.
    holder = min(
        (e for e in engines if e is not asker), key=lambda e: int.from_bytes(e.public_key.node_id, "big") ^ key
    )
    holder.handler = ValueHandler(value)
    driver = LookupDriver(asker, self_id=asker.public_key.node_id)
    done = run_lookup(switch, asker, driver, hash_data(value), find_value=True)
    assert done.result.status is LookupStatus.FOUND_VALUE
    assert done.result.value == value and done.result.value_from.public_key == holder.public_key


def test_lookup_with_nobody_to_ask_is_exhausted_and_unreachable_peers_fail_at_once():
    _switch, engines = network(3)
    asker = engines[1]
    driver = LookupDriver(asker, self_id=asker.public_key.node_id)
    from peernet_proto import PrivateKey

    stranger = Remote(PrivateKey.generate().public_key)  # not connected, no endpoints
    assert driver.start(bytes(32), [stranger], 2.0) is not None
    (done,) = driver.finished()
    assert done.result.status is LookupStatus.EXHAUSTED and driver.requests_sent == 0
