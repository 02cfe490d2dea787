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
  found that have both bits; our own published files and stored entries count too. Answers are checked: entries for keyword hashes that were not asked of that peer,
  repeats, bad owner keys and everything past the per-peer cap are dropped (counted as junk).
  Results are merged per (owner, file ID), ranked by exact match, matched keywords, and number
  of peers that reported them, and cut to ``max_results``.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Protocol

import attrs

from peernet_proto import (
    Announcement,
    Behaviour,
    DecodeError,
    EncodeError,
    EngineEvent,
    ExtensionType,
    Feature,
    InfoStoreFile,
    InvalidKeyError,
    PeerInfo,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    decode_extensions,
    encode_extensions,
    hash_data,
)

from ._distance import check_id
from ._index import IndexedFile
from ._keywords import parse_query
from ._lookup import LookupStatus
from ._network import LookupDone, LookupDriver, Remote, RequestSender, remote_from_record
from ._routing import K
from ._search import (
    MAX_ITEMS,
    KeywordEntry,
    KeywordStore,
    PayloadKind,
    SearchPayload,
    decode_search_payload,
    encode_search_payload,
    entries_for_file,
    fit_entries,
)
from ._store import Embedded, Providers, ValueStore

__all__ = [
    "SEARCH_FEATURES",
    "DhtEngine",
    "DhtResult",
    "DhtService",
    "NetworkHit",
    "PeerResult",
    "PublishResult",
    "SearchResult",
    "StoreResult",
    "ValueResult",
]

log = logging.getLogger(__name__)

SEARCH_FEATURES: Final = Feature.KEYWORD_SEARCH | Feature.EXTENSIONS  # both needed for search items
INFO_STORE_PER_REQUEST: Final = 64  # INFO_STORE entries taken from one request
QUERY_KEYWORDS_SERVED: Final = 16  # keyword hashes of one QUERY that are answered
RESULTS_PER_QUERY: Final = 64  # entries in one RESULTS answer (and accepted from one peer)
QUERY_KEYWORDS: Final = 8  # keyword hashes one search looks up
PROVIDERS_FOLLOWED: Final = 10  # "storing" peers asked directly per value lookup (Go: 10)
PARALLEL_LOOKUPS: Final = 8  # lookups one operation runs at once
HOUSEKEEPING: Final = 60.0  # seconds between expiry / republish checks


class DhtEngine(RequestSender, Protocol):
    """What the service needs of the peer engine (``PeerEngine`` implements it)."""

    @property
    def public_key(self) -> PublicKey: ...

    def peer(self, key: PublicKey) -> PeerInfo | None: ...

    def peers(self) -> list[PeerInfo]: ...


# ---- results ----------------------------------------------------------------------------------


@attrs.frozen
class PeerResult:
    op: int
    node_id: bytes
    remote: Remote | None  # how to reach the peer; None if not found
    messages: int = 0


@attrs.frozen
class ValueResult:
    op: int
    key: bytes
    value: bytes | None
    source: PublicKey | None = None  # who returned it (our own key for a local value)
    providers: tuple[PublicKey, ...] = ()  # "storing" peers that were reported
    messages: int = 0


@attrs.frozen
class StoreResult:
    op: int
    key: bytes
    stored_at: tuple[PublicKey, ...]  # peers that acknowledged the INFO_STORE
    messages: int = 0


@attrs.frozen
class PublishResult:
    op: int
    entries: int  # keyword entries published
    keywords: int  # distinct keyword hashes
    peers: int  # peers sent a PUBLISH
    stored: int  # entry copies the peers acknowledged
    messages: int = 0


@attrs.frozen
class NetworkHit:
    owner: bytes  # compressed public key of the file's owner
    file_id: bytes
    file_hash: bytes
    size: int
    name: str
    keywords: frozenset[str]  # the query words that matched
    exact: bool  # the whole term matched (a whole name or word)
    sources: int  # distinct peers (ourselves included) that reported it

    @property
    def ref(self) -> tuple[bytes, bytes]:
        return (self.owner, self.file_id)


