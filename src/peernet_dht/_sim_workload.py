"""Stores and searches in the engine model: every node runs a :class:`DhtService` next to its lookups.

With ``stores`` or ``searches`` > 0 in the configuration each node's engine gets a
:class:`DhtService` as its request handler (it answers FIND_VALUE, INFO_STORE and, with the
KEYWORD_SEARCH feature bit every node then announces, keyword PUBLISH and QUERY items).

* Store ``n`` is started by a random node that stays up, ``lookup_spread * n / stores`` seconds
  after the lookups begin: it keeps a random value and sends INFO_STORE to the k closest peers of
  its key. When the store finishes, another random node that stays up gets the value by its key
  :data:`GET_DELAY` seconds later (a FIND_VALUE lookup; the "storing" peers it learns of are asked).
* Search ``n`` likewise: a random node publishes one file named by two random words; when the
  publish finishes, another node searches for that name. Found: the file is among the hits.

The report gives how many peers acknowledged each store or publish, how many gets and searches
found what they looked for, their requests and their simulated times.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from typing import Any, Final

from peernet_proto import EngineEvent, PeerEngine, PublicKey

from ._index import IndexedFile
from ._network import LookupDriver
from ._routing import RoutingTable
from ._search import FEATURE_KEYWORD_SEARCH
from ._service import DhtResult, DhtService, PublishResult, SearchResult, StoreResult, ValueResult
from ._sim_plan import SimPlan, on_grid, stream

__all__ = ["GET_DELAY", "VALUE_SIZE", "Workload"]

GET_DELAY: Final = 0.5  # seconds from a store's (publish's) end to the get (search) of what it put
VALUE_SIZE: Final = 64  # bytes per stored value

# (second, number): an operation's place in the plan (second: the get or search that follows)
_Op = tuple[bool, int]


class _Pair:
    """A store and the get of its value, or a publish and the search for its file."""

    __slots__ = ("file", "finished", "getter", "key", "start", "storer", "value")

    def __init__(self, storer: int, getter: int, start: float, value: bytes, file: IndexedFile | None) -> None:
        self.storer, self.getter, self.start, self.value, self.file = storer, getter, start, value, file
        self.key = b""  # the stored value's key, known when the store finishes
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
        stayers = plan.stayers()
        self.pairs = self._plan(plan, stayers, config.stores, None) + self._plan(plan, stayers, config.searches, plan)
        self.searches = config.searches
        if self.searches:
            for engine, _ in engines.values():
                engine.extra_features |= FEATURE_KEYWORD_SEARCH
        self._running: dict[tuple[int, int], _Op] = {}  # (node, operation id) -> operation
        self.results: dict[_Op, DhtResult] = {}
        self.durations: dict[_Op, float] = {}
        self.remaining = 2 * len(self.pairs)

    @staticmethod
    def _plan(plan: SimPlan, stayers: list[int], count: int, files: SimPlan | None) -> list[_Pair]:
        config = plan.config
        rng = stream(config.seed, "searches" if files else "stores")
        pairs = []
        for number in range(count):
            storer, getter = rng.sample(stayers, 2)
            start = on_grid(config.lookup_spread * number / count)
            value = rng.randbytes(VALUE_SIZE if files is None else 16)
            file = None
            if files is not None:
                name = f"{value[:4].hex()} {value[4:8].hex()}"
                file = IndexedFile(value, plan.public_keys[storer].to_bytes(), name=name, own=True, size=len(name))
            pairs.append(_Pair(storer, getter, start, value, file))
        return pairs

    def start(self, filled: float, push: Callable[[float, int, int, int], None]) -> None:
        """Schedule the stores and publishes (``push(time, node, second, number)``)."""
        for number, pair in enumerate(self.pairs):
            pair.start = filled + pair.start
            push(pair.start, pair.storer, 0, number)

    def run(self, index: int, second: bool, number: int, now: float) -> None:
        """Start the first (store, publish) or second (get, search) operation of pair ``number``."""
        pair = self.pairs[number]
        service = self.services[index]
        if pair.file is None:
            op = service.get(pair.key, now) if second else service.store(pair.value, now)
        else:
            op = service.search(str(pair.file.name), now) if second else service.publish([pair.file], now)
        self._running[(index, op)] = (second, number)

    def collect(self, index: int, now: float, push: Callable[[float, int, int, int], None]) -> None:
        """Finished operations of node ``index``: record them; a finished first one schedules the second."""
        for result in self.services[index].finished():
            op = self._running.pop((index, result.op), None)
            if op is None:
                continue
            second, number = op
            pair = self.pairs[number]
            self.results[op] = result
            self.remaining -= 1
            if not second:
                pair.finished = now
                if isinstance(result, StoreResult):
                    pair.key = result.key
                self.durations[op] = now - pair.start
                push(on_grid(now + GET_DELAY), pair.getter, 1, number)
            else:
                self.durations[op] = now - on_grid(pair.finished + GET_DELAY)

    def handle_event(self, index: int, event: EngineEvent, now: float) -> bool:
        """An engine event the lookups did not claim; True when the service's."""
        service = self.services.get(index)
        return service is not None and service.handle_event(event, now)

    def figures(self) -> dict[str, Any]:
        """The figures of the stores and searches for the report."""
        figures: dict[str, Any] = {}
        stores = [(n, r) for (second, n), r in self.results.items() if not second and isinstance(r, StoreResult)]
        gets = [(n, r) for (second, n), r in self.results.items() if second and isinstance(r, ValueResult)]
        if len(self.pairs) > self.searches:
            figures.update(
                stores=len(self.pairs) - self.searches,
                store_replicas_mean=_mean(len(r.stored_at) for _, r in stores),
                store_messages_mean=_mean(r.messages for _, r in stores),
                gets_found_rate=_mean(r.value == self.pairs[n].value for n, r in gets),
                get_messages_mean=_mean(r.messages for _, r in gets),
                get_seconds_median=self._median(ValueResult),
            )  # fmt: skip
        publishes = [r for (second, _), r in self.results.items() if not second and isinstance(r, PublishResult)]
        searches = [(n, r) for (second, n), r in self.results.items() if second and isinstance(r, SearchResult)]
        if self.searches:
            figures.update(
                searches=self.searches,
                publish_stored_mean=_mean(r.stored for r in publishes),
                searches_found_rate=_mean(_found(self.pairs[n].file, r) for n, r in searches),
                search_messages_mean=_mean(r.messages for _, r in searches),
                search_seconds_median=self._median(SearchResult),
            )  # fmt: skip
        return figures

    def _median(self, kind: type) -> float:
        seconds = [self.durations[op] for op, r in self.results.items() if isinstance(r, kind)]
        return round(statistics.median(seconds), 3) if seconds else 0.0


def _mean(values: Iterable[float]) -> float:
    listed = list(values)
    return round(statistics.fmean(listed), 4) if listed else 0.0


def _found(file: IndexedFile | None, result: SearchResult) -> bool:
    return file is not None and any(hit.ref == file.ref for hit in result.hits)
