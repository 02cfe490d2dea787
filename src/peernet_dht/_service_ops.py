"""The DHT service's client operations, one class each: find peer, find value, store, publish, search.

Each operation holds its own state and reacts to its finished lookups (:meth:`Operation.on_lookup`)
and to the answers of its direct requests (:meth:`Operation.on_response`); the service keeps them in
a table by operation ID and drives them (see :mod:`peernet_dht._service`). Sans-IO.
"""

from __future__ import annotations

from peernet_proto import Announcement, InfoStoreFile, InvalidKeyError, PublicKey, ResponseReceived, hash_data

from ._lookup import LookupStatus
from ._network import LookupDone, Remote
from ._search import KeywordEntry, PayloadKind, SearchPayload, fit_entries
from ._service_requests import RequestTag, ServiceHost
from ._service_types import (
    PROVIDERS_FOLLOWED,
    DhtResult,
    NetworkHit,
    PeerResult,
    PublishResult,
    SearchResult,
    StoreResult,
    ValueResult,
)

__all__ = ["FindPeerOp", "FindValueOp", "Operation", "PublishOp", "SearchOp", "StoreOp"]


class Operation:
    """One client operation: the keys it still looks up, its running lookups, its direct requests."""

    find_value = False  # its lookups ask FIND_VALUE
    stop_at_target = False  # its lookups stop at the node with the key as ID

    def __init__(self, host: ServiceHost, op_id: int, now: float) -> None:
        self.host, self.id, self.started = host, op_id, now
        self.deadline = now + host.operation_timeout
        self.queue: list[bytes] = []  # keys still to look up
        self.lookups: dict[int, bytes] = {}  # running lookup -> key
        self.outstanding = 0  # direct requests not yet answered or timed out
        self.messages = 0
        self.watch_key: bytes | None = None  # "storing" records for this key in any answer are wanted

    def send(self, remote: Remote, announcement: Announcement, tag: RequestTag, now: float) -> bool:
        """A direct request for this operation."""
        return self.host.requests.send(self, remote, announcement, tag, now)

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        """One of its lookups finished."""

    def on_response(self, event: ResponseReceived, tag: RequestTag, now: float) -> None:
        """A Response to one of its direct requests."""

    def progressed(self, now: float) -> None:
        """A lookup finished (called before :meth:`on_lookup`)."""

    def on_deadline(self, now: float) -> bool:
        """Its deadline passed; True when it goes on (with a new deadline) instead of finishing."""
        return False

    def done(self) -> bool:
        """Nothing left to look up or to wait for."""
        return not self.queue and not self.lookups and self.outstanding <= 0

    def result(self) -> DhtResult:
        """What it reports when finished."""
        raise NotImplementedError


class FindPeerOp(Operation):
    """Locate the peer with a node ID: a lookup that stops at the target."""

    stop_at_target = True

    def __init__(self, host: ServiceHost, op_id: int, now: float, node_id: bytes) -> None:
        super().__init__(host, op_id, now)
        self.node_id = node_id
        self.remote: Remote | None = None

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        match = [r for r in lookup.result.closest if r.node_id == self.node_id]
        if self.remote is None and match:
            self.remote = match[0]

    def result(self) -> DhtResult:
        return PeerResult(self.id, self.node_id, self.remote, self.messages)


