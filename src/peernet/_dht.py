"""The node's DHT: :class:`peernet_dht.DhtService` (with its LookupDriver) on the node's engine,
and the trio glue that turns its operations into awaitable calls.

The service answers FIND_VALUE / INFO_STORE / keyword-search items for the engine (what is stored
and served is documented in :mod:`peernet_dht._service`), and runs the client operations. This
module feeds it the engine's events and the time, wakes the engine runner when requests were
queued, and hands each finished operation to whoever awaits it. Operations nobody awaits
(republishing) are dropped when they finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import trio

from peernet_dht import (
    DhtResult,
    DhtService,
    IndexedFile,
    KeywordEntry,
    NetworkHit,
    PeerResult,
    PublishResult,
    Remote,
    RoutingTable,
    SearchResult,
    StoreResult,
    ValueResult,
)
from peernet_proto import EngineEvent, Feature, PeerEngine, PublicKey

__all__ = ["NodeDht"]

log = logging.getLogger(__name__)

R = TypeVar("R", bound=DhtResult)


class NodeDht:
    """Owns the service; ``run`` is its timer task, ``on_event`` must see every engine event."""

    def __init__(
        self,
        engine: PeerEngine,
        table: RoutingTable[PublicKey],
        poke: Callable[[], None],
        *,
        keyword_search: bool = True,
        **options: Any,
    ) -> None:
        self.engine = engine
        self.service = DhtService(engine, closest=lambda key, count: table.closest(key, count), **options)
        engine.handler = self.service
        if keyword_search:
            engine.extra_features |= Feature.KEYWORD_SEARCH
        self._poke = poke
        self._waiting: dict[int, trio.Event] = {}
        self._results: dict[int, DhtResult] = {}
        self._wakeup = trio.Event()

    # ---- glue ------------------------------------------------------------------------------------

    def on_event(self, event: EngineEvent) -> None:
        if self.service.handle_event(event, trio.current_time()):
            self._changed()

    def _changed(self) -> None:
        """Requests may have been queued and deadlines moved: flush both loops."""
        self._collect()
        self._wakeup.set()
        self._poke()

    def _collect(self) -> None:
        for result in self.service.finished():
            waiter = self._waiting.pop(result.op, None)
            if waiter is not None:
                self._results[result.op] = result
                waiter.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            deadline = self.service.next_deadline()
            with trio.move_on_at(deadline if deadline is not None else trio.current_time() + 60.0):
                await self._wakeup.wait()
            self._wakeup = trio.Event()
            self.service.handle_timer(trio.current_time())
            self._collect()
            self._poke()

    async def _wait(self, op: int, kind: type[R]) -> R:
        waiter = self._waiting[op] = trio.Event()
        try:
            self._changed()
            await waiter.wait()
            result = self._results.pop(op)
        finally:
            self._waiting.pop(op, None)
            self._results.pop(op, None)
        assert isinstance(result, kind)
        return result

    # ---- operations ------------------------------------------------------------------------------

    async def find_peer(self, node_id: bytes) -> Remote | None:
        result = await self._wait(self.service.find_peer(node_id, trio.current_time()), PeerResult)
        return result.remote

    async def find_value(self, key: bytes) -> ValueResult:
        return await self._wait(self.service.get(key, trio.current_time()), ValueResult)

    async def store(self, value: bytes) -> StoreResult:
        return await self._wait(self.service.store(value, trio.current_time()), StoreResult)

    async def publish(self, files: Iterable[IndexedFile | KeywordEntry]) -> PublishResult:
        return await self._wait(self.service.publish(files, trio.current_time()), PublishResult)

    async def search(self, text: str) -> SearchResult:
        return await self._wait(self.service.search(text, trio.current_time()), SearchResult)

    async def search_hits(self, text: str) -> list[NetworkHit]:
        return list((await self.search(text)).hits)