@attrs.frozen
class SearchResult:
    op: int
    term: str
    hits: tuple[NetworkHit, ...]
    asked: int  # peers sent a QUERY
    answered: int  # of those, how many answered
    junk: int  # result entries dropped (not asked for, repeated, bad, over the cap)
    messages: int = 0  # requests sent: lookups and queries


DhtResult = PeerResult | ValueResult | StoreResult | PublishResult | SearchResult


# ---- operations -------------------------------------------------------------------------------


class _Kind(enum.Enum):
    FIND_PEER = "find-peer"
    FIND_VALUE = "find-value"
    STORE = "store"
    PUBLISH = "publish"
    SEARCH = "search"


@attrs.frozen
class _Tag:
    """What a direct request (not a lookup's) was sent for: which operation and what was asked."""

    op: int
    keywords: frozenset[bytes] = frozenset()
    count: int = 0  # entries in a PUBLISH
    remote: Remote | None = None  # set by _send, for a retry
    announcement: Announcement | None = None
    attempt: int = 1


class _Op:
    def __init__(self, op_id: int, kind: _Kind, started: float, deadline: float) -> None:
        self.id, self.kind, self.started, self.deadline = op_id, kind, started, deadline
        self.queue: list[bytes] = []  # keys still to look up
        self.lookups: dict[int, bytes] = {}  # running lookup -> key
        self.outstanding = 0  # direct requests not yet answered or timed out
        self.messages = 0


class _PeerOp(_Op):
    def __init__(self, op_id: int, started: float, deadline: float, node_id: bytes) -> None:
        super().__init__(op_id, _Kind.FIND_PEER, started, deadline)
        self.node_id = node_id
        self.remote: Remote | None = None


class _ValueOp(_Op):
    def __init__(self, op_id: int, started: float, deadline: float, key: bytes) -> None:
        super().__init__(op_id, _Kind.FIND_VALUE, started, deadline)
        self.key = key
        self.providers: dict[PublicKey, Remote] = {}
        self.value: bytes | None = None
        self.source: PublicKey | None = None


class _StoreOp(_Op):
    def __init__(self, op_id: int, started: float, deadline: float, key: bytes, size: int) -> None:
        super().__init__(op_id, _Kind.STORE, started, deadline)
        self.key, self.size = key, size
        self.acked: list[PublicKey] = []


class _PublishOp(_Op):
    def __init__(self, op_id: int, started: float, deadline: float, by_keyword: dict[bytes, list[KeywordEntry]]) -> None:
        super().__init__(op_id, _Kind.PUBLISH, started, deadline)
        self.by_keyword = by_keyword
        self.per_peer: dict[PublicKey, tuple[Remote, list[KeywordEntry]]] = {}
        self.sent_to = 0
        self.stored = 0


class _Hit:
    __slots__ = ("entry", "exact", "sources", "words")

    def __init__(self, entry: KeywordEntry) -> None:
        self.entry = entry
        self.words: set[str] = set()
        self.exact = False
        self.sources: set[PublicKey] = set()


class _SearchOp(_Op):
    def __init__(self, op_id: int, started: float, deadline: float, term: str, words: dict[bytes, str], exact: bytes | None) -> None:
        super().__init__(op_id, _Kind.SEARCH, started, deadline)
        self.term, self.words, self.exact = term, words, exact
        self.hits: dict[tuple[bytes, bytes], _Hit] = {}
        self.seen: set[tuple[PublicKey, bytes, bytes, bytes]] = set()  # (peer, keyword, owner, file ID)
        self.valid_owners: set[bytes] = set()
        self.asked = 0
        self.answered = 0
        self.junk = 0


