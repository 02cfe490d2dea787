"""Stores and gets in the engine model: every node runs a :class:`DhtService` next to its lookups.

With ``stores`` > 0 in the configuration each node's engine gets a :class:`DhtService` as its
request handler (it answers FIND_VALUE and INFO_STORE). Store ``n`` is started by a random node
that stays up, ``lookup_spread * n / stores`` seconds after the lookups begin: it keeps a random
value and sends INFO_STORE to the k closest peers of its key found by a lookup. When the store
finishes, another random node that stays up gets the value by its key :data:`GET_DELAY` seconds
later (a FIND_VALUE lookup, then the "storing" peers it learns of are asked). The report gives
how many peers acknowledged each store, how many gets found the value, their requests and times.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any, Final

from peernet_proto import EngineEvent, PeerEngine, PublicKey

from ._network import LookupDriver
from ._routing import RoutingTable
from ._service import DhtService, StoreResult, ValueResult
from ._sim_plan import SimPlan, on_grid, stream

__all__ = ["GET_DELAY", "STORE", "VALUE_SIZE", "Workload"]

GET_DELAY: Final = 0.5  # seconds from a store's end to the get of its value
VALUE_SIZE: Final = 64  # bytes per stored value
STORE, GET = "store", "get"

# (kind, number) of an operation: its place in the plan
_Op = tuple[str, int]


class _StorePlan:
    __slots__ = ("finished", "getter", "key", "start", "storer", "value")

    def __init__(self, storer: int, getter: int, value: bytes, start: float) -> None:
        self.storer, self.getter, self.value, self.start = storer, getter, value, start
        self.key = b""
        self.finished = 0.0


class Workload:
    """The services of the owned nodes and the stores and gets they run (unsharded runs)."""

    def __init__(self, plan: SimPlan, engines: dict[int, tuple[PeerEngine, RoutingTable[PublicKey]]]) -> None:
        config = plan.config
        self.services: dict[int, DhtService] = {}
        for index, (engine, table) in engines.items():
            driver = LookupDriver(
                engine, self_id=plan.public_keys[index].node_id, k=config.k, alpha=config.alpha,
                request_timeout=config.request_timeout, attempts=config.attempts, lookup_timeout=config.lookup_timeout,
            )  # fmt: skip
            service = DhtService(
                engine, closest=table.closest, driver=driver, k=config.k, request_timeout=config.request_timeout,
                attempts=config.attempts, operation_timeout=2 * config.lookup_timeout,
            )  # fmt: skip
            engine.handler = service
            self.services[index] = service
        rng = stream(config.seed, "stores")
        stayers = plan.stayers()
        self.stores: list[_StorePlan] = []
        for number in range(config.stores):
            storer, getter = rng.sample(stayers, 2)
            start = on_grid(config.lookup_spread * number / config.stores)
            self.stores.append(_StorePlan(storer, getter, rng.randbytes(VALUE_SIZE), start))
        self._running: dict[tuple[int, int], _Op] = {}  # (node, operation id) -> operation
        self.results: dict[_Op, StoreResult | ValueResult] = {}
        self.durations: dict[_Op, float] = {}
        self.remaining = 2 * len(self.stores)

    def start(self, filled: float, push: Callable[[float, int, int, int], None]) -> None:
        """Schedule the stores (``push(time, node, kind, number)``; kind 0 store, 1 get)."""
        for number, store in enumerate(self.stores):
            store.start = filled + store.start
            push(store.start, store.storer, 0, number)

    def run(self, index: int, get: bool, number: int, now: float) -> None:
        """Start store or get ``number`` at node ``index``."""
        store = self.stores[number]
        service = self.services[index]
        if get:
            self._running[(index, service.get(store.key, now))] = (GET, number)
        else:
            self._running[(index, service.store(store.value, now))] = (STORE, number)

    def collect(self, index: int, now: float, push: Callable[[float, int, int, int], None]) -> None:
        """Finished operations of node ``index``: record them; a finished store schedules its get."""
        for result in self.services[index].finished():
            op = self._running.pop((index, result.op), None)
            if op is None or not isinstance(result, StoreResult | ValueResult):
                continue
            number = op[1]
            store = self.stores[number]
            self.results[op] = result
            self.remaining -= 1
            if isinstance(result, StoreResult):
                store.key, store.finished = result.key, now
                self.durations[op] = now - store.start
                push(on_grid(now + GET_DELAY), store.getter, 1, number)
            else:
                self.durations[op] = now - on_grid(store.finished + GET_DELAY)

    def handle_event(self, index: int, event: EngineEvent, now: float) -> bool:
        """An engine event the lookups did not claim; True when the service's."""
        service = self.services.get(index)
        return service is not None and service.handle_event(event, now)

    def figures(self) -> dict[str, Any]:
        """The stores' and gets' figures for the report."""
        stores = [r for r in self.results.values() if isinstance(r, StoreResult)]
        gets = [r for r in self.results.values() if isinstance(r, ValueResult)]
        get_seconds = [self.durations[op] for op, r in self.results.items() if isinstance(r, ValueResult)]
        found = sum(
            1 for (_, n), r in self.results.items() if isinstance(r, ValueResult) and r.value == self.stores[n].value
        )
        return {
            "stores": len(self.stores),
            "store_replicas_mean": round(statistics.fmean(len(s.stored_at) for s in stores), 2) if stores else 0,
            "store_messages_mean": round(statistics.fmean(s.messages for s in stores), 2) if stores else 0,
            "gets_found_rate": round(found / len(gets), 4) if gets else 0,
            "get_messages_mean": round(statistics.fmean(g.messages for g in gets), 2) if gets else 0,
            "get_seconds_median": round(statistics.median(get_seconds), 3) if get_seconds else 0,
        }