class FindValueOp(Operation):
    """Find a value by its key: FIND_VALUE lookups, and "storing" peers asked directly."""

    find_value = True

    def __init__(self, host: ServiceHost, op_id: int, now: float, key: bytes) -> None:
        super().__init__(host, op_id, now)
        self.key = key
        self.providers: dict[PublicKey, Remote] = {}
        self.value: bytes | None = None
        self.source: PublicKey | None = None

    def fetch(self, remote: Remote, now: float) -> None:
        """Ask a "storing" peer for the value directly (at most :data:`PROVIDERS_FOLLOWED` peers)."""
        if remote.public_key in self.providers or remote.public_key == self.host.engine.public_key:
            return
        if len(self.providers) >= PROVIDERS_FOLLOWED:
            return
        self.providers[remote.public_key] = remote
        announcement = Announcement(features=self.host.engine.features, find_value=[self.key])
        self.send(remote, announcement, RequestTag(self.id), now)

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        result = lookup.result
        if result.status is LookupStatus.FOUND_VALUE and result.value is not None and self.value is None:
            self.value = result.value
            self.source = result.value_from.public_key if result.value_from is not None else None

    def on_response(self, event: ResponseReceived, tag: RequestTag, now: float) -> None:
        for file in event.response.embedded_files:
            if file.key == self.key and self.value is None and hash_data(file.data) == self.key:
                self.value, self.source = file.data, event.peer

    def done(self) -> bool:
        return self.value is not None or super().done()

    def result(self) -> DhtResult:
        return ValueResult(self.id, self.key, self.value, self.source, tuple(self.providers), self.messages)


class StoreOp(Operation):
    """Tell the k closest peers of a key that we store its value (INFO_STORE)."""

    def __init__(self, host: ServiceHost, op_id: int, now: float, key: bytes, size: int) -> None:
        super().__init__(host, op_id, now)
        self.key, self.size = key, size
        self.acked: list[PublicKey] = []

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        host = self.host
        announcement = Announcement(features=host.engine.features, info_store=[InfoStoreFile(self.key, self.size, 0)])
        for remote in lookup.result.closest[: host.k]:
            self.send(remote, announcement, RequestTag(self.id), now)
        host.values.mark_republished(self.key, now)

    def on_response(self, event: ResponseReceived, tag: RequestTag, now: float) -> None:
        if event.response.sequence_last:
            self.acked.append(event.peer)

    def result(self) -> DhtResult:
        return StoreResult(self.id, self.key, tuple(self.acked), self.messages)


class PublishOp(Operation):
    """Publish keyword entries: a lookup per keyword hash, then one PUBLISH per closest search peer."""

    def __init__(self, host: ServiceHost, op_id: int, now: float, by_keyword: dict[bytes, list[KeywordEntry]]) -> None:
        super().__init__(host, op_id, now)
        self.by_keyword = by_keyword
        self.per_peer: dict[PublicKey, tuple[Remote, list[KeywordEntry]]] = {}
        self.sent_to = 0
        self.stored = 0

    def progressed(self, now: float) -> None:
        self.deadline = max(self.deadline, now + self.host.operation_timeout)  # many keywords take long

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        entries = self.by_keyword.get(lookup.key, [])
        searchable = self.host.search_items.searchable
        for remote in [r for r in lookup.result.closest if searchable(r.public_key)][: self.host.k]:
            self.per_peer.setdefault(remote.public_key, (remote, []))[1].extend(entries)
        if not self.queue and not self.lookups:
            self.flush(now)

    def flush(self, now: float) -> None:
        """One PUBLISH per peer with all the entries it is among the closest for (in chunks)."""
        per_peer, self.per_peer = self.per_peer, {}
        for remote, entries in per_peer.values():
            sent = False
            while entries:
                chunk = fit_entries(entries)
                if not chunk:
                    break  # cannot happen: one entry is far below the payload bound
                entries = entries[len(chunk) :]
                payload = SearchPayload(PayloadKind.PUBLISH, entries=tuple(chunk))
                announcement = self.host.search_items.announcement(payload)
                sent = self.send(remote, announcement, RequestTag(self.id, count=len(chunk)), now) or sent
            self.sent_to += sent

    def on_response(self, event: ResponseReceived, tag: RequestTag, now: float) -> None:
        if event.response.extension:
            payload = self.host.search_items.payload(event.response.extension)
            if payload is not None and payload.kind is PayloadKind.STORED:
                self.stored += min(payload.stored, tag.count)

    def on_deadline(self, now: float) -> bool:
        if not self.per_peer:
            return False
        # Out of time for lookups: send what is known, then wait for those answers only.
        self.queue.clear()
        self.lookups.clear()
        self.flush(now)
        self.deadline = now + self.host.request_timeout * self.host.attempts + 1.0
        return True

    def done(self) -> bool:
        return super().done() and not self.per_peer  # the PUBLISH requests go out first (see on_lookup)

    def result(self) -> DhtResult:
        entries = sum(len(v) for v in self.by_keyword.values())
        return PublishResult(self.id, entries, len(self.by_keyword), self.sent_to, self.stored, self.messages)


