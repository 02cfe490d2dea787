"""Verified search results: a hit is shown only when the owner's signed chain holds its file record.

A hit (from the network keyword search, or the local index) names an owner key and a file ID, and
perhaps a file hash, name and size. None of that is taken on the sender's word: the file record
is looked up in the owner's chain — the own chain, the chain cache, or, when a
:class:`ChainLocator` can reach the owner, a chain fetched (and strictly validated) first. What is
shown comes from that record. Hits whose owner's chain is unavailable, or whose record is absent
or disagrees with the claimed hash or size, are dropped and counted in :attr:`VerifyReport.dropped`.

:func:`match_hits` is the sans-IO core; :class:`HitVerifier` the async shell. Filters and sorting
follow the local API's search semantics (spec webapi.md §2.5, §3.8).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import attrs

from peernet_chain import BlockSource, ChainCache, LocalChain
from peernet_dht import KeywordEntry, LocalIndex
from peernet_proto import InvalidKeyError, PublicKey

from ._catalog import ChainFile, files_of
from ._chains import ChainPolicy, SyncOutcome, sync_chain

__all__ = [
    "CandidateHit",
    "ChainLocator",
    "HitVerifier",
    "SearchFilter",
    "SortOrder",
    "VerifiedFile",
    "VerifyReport",
    "filter_files",
    "hits_from_entries",
    "hits_from_index",
    "match_hits",
    "merge_results",
    "sort_files",
]

log = logging.getLogger(__name__)

MAX_OWNERS_FETCHED: Final = 32  # chains fetched for one batch of hits


@attrs.frozen
class CandidateHit:
    """What a search source claims: owner, file ID and optionally the file hash and size."""

    owner: PublicKey
    file_id: uuid.UUID
    file_hash: bytes | None = None
    size: int | None = None


@attrs.frozen
class VerifiedFile:
    """A verified result: the record as the owner's chain holds it. ``shared_by`` counts the
    distinct owners among the results sharing the same content hash."""

    file: ChainFile
    shared_by: int = 1

    @property
    def key(self) -> tuple[PublicKey, uuid.UUID]:
        """(owner, file ID): what results merge by."""
        return (self.file.owner, self.file.record.id)


@attrs.frozen
class VerifyReport:
    """Verified files (one per owner and file ID) and the dropped hits by reason."""

    files: tuple[VerifiedFile, ...]
    dropped: Mapping[str, int]

    @property
    def dropped_total(self) -> int:
        """All dropped hits."""
        return sum(self.dropped.values())


class ChainLocator(Protocol):
    """How to reach an owner's chain: a block source and the owner's announced (version, height)."""

    async def locate(self, owner: PublicKey) -> tuple[BlockSource, int, int] | None:
        """A source and the announced state, or None when the owner cannot be reached."""
        ...


def hits_from_entries(entries: Iterable[KeywordEntry]) -> list[CandidateHit]:
    """Candidate hits of network keyword search results (malformed owner keys are skipped)."""
    hits = []
    for entry in entries:
        try:
            owner = PublicKey.from_bytes(entry.owner)
        except InvalidKeyError:
            continue
        hits.append(CandidateHit(owner, uuid.UUID(bytes=entry.file_id), entry.file_hash, entry.size))
    return hits


def hits_from_index(index: LocalIndex, term: str, limit: int = 200) -> list[CandidateHit]:
    """Candidate hits of the local index (they still go through :func:`match_hits`: the index may
    be stale)."""
    hits = []
    for hit in index.search(term, limit):
        try:
            owner = PublicKey.from_bytes(hit.file.owner)
        except InvalidKeyError:
            continue
        hits.append(CandidateHit(owner, uuid.UUID(bytes=hit.file.file_id), hit.file.file_hash, hit.file.size))
    return hits


def match_hits(hits: Iterable[CandidateHit], chains: Mapping[PublicKey, Sequence[ChainFile] | None]) -> VerifyReport:
    """Check hits against the owners' chains (None: chain unavailable). Sans-IO."""
    by_owner: dict[PublicKey, dict[uuid.UUID, ChainFile]] = {}
    dropped: dict[str, int] = {}
    found: dict[tuple[PublicKey, uuid.UUID], ChainFile] = {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    for hit in hits:
        files = chains.get(hit.owner)
        if files is None:
            drop("chain_unavailable")
            continue
        index = by_owner.get(hit.owner)
        if index is None:
            index = by_owner[hit.owner] = {file.record.id: file for file in files}
        file = index.get(hit.file_id)
        if file is None:
            drop("not_in_chain")
        elif (hit.file_hash is not None and hit.file_hash != file.record.hash) or (
            hit.size is not None and hit.size != file.record.size
        ):
            drop("mismatch")
        else:
            found.setdefault((hit.owner, hit.file_id), file)
    return VerifyReport(_with_counts(found.values()), dropped)


def _with_counts(files: Iterable[ChainFile]) -> tuple[VerifiedFile, ...]:
    files = list(files)
    owners: dict[bytes, set[PublicKey]] = {}
    for file in files:
        owners.setdefault(file.record.hash, set()).add(file.owner)
    return tuple(VerifiedFile(file, len(owners[file.record.hash])) for file in files)


def merge_results(current: Sequence[VerifiedFile], new: Iterable[VerifiedFile]) -> list[VerifiedFile]:
    """Merge by (owner, file ID), first arrival order kept; shared-by counts recomputed."""
    merged: dict[tuple[PublicKey, uuid.UUID], ChainFile] = {}
    for result in (*current, *new):
        merged.setdefault(result.key, result.file)
    return list(_with_counts(merged.values()))


class HitVerifier:
    """Verifies hits against own, cached and (through ``locator``) freshly fetched chains."""

    def __init__(
        self,
        cache: ChainCache,
        own_chain: LocalChain | None = None,
        locator: ChainLocator | None = None,
        policy: ChainPolicy | None = None,
    ) -> None:
        self.cache, self.own_chain, self.locator = cache, own_chain, locator
        self.policy = policy if policy is not None else ChainPolicy()
        self.dropped: dict[str, int] = {}

    async def verify(self, hits: Sequence[CandidateHit], now: float) -> VerifyReport:
        """Verify a batch of hits; owners whose chain is not cached are fetched first (at most
        :data:`MAX_OWNERS_FETCHED` per batch)."""
        chains: dict[PublicKey, Sequence[ChainFile] | None] = {}
        fetched = 0
        for owner in dict.fromkeys(hit.owner for hit in hits):
            if not self._is_own(owner) and self.locator is not None and fetched < MAX_OWNERS_FETCHED:
                fetched += 1
                await self._refresh(owner, now)
            known = self._is_own(owner) or self.cache.get(owner) is not None
            chains[owner] = files_of(owner, self.cache, self.own_chain) if known else None
        report = match_hits(hits, chains)
        for reason, count in report.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count
        return report

    def _is_own(self, owner: PublicKey) -> bool:
        return self.own_chain is not None and owner == self.own_chain.owner.public_key

    async def _refresh(self, owner: PublicKey, now: float) -> None:
        assert self.locator is not None
        located = await self.locator.locate(owner)
        if located is None:
            return
        source, version, height = located
        result = await sync_chain(source, self.cache, self.policy, owner, version, height, now)
        if result.outcome is SyncOutcome.REJECTED:
            log.info("hits of %s unverifiable: its chain was rejected", owner.hex())


# --- filters and sorting -------------------------------------------------------------------------


@attrs.frozen
class SearchFilter:
    """Search filters; −1 / None mean "not used". Dates are Unix seconds, both ends inclusive."""

    file_type: int = -1
    file_format: int = -1
    date_from: int | None = None
    date_to: int | None = None
    size_min: int = -1
    size_max: int = -1
    node: bytes | None = None  # owner node ID

    def accepts(self, result: VerifiedFile) -> bool:
        """True if ``result`` passes every active filter."""
        record = result.file.record
        if self.file_type >= 0 and record.file_type != self.file_type:
            return False
        if self.file_format >= 0 and record.file_format != self.file_format:
            return False
        if self.date_from is not None and self.date_to is not None and self.date_from < self.date_to:
            date = result.file.date
            if date == 0 or not self.date_from <= date <= self.date_to:
                return False
        if self.size_min >= 0 and record.size < self.size_min:
            return False
        if self.size_max >= 0 and record.size > self.size_max:
            return False
        return self.node is None or result.file.owner.node_id == self.node


class SortOrder:
    """Sort orders of the local API (spec webapi.md §3.8)."""

    NONE: Final = 0
    RELEVANCE_ASC: Final = 1
    RELEVANCE_DESC: Final = 2
    DATE_ASC: Final = 3
    DATE_DESC: Final = 4
    NAME_ASC: Final = 5
    NAME_DESC: Final = 6
    SIZE_ASC: Final = 7
    SIZE_DESC: Final = 8
    SHARED_BY_ASC: Final = 9
    SHARED_BY_DESC: Final = 10


def filter_files(results: Iterable[VerifiedFile], search_filter: SearchFilter) -> list[VerifiedFile]:
    """The results the filter accepts, order kept."""
    return [result for result in results if search_filter.accepts(result)]


def sort_files(results: Iterable[VerifiedFile], order: int) -> list[VerifiedFile]:
    """Stable sort by one of :class:`SortOrder` (names compare byte-wise); unknown orders keep arrival order."""
    items = list(results)
    keys = {
        1: (lambda r: r.file.date, False),
        2: (lambda r: r.file.date, True),
        3: (lambda r: r.file.date, False),
        4: (lambda r: r.file.date, True),
        5: (lambda r: r.file.name.encode("utf-8"), False),
        6: (lambda r: r.file.name.encode("utf-8"), True),
        7: (lambda r: r.file.record.size, False),
        8: (lambda r: r.file.record.size, True),
        9: (lambda r: r.shared_by, False),
        10: (lambda r: r.shared_by, True),
    }
    if order not in keys:
        return items
    key, reverse = keys[order]
    return sorted(items, key=key, reverse=reverse)
