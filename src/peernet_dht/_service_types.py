"""What the DHT service reports and its limits: operation results, statistics, bounds. Values only."""

from __future__ import annotations

from typing import Final, Protocol

import attrs

from peernet_proto import Feature, PeerInfo, PublicKey

from ._network import Remote, RequestSender

__all__ = [
    "HOUSEKEEPING",
    "INFO_STORE_PER_REQUEST",
    "PARALLEL_LOOKUPS",
    "PROVIDERS_FOLLOWED",
    "QUERY_KEYWORDS",
    "QUERY_KEYWORDS_SERVED",
    "RESULTS_PER_QUERY",
    "SEARCH_FEATURES",
    "DhtEngine",
    "DhtResult",
    "DhtStatistics",
    "NetworkHit",
    "PeerResult",
    "PublishResult",
    "SearchResult",
    "StoreResult",
    "Tally",
    "ValueResult",
]

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


@attrs.frozen
class PeerResult:
    """A finished find-peer operation: how to reach the peer with ``node_id`` (32 bytes), if found."""

    op: int
    node_id: bytes
    remote: Remote | None  # how to reach the peer; None if not found
    messages: int = 0  # requests sent (≥ 0)


@attrs.frozen
class ValueResult:
    """A finished find-value operation: the value of ``key`` (its blake3 hash, 32 bytes) or None."""

    op: int
    key: bytes
    value: bytes | None
    source: PublicKey | None = None  # who returned it (our own key for a local value)
    providers: tuple[PublicKey, ...] = ()  # "storing" peers that were asked (at most PROVIDERS_FOLLOWED)
    messages: int = 0  # requests sent (≥ 0)


@attrs.frozen
class StoreResult:
    """A finished store operation: the peers that acknowledged the INFO_STORE for ``key`` (at most k)."""

    op: int
    key: bytes
    stored_at: tuple[PublicKey, ...]  # peers that acknowledged the INFO_STORE
    messages: int = 0  # requests sent (≥ 0)


@attrs.frozen
class PublishResult:
    """A finished publish operation: how many keyword entries went out and how many copies were kept."""

    op: int
    entries: int  # keyword entries published
    keywords: int  # distinct keyword hashes
    peers: int  # peers sent a PUBLISH
    stored: int  # entry copies the peers acknowledged
    messages: int = 0  # requests sent (≥ 0)


@attrs.frozen
class NetworkHit:
    """One file found by a network search, merged over the peers that reported it."""

    owner: bytes  # compressed public key of the file's owner (33 bytes)
    file_id: bytes
    file_hash: bytes
    size: int  # bytes
    name: str
    keywords: frozenset[str]  # the query words that matched
    exact: bool  # the whole term matched (a whole name or word)
    sources: int  # distinct peers (ourselves included) that reported it (≥ 1)

    @property
    def ref(self) -> tuple[bytes, bytes]:
        """(owner, file ID): what identifies the file."""
        return (self.owner, self.file_id)


@attrs.frozen
class SearchResult:
    """A finished network search: at most ``max_results`` hits, best first, and what it cost."""

    op: int
    term: str
    hits: tuple[NetworkHit, ...]
    asked: int  # peers sent a QUERY
    answered: int  # of those, how many answered
    junk: int  # result entries dropped (not asked for, repeated, bad, over the cap)
    messages: int = 0  # requests sent: lookups and queries


DhtResult = PeerResult | ValueResult | StoreResult | PublishResult | SearchResult


@attrs.define
class Tally:
    """The running counts behind :class:`DhtStatistics` (mutable; all ≥ 0)."""

    served_values: int = 0  # FIND_VALUE answered with a value of ours
    served_providers: int = 0  # FIND_VALUE answered with "storing" peers
    providers_recorded: int = 0  # INFO_STORE entries kept
    info_store_refused: int = 0  # INFO_STORE entries refused (bad type, store full)
    search_without_feature: int = 0  # search items from peers without the KEYWORD_SEARCH bit
    bad_search_payloads: int = 0  # search items that did not decode
    unexpected_search_payloads: int = 0  # search items of a kind a request cannot carry
    foreign_entries_refused: int = 0  # PUBLISH entries of another owner than the publisher
    entries_stored: int = 0  # PUBLISH entries kept
    queries_answered: int = 0  # QUERY items answered
    retries: int = 0  # direct requests sent again after a timeout
    junk_results: int = 0  # RESULTS entries dropped by our searches

    def snapshot(self) -> DhtStatistics:
        """The counts now, as a value."""
        return DhtStatistics(**attrs.asdict(self))


@attrs.frozen
class DhtStatistics(Tally):
    """What the DHT service answered, refused, retried and dropped since it started (the fields of
    :class:`Tally`, frozen; counts, all ≥ 0)."""