class _Hit:
    __slots__ = ("entry", "exact", "sources", "words")

    def __init__(self, entry: KeywordEntry) -> None:
        self.entry = entry
        self.words: set[str] = set()
        self.exact = False
        self.sources: set[PublicKey] = set()


class SearchOp(Operation):
    """Search by keyword: a lookup per keyword hash, a QUERY to the closest search peers, checked answers."""

    def __init__(
        self, host: ServiceHost, op_id: int, now: float, term: str, words: dict[bytes, str], exact: bytes | None
    ) -> None:
        super().__init__(host, op_id, now)
        self.term, self.words, self.exact = term, words, exact
        self.hits: dict[tuple[bytes, bytes], _Hit] = {}
        self.seen: set[tuple[PublicKey, bytes, bytes, bytes]] = set()  # (peer, keyword, owner, file ID)
        self.valid_owners: set[bytes] = set()
        self.asked = 0
        self.answered = 0
        self.junk = 0

    def on_lookup(self, lookup: LookupDone, now: float) -> None:
        host = self.host
        payload = SearchPayload(PayloadKind.QUERY, keywords=(lookup.key,), max_results=host.results_per_peer)
        announcement = host.search_items.announcement(payload)
        searchable = host.search_items.searchable
        for remote in [r for r in lookup.result.closest if searchable(r.public_key)][: host.query_fanout]:
            if self.send(remote, announcement, RequestTag(self.id, frozenset([lookup.key])), now):
                self.asked += 1

    def on_response(self, event: ResponseReceived, tag: RequestTag, now: float) -> None:
        if event.response.extension:
            payload = self.host.search_items.payload(event.response.extension)
            self.answered += 1
            self._take_results(event.peer, tag, payload)

    def _take_results(self, peer: PublicKey, tag: RequestTag, payload: SearchPayload | None) -> None:
        """Check one peer's RESULTS against what it was asked; keep the good ones."""
        if payload is None or payload.kind is not PayloadKind.RESULTS:
            return
        accepted = junk = 0
        for entry in payload.entries:
            seen = (peer, entry.keyword, *entry.ref)
            if entry.keyword not in tag.keywords or accepted >= self.host.results_per_peer or seen in self.seen:
                junk += 1
                continue
            if entry.owner not in self.valid_owners:
                try:
                    PublicKey(entry.owner)
                except InvalidKeyError:
                    junk += 1
                    continue
                self.valid_owners.add(entry.owner)
            self.seen.add(seen)
            accepted += 1
            self.merge(entry, peer)
        self.junk += junk
        self.host.tally.junk_results += junk

    def merge(self, entry: KeywordEntry, source: PublicKey) -> None:
        """Count ``entry`` as reported by ``source`` (bounded: 4 × ``max_results`` files at most)."""
        hit = self.hits.get(entry.ref)
        if hit is None:
            if len(self.hits) >= 4 * self.host.max_results:
                return  # bounded; hits reported by many peers are already in
            hit = self.hits[entry.ref] = _Hit(entry)
        elif source.to_bytes() == entry.owner or source == self.host.engine.public_key:
            hit.entry = entry  # what the owner itself says wins
        word = self.words.get(entry.keyword)
        if word is not None:
            hit.words.add(word)
        hit.exact = hit.exact or entry.keyword == self.exact
        hit.sources.add(source)

    def result(self) -> DhtResult:
        return SearchResult(self.id, self.term, self._ranked(), self.asked, self.answered, self.junk, self.messages)

    def _ranked(self) -> tuple[NetworkHit, ...]:
        hits = sorted(
            self.hits.values(),
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
            for h in hits[: self.host.max_results]
        )