# ---- the service ------------------------------------------------------------------------------


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
        self.max_own_entries = max_own_entries
        self._own: dict[bytes, dict[tuple[bytes, bytes], KeywordEntry]] = {}  # keyword -> ref -> entry
        self._own_count = 0
        self._ops: dict[int, _Op] = {}
        self._lookup_ops: dict[int, int] = {}  # lookup id -> operation id
        self._value_ops: dict[bytes, set[int]] = {}  # key -> running FIND_VALUE operations
        self._finished: list[DhtResult] = []
        self._requests: dict[tuple[PublicKey, int], _Tag] = {}  # direct requests in flight
        self.owner: Behaviour | None = None  # the behaviour the engine delivers answers to
        self._next_op = 0
        self._next_housekeeping: float | None = None
        self._next_keyword_republish: float | None = None
        self._now = 0.0  # the latest time seen
        self.counters: dict[str, int] = {}

    # ---- RequestHandler: answering -------------------------------------------------------------

    def _source_prefix(self, peer: PublicKey) -> bytes | None:
        """The address prefix (IPv4 /24, IPv6 /48) ``peer`` is connected from: stores share their
        room fairly between prefixes, so one network cannot fill them."""
        info = self.engine.peer(peer)
        if info is None or not info.connections:
            return None
        host = info.connections[0][0][0]
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return None
        packed = address.packed
        return packed[:3] if address.version == 4 else packed[:6]

    def find_value(self, key: bytes, requester: PublicKey, now: float) -> bytes | Sequence[PublicKey] | None:
        self._arm_housekeeping(now)
        answer = self.values.answer(key, now)
        if isinstance(answer, Embedded):
            self._count("served_values")
            return answer.data
        if isinstance(answer, Providers) and answer.peers:
            self._count("served_providers")
            return [p for p in answer.peers if p != requester] or None
        return None

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        self._arm_housekeeping(now)
        for record in records[:INFO_STORE_PER_REQUEST]:
            if record.type not in (0, 1):
                self._count("info_store_refused")
            elif self.values.add_provider(
                record.key, requester, record.size, record.type, now, source=self._source_prefix(requester)
            ):
                self._count("providers_recorded")
            else:
                self._count("info_store_refused")

    def extension(self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float) -> Mapping[int, bytes]:
        raw = items.get(ExtensionType.KEYWORD_SEARCH)
        if raw is None:
            return {}
        if not features & Feature.KEYWORD_SEARCH:
            self._count("search_without_feature")
            return {}
        self._arm_housekeeping(now)
        try:
            payload = decode_search_payload(raw)
        except DecodeError:
            self._count("bad_search_payloads")
            return {}
        if payload.kind is PayloadKind.PUBLISH:
            owner = requester.to_bytes()
            own = [e for e in payload.entries if e.owner == owner]
            if len(own) < len(payload.entries):
                self._count("foreign_entries_refused", len(payload.entries) - len(own))
            accepted = self.keywords.publish(own, now, source=self._source_prefix(requester))
            self._count("entries_stored", accepted)
            answer = SearchPayload(PayloadKind.STORED, stored=accepted)
        elif payload.kind is PayloadKind.QUERY:
            limit = min(payload.max_results, self.results_per_peer)
            found = self._local_entries(payload.keywords[:QUERY_KEYWORDS_SERVED], now, limit)
            self._count("queries_answered")
            answer = SearchPayload(PayloadKind.RESULTS, entries=tuple(fit_entries(found)))
        else:
            self._count("unexpected_search_payloads")
            return {}
        return {ExtensionType.KEYWORD_SEARCH: encode_search_payload(answer)}

    def _local_entries(self, keywords: Iterable[bytes], now: float, limit: int) -> list[KeywordEntry]:
        """Own entries, then stored ones, for the keywords; at most ``limit``, no repeats."""
        found: list[KeywordEntry] = []
        seen: set[tuple[bytes, bytes, bytes]] = set()
        for keyword in keywords:
            candidates = [*self._own.get(keyword, {}).values(), *self.keywords.query([keyword], now, limit)]
            for entry in candidates:
                if len(found) >= limit:
                    return found
                if (entry.keyword, *entry.ref) not in seen:
                    seen.add((entry.keyword, *entry.ref))
                    found.append(entry)
        return found

    # ---- client operations ---------------------------------------------------------------------

    def find_peer(self, node_id: bytes, now: float) -> int:
        """Locate the peer with ``node_id``; finishes with a :class:`PeerResult`."""
        op = _PeerOp(self._new_id(), now, now + self.operation_timeout, check_id(node_id))
        self._ops[op.id] = op
        known = [key for key in self._closest(check_id(node_id), 1) if key.node_id == node_id]
        if known and self.engine.peer(known[0]) is not None:
            op.remote = Remote(known[0])
        elif node_id != self.engine.public_key.node_id:
            op.queue.append(node_id)
        self._continue(op, now)
        return op.id

    def get(self, key: bytes, now: float) -> int:
        """Find the value of ``key``: ours, or from the network; finishes with a :class:`ValueResult`."""
        op = _ValueOp(self._new_id(), now, now + self.operation_timeout, check_id(key))
        self._ops[op.id] = op
        local = self.values.get(key, now)
        if local is not None:
            op.value, op.source = local, self.engine.public_key
        else:
            self._value_ops.setdefault(key, set()).add(op.id)
            for provider in self.values.providers(key, now)[:PROVIDERS_FOLLOWED]:
                self._fetch(op, Remote(provider), now)
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
        op = _StoreOp(self._new_id(), now, now + self.operation_timeout, key, size)
        self._ops[op.id] = op
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
        fresh = sum(1 for e in entries if e.ref not in self._own.get(e.keyword, {}))
        if self._own_count + fresh > self.max_own_entries:
            raise ValueError(f"more than {self.max_own_entries} own keyword entries")
        for entry in entries:
            bucket = self._own.setdefault(entry.keyword, {})
            self._own_count += entry.ref not in bucket
            bucket[entry.ref] = entry
        self._arm_housekeeping(now)
        if self._next_keyword_republish is None:
            self._next_keyword_republish = now + self.republish_interval
        return self._publish_op(entries, now)

    def withdraw(self, owner: bytes, file_id: bytes) -> int:
        """Stop serving and republishing an own file (copies elsewhere expire with their TTL)."""
        removed = 0
        for keyword in list(self._own):
            bucket = self._own[keyword]
            if bucket.pop((owner, file_id), None) is not None:
                removed += 1
                if not bucket:
                    del self._own[keyword]
        self._own_count -= removed
        return removed

    def _publish_op(self, entries: Iterable[KeywordEntry], now: float) -> int:
        by_keyword: dict[bytes, list[KeywordEntry]] = {}
        for entry in entries:
            by_keyword.setdefault(entry.keyword, []).append(entry)
        op = _PublishOp(self._new_id(), now, now + self.operation_timeout, by_keyword)
        self._ops[op.id] = op
        op.queue.extend(by_keyword)
        self._continue(op, now)
        return op.id

    def search(self, term: str | bytes, now: float) -> int:
        """Search the network for files matching ``term`` (the local index's rules: OR over the
        keywords, quotes for an exact search); finishes with a :class:`SearchResult`."""
        query = parse_query(term)
        words = dict(list(query.hashes().items())[:QUERY_KEYWORDS])
        text = term.decode("utf-8", "replace") if isinstance(term, bytes) else term
        op = _SearchOp(self._new_id(), now, now + self.operation_timeout, text, words, query.exact[0] if query.exact else None)
        self._ops[op.id] = op
        me = self.engine.public_key
        for entry in self._local_entries(words, now, self.max_results):
            self._merge(op, entry, me)
        op.queue.extend(words)
        self._continue(op, now)
        return op.id

    # ---- events and time -----------------------------------------------------------------------

    def handle_event(self, event: EngineEvent, now: float) -> bool:
        """Feed every engine event; True when it belonged to the service or its lookups."""
        self._now = now
        if isinstance(event, ResponseReceived) and self._value_ops:
            self._watch_providers(event, now)
        tag = self._request_of(event)
        if tag is not None and isinstance(event, ResponseReceived | RequestTimedOut):
            self._on_answer(event, tag, now)
            handled = True
        else:
            handled = self.driver.handle_event(event, now)
        self._pump(now)
        return handled

    def _request_of(self, event: EngineEvent) -> _Tag | None:
        """What a direct request was sent for, when ``event`` answers one (matched by peer and sequence)."""
        if not isinstance(event, ResponseReceived | RequestTimedOut):
            return None
        key = (event.peer, event.sequence)
        if isinstance(event, RequestTimedOut) or event.response.sequence_last:
            return self._requests.pop(key, None)
        return self._requests.get(key)

    def handle_timer(self, now: float) -> None:
        self._now = now
        self.driver.handle_timer(now)
        for op in list(self._ops.values()):
            if now >= op.deadline and isinstance(op, _PublishOp) and op.per_peer:
                # Out of time for lookups: send what is known, then wait for those answers only.
                op.queue.clear()
                op.lookups.clear()
                self._flush_publish(op, now)
                op.deadline = now + self.request_timeout * self.attempts + 1.0
            elif now >= op.deadline:
                self._finish(op)
            elif op.queue:
                self._run_lookups(op, now)
        if self._next_housekeeping is not None and now >= self._next_housekeeping:
            self._housekeeping(now)
        self._pump(now)

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self.driver.next_deadline(), self._next_housekeeping) if d is not None]
        deadlines.extend(op.deadline for op in self._ops.values())
        if any(op.queue and not op.lookups for op in self._ops.values()):
            deadlines.append(self._now + 0.5)  # the driver was full: try again soon
        return min(deadlines, default=None)

    def finished(self) -> list[DhtResult]:
        done, self._finished = self._finished, []
        return done

    def __len__(self) -> int:
        """Operations running."""
        return len(self._ops)

    @property
    def own_entries(self) -> int:
        return self._own_count

    # ---- internals: operations -----------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_op += 1
        return self._next_op

    def _count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def _closest_connected(self, key: bytes, count: int) -> list[PublicKey]:
        """Without a routing table: the engine's peers nearest to ``key``."""
        target = int.from_bytes(key, "big")
        keys = (info.public_key for info in self.engine.peers())
        return sorted(keys, key=lambda p: int.from_bytes(p.node_id, "big") ^ target)[:count]

    def _searchable(self, key: PublicKey) -> bool:
        info = self.engine.peer(key)
        return info is not None and info.features & SEARCH_FEATURES == SEARCH_FEATURES

    def _continue(self, op: _Op, now: float) -> None:
        self._run_lookups(op, now)
        self._pump(now)
        self._check(op)

    def _run_lookups(self, op: _Op, now: float) -> None:
        while op.queue and len(op.lookups) < PARALLEL_LOOKUPS and op.id in self._ops:
            key = op.queue[0]
            initial = [Remote(p) for p in self._closest(key, self.k)]
            lookup_id = self.driver.start(
                key,
                initial,
                now,
                find_value=op.kind is _Kind.FIND_VALUE,
                stop_at_target=op.kind is _Kind.FIND_PEER,
            )
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
                if isinstance(op, _PublishOp):  # many keywords take long: time out on no progress
                    op.deadline = max(op.deadline, now + self.operation_timeout)
                self._on_lookup(op, lookup, now)
                self._run_lookups(op, now)
                self._check(op)

    def _check(self, op: _Op) -> None:
        if op.id not in self._ops:
            return
        value_found = isinstance(op, _ValueOp) and op.value is not None
        if value_found or (not op.queue and not op.lookups and op.outstanding <= 0):
            if isinstance(op, _PublishOp) and op.per_peer:
                return  # the PUBLISH requests go out first (see _on_lookup)
            self._finish(op)

    def _finish(self, op: _Op) -> None:
        del self._ops[op.id]
        result: DhtResult
        if isinstance(op, _PeerOp):
            result = PeerResult(op.id, op.node_id, op.remote, op.messages)
        elif isinstance(op, _ValueOp):
            ops = self._value_ops.get(op.key)
            if ops is not None:
                ops.discard(op.id)
                if not ops:
                    del self._value_ops[op.key]
            result = ValueResult(op.id, op.key, op.value, op.source, tuple(op.providers), op.messages)
        elif isinstance(op, _StoreOp):
            result = StoreResult(op.id, op.key, tuple(op.acked), op.messages)
        elif isinstance(op, _PublishOp):
            entries = sum(len(v) for v in op.by_keyword.values())
            result = PublishResult(op.id, entries, len(op.by_keyword), op.sent_to, op.stored, op.messages)
        else:
            assert isinstance(op, _SearchOp)
            result = SearchResult(op.id, op.term, self._ranked(op), op.asked, op.answered, op.junk, op.messages)
        self._finished.append(result)

    def _on_lookup(self, op: _Op, lookup: LookupDone, now: float) -> None:
        result = lookup.result
        if isinstance(op, _PeerOp):
            match = [r for r in result.closest if r.node_id == op.node_id]
            if op.remote is None and match:
                op.remote = match[0]
        elif isinstance(op, _ValueOp):
            if result.status is LookupStatus.FOUND_VALUE and result.value is not None and op.value is None:
                op.value = result.value
                op.source = result.value_from.public_key if result.value_from is not None else None
        elif isinstance(op, _StoreOp):
            announcement = Announcement(features=self.engine.features, info_store=[InfoStoreFile(op.key, op.size, 0)])
            for remote in result.closest[: self.k]:
                self._send(op, remote, announcement, _Tag(op.id), now)
            self.values.mark_republished(op.key, now)
        elif isinstance(op, _PublishOp):
            entries = op.by_keyword.get(lookup.key, [])
            for remote in [r for r in result.closest if self._searchable(r.public_key)][: self.k]:
                op.per_peer.setdefault(remote.public_key, (remote, []))[1].extend(entries)
            if not op.queue and not op.lookups:
                self._flush_publish(op, now)
        elif isinstance(op, _SearchOp):
            payload = SearchPayload(PayloadKind.QUERY, keywords=(lookup.key,), max_results=self.results_per_peer)
            announcement = self._search_announcement(payload)
            for remote in [r for r in result.closest if self._searchable(r.public_key)][: self.query_fanout]:
                if self._send(op, remote, announcement, _Tag(op.id, frozenset([lookup.key])), now):
                    op.asked += 1

    def _flush_publish(self, op: _PublishOp, now: float) -> None:
        """One PUBLISH per peer with all the entries it is among the closest for (in chunks)."""
        per_peer, op.per_peer = op.per_peer, {}
        for remote, entries in per_peer.values():
            sent = False
            while entries:
                chunk = fit_entries(entries)
                if not chunk:
                    break  # cannot happen: one entry is far below the payload bound
                entries = entries[len(chunk) :]
                announcement = self._search_announcement(SearchPayload(PayloadKind.PUBLISH, entries=tuple(chunk)))
                sent = self._send(op, remote, announcement, _Tag(op.id, count=len(chunk)), now) or sent
            op.sent_to += sent

    def _search_announcement(self, payload: SearchPayload) -> Announcement:
        items: dict[int, bytes] = {ExtensionType.KEYWORD_SEARCH: encode_search_payload(payload)}
        return Announcement(features=self.engine.features, extension=encode_extensions(items))

    def _send(self, op: _Op, remote: Remote, announcement: Announcement, tag: _Tag, now: float) -> bool:
        try:
            sequence = self.engine.request(
                remote.public_key,
                announcement,
                now,
                endpoints=remote.endpoints,
                relay=remote.relay,
                owner=self.owner,
                timeout=self.request_timeout,
            )
        except EncodeError:  # cannot happen with the payload bounds; never let it stop the node
            log.exception("request to %s not encodable", remote.public_key)
            sequence = None
        if sequence is None:
            return False
        self._requests[(remote.public_key, sequence)] = attrs.evolve(tag, remote=remote, announcement=announcement)
        op.outstanding += 1
        op.messages += 1
        return True

    def _fetch(self, op: _ValueOp, remote: Remote, now: float) -> None:
        """Ask a "storing" peer for the value directly."""
        if remote.public_key in op.providers or remote.public_key == self.engine.public_key:
            return
        if len(op.providers) >= PROVIDERS_FOLLOWED:
            return
        op.providers[remote.public_key] = remote
        announcement = Announcement(features=self.engine.features, find_value=[op.key])
        self._send(op, remote, announcement, _Tag(op.id), now)

    def _watch_providers(self, event: ResponseReceived, now: float) -> None:
        """"Storing" records for a key we look for, in any answer: ask those peers directly."""
        for entry in event.response.hash2peers:
            for op_id in list(self._value_ops.get(entry.key, ())):
                op = self._ops.get(op_id)
                if not isinstance(op, _ValueOp) or op.value is not None:
                    continue
                for record in entry.storing[:PROVIDERS_FOLLOWED]:
                    self._fetch(op, remote_from_record(record, event.peer), now)
                self._check(op)

    def _on_answer(self, event: ResponseReceived | RequestTimedOut, tag: _Tag, now: float) -> None:
        op = self._ops.get(tag.op)
        if op is None:
            return  # a late answer to a finished operation
        if isinstance(event, RequestTimedOut):
            op.outstanding -= 1
            if not event.answered and tag.attempt < self.attempts and tag.remote and tag.announcement:
                self._count("retries")
                self._send(op, tag.remote, tag.announcement, attrs.evolve(tag, attempt=tag.attempt + 1), now)
            self._check(op)
            return
        response = event.response
        if isinstance(op, _ValueOp):
            for file in response.embedded_files:
                if file.key == op.key and op.value is None and hash_data(file.data) == op.key:
                    op.value, op.source = file.data, event.peer
        elif isinstance(op, _StoreOp):
            if response.sequence_last:
                op.acked.append(event.peer)
        elif isinstance(op, _PublishOp | _SearchOp) and response.extension:
            payload = self._search_payload(response.extension)
            if isinstance(op, _PublishOp):
                if payload is not None and payload.kind is PayloadKind.STORED:
                    op.stored += min(payload.stored, tag.count)
            else:
                op.answered += 1
                self._take_results(op, event.peer, tag, payload)
        if response.sequence_last:
            op.outstanding -= 1
        self._check(op)

    def _search_payload(self, extension: bytes) -> SearchPayload | None:
        try:
            raw = decode_extensions(extension).get(ExtensionType.KEYWORD_SEARCH)
            return None if raw is None else decode_search_payload(raw)
        except DecodeError:
            self._count("bad_search_payloads")
            return None

    def _take_results(self, op: _SearchOp, peer: PublicKey, tag: _Tag, payload: SearchPayload | None) -> None:
        """Check one peer's RESULTS against what it was asked; keep the good ones."""
        if payload is None or payload.kind is not PayloadKind.RESULTS:
            return
        accepted = junk = 0
        for entry in payload.entries:
            seen = (peer, entry.keyword, *entry.ref)
            if entry.keyword not in tag.keywords or accepted >= self.results_per_peer or seen in op.seen:
                junk += 1
                continue
            if entry.owner not in op.valid_owners:
                try:
                    PublicKey(entry.owner)
                except InvalidKeyError:
                    junk += 1
                    continue
                op.valid_owners.add(entry.owner)
            op.seen.add(seen)
            accepted += 1
            self._merge(op, entry, peer)
        op.junk += junk
        self._count("junk_results", junk)

    def _merge(self, op: _SearchOp, entry: KeywordEntry, source: PublicKey) -> None:
        hit = op.hits.get(entry.ref)
        if hit is None:
            if len(op.hits) >= 4 * self.max_results:
                return  # bounded; hits reported by many peers are already in
            hit = op.hits[entry.ref] = _Hit(entry)
        elif source.to_bytes() == entry.owner or source == self.engine.public_key:
            hit.entry = entry  # what the owner itself says wins
        word = op.words.get(entry.keyword)
        if word is not None:
            hit.words.add(word)
        hit.exact = hit.exact or entry.keyword == op.exact
        hit.sources.add(source)

    def _ranked(self, op: _SearchOp) -> tuple[NetworkHit, ...]:
        hits = sorted(
            op.hits.values(),
            key=lambda h: (not h.exact, -len(h.words), -len(h.sources), h.entry.name, h.entry.ref),
        )
        return tuple(
            NetworkHit(
                h.entry.owner,
                h.entry.file_id,
                h.entry.file_hash,
                h.entry.size,
                h.entry.name,
                frozenset(h.words),
                h.exact,
                len(h.sources),
            )
            for h in hits[: self.max_results]
        )

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
            entries = [entry for bucket in self._own.values() for entry in bucket.values()]
            if entries:
                self._publish_op(entries, now)
