"""The answering side of the DHT service: FIND_VALUE, INFO_STORE and keyword-search items; own entries.

What is served and kept is described in :mod:`peernet_dht._service`. Sans-IO.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from peernet_proto import DecodeError, ExtensionType, Feature, InfoStoreFile, PublicKey

from ._search import KeywordEntry, PayloadKind, SearchPayload, decode_search_payload, encode_search_payload, fit_entries
from ._service_requests import ServiceHost
from ._service_types import INFO_STORE_PER_REQUEST, QUERY_KEYWORDS_SERVED
from ._store import Embedded, Providers

__all__ = ["OwnEntries", "ServiceAnswers"]


class OwnEntries:
    """Keyword entries of this node's own files, by keyword hash and (owner, file ID); at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_keyword: dict[bytes, dict[tuple[bytes, bytes], KeywordEntry]] = {}  # keyword -> ref -> entry
        self.count = 0

    def add(self, entries: Sequence[KeywordEntry]) -> None:
        """Keep ``entries``; raises ValueError (keeping none) when more than ``limit`` would be kept."""
        fresh = sum(1 for e in entries if e.ref not in self._by_keyword.get(e.keyword, {}))
        if self.count + fresh > self.limit:
            raise ValueError(f"more than {self.limit} own keyword entries")
        for entry in entries:
            bucket = self._by_keyword.setdefault(entry.keyword, {})
            self.count += entry.ref not in bucket
            bucket[entry.ref] = entry

    def withdraw(self, owner: bytes, file_id: bytes) -> int:
        """Forget the entries of one file; how many there were."""
        removed = 0
        for keyword in list(self._by_keyword):
            bucket = self._by_keyword[keyword]
            if bucket.pop((owner, file_id), None) is not None:
                removed += 1
                if not bucket:
                    del self._by_keyword[keyword]
        self.count -= removed
        return removed

    def for_keyword(self, keyword: bytes) -> Iterable[KeywordEntry]:
        """The entries of one keyword hash."""
        return self._by_keyword.get(keyword, {}).values()

    def __iter__(self) -> Iterator[KeywordEntry]:
        return (entry for bucket in self._by_keyword.values() for entry in bucket.values())


class ServiceAnswers:
    """Answers to other peers' requests, from the value and keyword stores and our own entries."""

    def __init__(self, host: ServiceHost, own: OwnEntries, arm: Callable[[float], None]) -> None:
        self._host, self.own, self._arm = host, own, arm

    def _source_prefix(self, peer: PublicKey) -> bytes | None:
        """The address prefix (IPv4 /24, IPv6 /48) ``peer`` is connected from: stores share their
        room fairly between prefixes, so one network cannot fill them."""
        info = self._host.engine.peer(peer)
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
        """A value of ours, else the "storing" peers of ``key`` but the requester, else None."""
        self._arm(now)
        answer = self._host.values.answer(key, now)
        if isinstance(answer, Embedded):
            self._host.tally.served_values += 1
            return answer.data
        if isinstance(answer, Providers) and answer.peers:
            self._host.tally.served_providers += 1
            return [p for p in answer.peers if p != requester] or None
        return None

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        """Record ``requester`` as provider of the keys (the first :data:`INFO_STORE_PER_REQUEST`)."""
        self._arm(now)
        tally, values = self._host.tally, self._host.values
        for record in records[:INFO_STORE_PER_REQUEST]:
            if record.type not in (0, 1):
                tally.info_store_refused += 1
            elif values.add_provider(
                record.key, requester, record.size, record.type, now, source=self._source_prefix(requester)
            ):
                tally.providers_recorded += 1
            else:
                tally.info_store_refused += 1

    def extension(
        self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float
    ) -> Mapping[int, bytes]:
        """The keyword-search item answered: PUBLISH with STORED, QUERY with RESULTS; else nothing."""
        raw = items.get(ExtensionType.KEYWORD_SEARCH)
        if raw is None:
            return {}
        tally = self._host.tally
        if not features & Feature.KEYWORD_SEARCH:
            tally.search_without_feature += 1
            return {}
        self._arm(now)
        try:
            payload = decode_search_payload(raw)
        except DecodeError:
            tally.bad_search_payloads += 1
            return {}
        if payload.kind is PayloadKind.PUBLISH:
            answer = self._stored(requester, payload, now)
        elif payload.kind is PayloadKind.QUERY:
            limit = min(payload.max_results, self._host.results_per_peer)
            found = self.local_entries(payload.keywords[:QUERY_KEYWORDS_SERVED], now, limit)
            tally.queries_answered += 1
            answer = SearchPayload(PayloadKind.RESULTS, entries=tuple(fit_entries(found)))
        else:
            tally.unexpected_search_payloads += 1
            return {}
        return {ExtensionType.KEYWORD_SEARCH: encode_search_payload(answer)}

    def _stored(self, requester: PublicKey, payload: SearchPayload, now: float) -> SearchPayload:
        """Keep the publisher's own entries of a PUBLISH; the STORED answer."""
        owner = requester.to_bytes()
        own = [e for e in payload.entries if e.owner == owner]
        if len(own) < len(payload.entries):
            self._host.tally.foreign_entries_refused += len(payload.entries) - len(own)
        accepted = self._host.keywords.publish(own, now, source=self._source_prefix(requester))
        self._host.tally.entries_stored += accepted
        return SearchPayload(PayloadKind.STORED, stored=accepted)

    def local_entries(self, keywords: Iterable[bytes], now: float, limit: int) -> list[KeywordEntry]:
        """Own entries, then stored ones, for the keywords; at most ``limit``, no repeats."""
        found: list[KeywordEntry] = []
        seen: set[tuple[bytes, bytes, bytes]] = set()
        for keyword in keywords:
            candidates = [*self.own.for_keyword(keyword), *self._host.keywords.query([keyword], now, limit)]
            for entry in candidates:
                if len(found) >= limit:
                    return found
                if (entry.keyword, *entry.ref) not in seen:
                    seen.add((entry.keyword, *entry.ref))
                    found.append(entry)
        return found
