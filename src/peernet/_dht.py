"""The node's DHT: :class:`peernet_dht.DhtService` (with its LookupDriver) on the node's engine,
and the trio glue that turns its operations into awaitable calls.

The service answers FIND_VALUE / INFO_STORE / keyword-search items for the engine (what is stored
and served is documented in :mod:`peernet_dht._service`), and runs the client operations. It is
registered with the engine as a behaviour, so the engine's runner feeds it events and the time;
this module wakes the runner when requests were queued and hands each finished operation to
whoever awaits it. Operations nobody awaits (republishing) are dropped when they finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import trio

from peernet_dht import (
    DhtBehaviour,
    DhtResult,
    DhtService,
    FairKeywordStore,
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
    ValueStore,
    near_by_rank,
)
from peernet_proto import PeerEngine, PublicKey

__all__ = ["NodeDht"]

log = logging.getLogger(__name__)

R = TypeVar("R", bound=DhtResult)


class NodeDht:
    """Owns the service and registers it with ``engine`` as a :class:`DhtBehaviour`: the engine's
    runner drives its timers and hands it its events; finished operations wake their callers."""

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
        # Stores for others keep only keys this node is among the k nearest to (by its routing
        # table), and share their room fairly between publishers and address prefixes.
        def closest_ids(key: bytes, count: int) -> list[bytes]:
            return [contact.node_id for contact in table.closest(key, count)]

        near = near_by_rank(engine.public_key.node_id, closest_ids)
        options.setdefault("keywords", FairKeywordStore(near=near))
        options.setdefault("values", ValueStore(near=near))
        self.service = DhtService(engine, closest=lambda key, count: table.closest(key, count), **options)
        engine.handler = self.service
        # keyword_search=False leaves the KEYWORD_SEARCH feature bit off (no search items, like a Go peer).
        self.behaviour = DhtBehaviour(
            self.service, keyword_search=keyword_search, on_finished=self._finished, table=table
        )
        engine.register(self.behaviour)
        self._poke = poke
        self._waiting: dict[int, trio.Event] = {}
        self._results: dict[int, DhtResult] = {}

    def _finished(self, result: DhtResult) -> None:
        waiter = self._waiting.pop(result.op, None)
        if waiter is not None:
            self._results[result.op] = result
            waiter.set()

    async def _wait(self, op: int, kind: type[R]) -> R:
        waiter = self._waiting[op] = trio.Event()
        try:
            self.behaviour.collect()  # it may have finished at once
            self._poke()  # send what it queued; its deadlines may be earlier than the runner's sleep
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
