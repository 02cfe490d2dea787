"""The DHT service: answers the DHT part of requests, and runs the client operations. Sans-IO.

:class:`DhtService` is the engine's :class:`peernet_proto.RequestHandler` and, on top of a
:class:`LookupDriver`, the client side: find a peer, find / store a value, publish keyword entries
of own files, search the network by keyword. It takes ``now`` everywhere, sends through the
engine's request API and reports finished operations from :meth:`DhtService.finished`::

    service = DhtService(engine, closest=lambda key, n: table.closest(key, n))
    engine.handler = service
    engine.extra_features |= FEATURE_KEYWORD_SEARCH
    op = service.search("holiday pictures", now)
    ... every engine event: service.handle_event(event, now)
    ... at service.next_deadline(): service.handle_timer(now)
    ... service.finished() -> [SearchResult(op, ...)]

What this node stores and serves
--------------------------------
* **FIND_VALUE** for key K: a value this node stored itself (:meth:`DhtService.store`, at most
  :data:`VALUE_SIZE_MAX` bytes) is embedded in the Response; otherwise the peers that told us with
  INFO_STORE that they hold K are returned as "storing" records (those still connected; the
  engine fills in their addresses); otherwise it is a miss and the engine returns the closest
  peers of K from the routing table (the reference returns "not found" only).
* **INFO_STORE** from peer P: each entry {K, size, type} becomes a provider record K → P, at most
  :data:`INFO_STORE_PER_REQUEST` per request, bounded per key and in total, expiring after the
  store's ``provider_ttl`` unless P repeats it. No data is fetched or kept for anybody else.
* **Keyword search** (extension item type 1, only from peers announcing the KEYWORD_SEARCH bit):
  PUBLISH entries are kept in the :class:`KeywordStore` (bounded, expiring) *only if their owner
  is the publishing peer itself* — a peer cannot publish files in another peer's name — and are
  acknowledged with STORED. A QUERY is answered with RESULTS: at most
  :data:`RESULTS_PER_QUERY` entries (fewer if the requester asks for fewer, and only what fits
  one payload) for its first :data:`QUERY_KEYWORDS_SERVED` keyword hashes, our own published
  files first, then the stored ones, newest first.
* Nothing is persisted; everything lives for the process only.

Client operations
-----------------
Each is one class of :mod:`peernet_dht._service_ops` (a small shared base); the service keeps the
running ones in a table by operation ID and passes each finished lookup and each answer to its
operation. The answering side is :class:`~peernet_dht._service_answer.ServiceAnswers`.

* :meth:`~DhtService.find_peer`: a lookup that stops at the target node.
* :meth:`~DhtService.find_value`: local store, then a FIND_VALUE lookup; "storing" records seen
  in any answer are asked directly (at most :data:`PROVIDERS_FOLLOWED`), the first value whose
  hash is the key wins.
* :meth:`~DhtService.store`: keep the value, look up the k closest peers of its key and send them
  INFO_STORE (they record us as provider). Republished every ``republish_interval``.
* :meth:`~DhtService.publish`: keyword entries of own files; for each keyword hash a lookup, then
  PUBLISH to those of the k closest peers found that have the KEYWORD_SEARCH and EXTENSIONS bits
  (Go peers never get one), one payload per peer carrying all its keywords. Own entries are
  served from here and republished every ``republish_interval``.
* :meth:`~DhtService.search`: the query's keyword hashes (exact term first, at most
  :data:`QUERY_KEYWORDS`), for each a lookup and a QUERY to the ``query_fanout`` closest peers
  found that have both bits; our own published files and stored entries count too. Answers are
  checked: entries for keyword hashes that were not asked of that peer, repeats, bad owner keys
  and everything past the per-peer cap are dropped (counted as junk).
  Results are merged per (owner, file ID), ranked by exact match, matched keywords, and number
  of peers that reported them, and cut to ``max_results``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import attrs

from peernet_proto import (
    Behaviour,
    EngineEvent,
    InfoStoreFile,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    sort_by_distance,
)

from ._distance import check_id
from ._index import IndexedFile
from ._keywords import parse_query
from ._network import LookupDriver, Remote, remote_from_record
from ._routing import K
from ._search import MAX_ITEMS, KeywordEntry, KeywordStore, entries_for_file
from ._service_answer import OwnEntries, ServiceAnswers
from ._service_ops import FindPeerOp, FindValueOp, Operation, PublishOp, SearchOp, StoreOp
from ._service_requests import DirectRequests, RequestTag, SearchItems
from ._service_types import (
    HOUSEKEEPING,
    INFO_STORE_PER_REQUEST,
    PARALLEL_LOOKUPS,
    PROVIDERS_FOLLOWED,
    QUERY_KEYWORDS,
    QUERY_KEYWORDS_SERVED,
    RESULTS_PER_QUERY,
    SEARCH_FEATURES,
    DhtEngine,
    DhtResult,
    DhtStatistics,
    NetworkHit,
    PeerResult,
    PublishResult,
    SearchResult,
    StoreResult,
    Tally,
    ValueResult,
)
from ._store import ValueStore

__all__ = [
    "INFO_STORE_PER_REQUEST",
    "QUERY_KEYWORDS_SERVED",
    "SEARCH_FEATURES",
    "DhtEngine",
    "DhtResult",
    "DhtService",
    "DhtStatistics",
    "NetworkHit",
    "PeerResult",
    "PublishResult",
    "SearchResult",
    "StoreResult",
    "ValueResult",
]

_O = TypeVar("_O", bound=Operation)


class DhtService:
    """Request handler and client operations of the DHT (see the module docstring)."""

    def __init__(
        self,
        engine: DhtEngine,
        *,
        closest: Callable[[bytes, int], Sequence[PublicKey]] | None = None,
        driver: LookupDriver | None = None,
        values: ValueStore[PublicKey] | None = None,
        keywords: KeywordStore | None = None,
        k: int = K,
        query_fanout: int = 10,
        results_per_peer: int = RESULTS_PER_QUERY,
        max_results: int = 200,
        request_timeout: float = 3.0,
        attempts: int = 3,
        operation_timeout: float = 40.0,
        republish_interval: float = 3600.0,
        max_own_entries: int = 50_000,
    ) -> None:
        self.engine = engine
        self.driver = driver or LookupDriver(engine, self_id=engine.public_key.node_id, k=k)
        self._closest = closest or self._closest_connected
        self.values: ValueStore[PublicKey] = (
            values if values is not None else ValueStore(republish_interval=republish_interval)
        )
        self.keywords = keywords if keywords is not None else KeywordStore()
        self.k, self.query_fanout = k, query_fanout
        self.results_per_peer = min(results_per_peer, MAX_ITEMS)
        self.max_results = max_results
        self.request_timeout, self.operation_timeout = request_timeout, operation_timeout
        self.attempts = attempts  # per direct request (UDP loses packets)
        self.republish_interval = republish_interval
        self.tally = Tally()
        self.requests = DirectRequests(self)
        self.search_items = SearchItems(engine, self.tally)
        self._own = OwnEntries(max_own_entries)
        self._answers = ServiceAnswers(self, self._own, self._arm_housekeeping)
        self._ops: dict[int, Operation] = {}  # the running operations, by ID
        self._lookup_ops: dict[int, int] = {}  # lookup id -> operation id
        self._value_ops: dict[bytes, dict[int, FindValueOp]] = {}  # key -> running FIND_VALUE operations
        self._finished: list[DhtResult] = []
        self._next_op = 0
        self._next_housekeeping: float | None = None
        self._next_keyword_republish: float | None = None
        self._now = 0.0  # the latest time seen

    @property
    def owner(self) -> Behaviour | None:
        """The behaviour the engine delivers the answers to the service's direct requests to."""
        return self.requests.owner

    @owner.setter
    def owner(self, owner: Behaviour | None) -> None:
        self.requests.owner = owner

    @property
    def max_own_entries(self) -> int:
        """The most own keyword entries kept (:meth:`publish` refuses more)."""
        return self._own.limit

    @max_own_entries.setter
    def max_own_entries(self, limit: int) -> None:
        self._own.limit = limit

    def statistics(self) -> DhtStatistics:
        """What the service answered, refused, retried and dropped so far."""
        return self.tally.snapshot()

    @property
    def counters(self) -> dict[str, int]:
        """The non-zero counts of :meth:`statistics` by field name."""
        return {name: count for name, count in attrs.asdict(self.statistics()).items() if count}

    # ---- RequestHandler: answering -------------------------------------------------------------

    def find_value(self, key: bytes, requester: PublicKey, now: float) -> bytes | Sequence[PublicKey] | None:
        """A value of ours, else the "storing" peers of ``key``, else None (the engine sends the closest)."""
        return self._answers.find_value(key, requester, now)

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        """Record ``requester`` as provider of the keys it announces."""
        self._answers.info_store(requester, records, now)

    def extension(
        self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float
    ) -> Mapping[int, bytes]:
        """Answer a keyword-search item (PUBLISH, QUERY); other items get nothing."""
        return self._answers.extension(requester, features, items, now)

    # ---- client operations ---------------------------------------------------------------------

    def find_peer(self, node_id: bytes, now: float) -> int:
        """Locate the peer with ``node_id``; finishes with a :class:`PeerResult`."""
        op = self._add(FindPeerOp(self, self._new_id(), now, check_id(node_id)))
        known = [key for key in self._closest(check_id(node_id), 1) if key.node_id == node_id]
        if known and self.engine.peer(known[0]) is not None:
            op.remote = Remote(known[0])
        elif node_id != self.engine.public_key.node_id:
            op.queue.append(node_id)
        self._continue(op, now)
        return op.id

    def get(self, key: bytes, now: float) -> int:
        """Find the value of ``key``: ours, or from the network; finishes with a :class:`ValueResult`."""
        op = self._add(FindValueOp(self, self._new_id(), now, check_id(key)))
        local = self.values.get(key, now)
        if local is not None:
            op.value, op.source = local, self.engine.public_key
        else:
            op.watch_key = key
            self._value_ops.setdefault(key, {})[op.id] = op
            for provider in self.values.providers(key, now)[:PROVIDERS_FOLLOWED]:
                op.fetch(Remote(provider), now)
            op.queue.append(key)
        self._continue(op, now)
        return op.id

    def store(self, value: bytes, now: float) -> int:
        """Keep ``value`` (at most :data:`VALUE_SIZE_MAX` bytes; raises StoreFullError) and tell
        the k closest peers of its key; finishes with a :class:`StoreResult`."""
        key = self.values.put(value, now)
        self.values.mark_republished(key, now)
        self._arm_housekeeping(now)
        return self._store_op(key, len(value), now)

    def _store_op(self, key: bytes, size: int, now: float) -> int:
        op = self._add(StoreOp(self, self._new_id(), now, key, size))
        op.queue.append(key)
        self._continue(op, now)
        return op.id

    def publish(self, files: Iterable[IndexedFile | KeywordEntry], now: float) -> int:
        """Publish keyword entries of own files (an :class:`IndexedFile` gives one entry per
        keyword); finishes with a :class:`PublishResult`. Raises ValueError for a file whose
        owner is not this node, or when more than ``max_own_entries`` would be kept."""
        owner = self.engine.public_key.to_bytes()
        entries: list[KeywordEntry] = []
        for file in files:
            new = entries_for_file(file) if isinstance(file, IndexedFile) else [file]
            if any(entry.owner != owner for entry in new):
                raise ValueError("only own files can be published (peers refuse other owners)")
            entries.extend(new)
        self._own.add(entries)
        self._arm_housekeeping(now)
        if self._next_keyword_republish is None:
            self._next_keyword_republish = now + self.republish_interval
        return self._publish_op(entries, now)

    def withdraw(self, owner: bytes, file_id: bytes) -> int:
        """Stop serving and republishing an own file (copies elsewhere expire with their TTL)."""
        return self._own.withdraw(owner, file_id)

    def _publish_op(self, entries: Iterable[KeywordEntry], now: float) -> int:
        by_keyword: dict[bytes, list[KeywordEntry]] = {}
        for entry in entries:
            by_keyword.setdefault(entry.keyword, []).append(entry)
        op = self._add(PublishOp(self, self._new_id(), now, by_keyword))
        op.queue.extend(by_keyword)
        self._continue(op, now)
        return op.id

    def search(self, term: str | bytes, now: float) -> int:
        """Search the network for files matching ``term`` (the local index's rules: OR over the
        keywords, quotes for an exact search); finishes with a :class:`SearchResult`."""
        query = parse_query(term)
        words = dict(list(query.hashes().items())[:QUERY_KEYWORDS])
        text = term.decode("utf-8", "replace") if isinstance(term, bytes) else term
        exact = query.exact[0] if query.exact else None
        op = self._add(SearchOp(self, self._new_id(), now, text, words, exact))
        me = self.engine.public_key
        for entry in self._answers.local_entries(words, now, self.max_results):
            op.merge(entry, me)
        op.queue.extend(words)
        self._continue(op, now)
        return op.id

    # ---- events and time -----------------------------------------------------------------------

    def handle_event(self, event: EngineEvent, now: float) -> bool:
        """Feed every engine event; True when it belonged to the service or its lookups."""
        self._now = now
        if isinstance(event, ResponseReceived) and self._value_ops:
            self._watch_providers(event, now)
        tag = self.requests.match(event)
        if tag is not None and isinstance(event, ResponseReceived | RequestTimedOut):
            self._on_answer(event, tag, now)
            handled = True
        else:
            handled = self.driver.handle_event(event, now)
        self._pump(now)
        return handled

    def handle_timer(self, now: float) -> None:
        """Time passed: lookups' timeouts, operations' deadlines, housekeeping."""
        self._now = now
        self.driver.handle_timer(now)
        for op in list(self._ops.values()):
            if now >= op.deadline:
                if not op.on_deadline(now):
                    self._finish(op)
            elif op.queue:
                self._run_lookups(op, now)
        if self._next_housekeeping is not None and now >= self._next_housekeeping:
            self._housekeeping(now)
        self._pump(now)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` is due next; None when nothing waits."""
        deadlines = [d for d in (self.driver.next_deadline(), self._next_housekeeping) if d is not None]
        deadlines.extend(op.deadline for op in self._ops.values())
        if any(op.queue and not op.lookups for op in self._ops.values()):
            deadlines.append(self._now + 0.5)  # the driver was full: try again soon
        return min(deadlines, default=None)

    def finished(self) -> list[DhtResult]:
        """The results of the operations finished since the last call."""
        done, self._finished = self._finished, []
        return done

    def __len__(self) -> int:
        """Operations running."""
        return len(self._ops)

    @property
    def own_entries(self) -> int:
        """Own keyword entries kept (served and republished)."""
        return self._own.count

    # ---- internals: operations -----------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_op += 1
        return self._next_op

    def _add(self, op: _O) -> _O:
        self._ops[op.id] = op
        return op

    def _closest_connected(self, key: bytes, count: int) -> list[PublicKey]:
        """Without a routing table: the engine's peers nearest to ``key``."""
        return [info.public_key for info in sort_by_distance(self.engine.peers(), key)[:count]]

    def _continue(self, op: Operation, now: float) -> None:
        self._run_lookups(op, now)
        self._pump(now)
        self._check(op)

    def _run_lookups(self, op: Operation, now: float) -> None:
        while op.queue and len(op.lookups) < PARALLEL_LOOKUPS and op.id in self._ops:
            key = op.queue[0]
            initial = [Remote(p) for p in self._closest(key, self.k)]
            lookup_id = self.driver.start(key, initial, now, find_value=op.find_value, stop_at_target=op.stop_at_target)
            if lookup_id is None:
                return  # the driver is full: handle_timer tries again
            op.queue.pop(0)
            op.lookups[lookup_id] = key
            self._lookup_ops[lookup_id] = op.id

    def _pump(self, now: float) -> None:
        while done := self.driver.finished():
            for lookup in done:
                op_id = self._lookup_ops.pop(lookup.lookup_id, None)
                op = self._ops.get(op_id) if op_id is not None else None
                if op is None or lookup.lookup_id not in op.lookups:
                    continue  # its operation finished or gave up on it
                del op.lookups[lookup.lookup_id]
                op.messages += lookup.result.requests_sent
                op.progressed(now)
                op.on_lookup(lookup, now)
                self._run_lookups(op, now)
                self._check(op)

    def _check(self, op: Operation) -> None:
        if op.id in self._ops and op.done():
            self._finish(op)

    def _finish(self, op: Operation) -> None:
        del self._ops[op.id]
        if op.watch_key is not None:
            ops = self._value_ops.get(op.watch_key)
            if ops is not None:
                ops.pop(op.id, None)
                if not ops:
                    del self._value_ops[op.watch_key]
        self._finished.append(op.result())

    def _watch_providers(self, event: ResponseReceived, now: float) -> None:
        """ "Storing" records for a key we look for, in any answer: ask those peers directly."""
        for entry in event.response.hash2peers:
            for op in list(self._value_ops.get(entry.key, {}).values()):
                if op.id not in self._ops or op.value is not None:
                    continue
                for record in entry.storing[:PROVIDERS_FOLLOWED]:
                    op.fetch(remote_from_record(record, event.peer), now)
                self._check(op)

    def _on_answer(self, event: ResponseReceived | RequestTimedOut, tag: RequestTag, now: float) -> None:
        op = self._ops.get(tag.op)
        if op is None:
            return  # a late answer to a finished operation
        if isinstance(event, RequestTimedOut):
            op.outstanding -= 1
            self.requests.retry(op, event, tag, now)
        else:
            op.on_response(event, tag, now)
            if event.response.sequence_last:
                op.outstanding -= 1
        self._check(op)

    # ---- internals: housekeeping ---------------------------------------------------------------

    def _arm_housekeeping(self, now: float) -> None:
        if self._next_housekeeping is None:
            self._next_housekeeping = now + HOUSEKEEPING

    def _housekeeping(self, now: float) -> None:
        self._next_housekeeping = now + HOUSEKEEPING
        self.values.expire(now)
        self.keywords.expire(now)
        for key in self.values.due_for_republish(now):
            value = self.values.get(key, now)
            self.values.mark_republished(key, now)
            if value is not None:
                self._store_op(key, len(value), now)
        if self._next_keyword_republish is not None and now >= self._next_keyword_republish:
            self._next_keyword_republish = now + self.republish_interval
            entries = list(self._own)
            if entries:
                self._publish_op(entries, now)
