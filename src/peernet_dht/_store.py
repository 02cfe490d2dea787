"""The DHT value store: what this node keeps and serves for INFO_STORE and FIND_VALUE.

What is stored and served:

* **Values**: data this node published itself (``put``), keyed by BLAKE3(data). The wire has
  no way to push data to us (INFO_STORE carries key, size and type only), so nothing a remote
  peer sends ends up here. Values are at most ``max_value_size`` bytes, by default
  :data:`VALUE_SIZE_MAX` (65 091): the largest value that fits embedded in one Response whatever
  the requester's user agent (the reference's :data:`EMBEDDED_VALUE_MAX`, 65 349, does not
  really fit). A FIND_VALUE for a held value is answered with the data embedded; a larger value
  (only with a raised ``max_value_size``) or an empty one is answered with a "storing" record for
  ourselves, as the reference does. Values expire after ``ttl`` unless put again, and are due for
  republishing (INFO_STORE to the k closest peers of the key) every ``republish_interval``.
* **Provider records**: an INFO_STORE entry {key, size, type} from peer P means "P stores the
  value K". We keep (K → P) with an expiry and answer FIND_VALUE with "storing" records for those
  providers. The reference ignores INFO_STORE; this is the intent described in its TODO.
* A miss returns nothing from the store; the responder then adds the closest peers from the
  routing table (the reference returns only "not found").

Bounded: ``max_values`` / ``max_bytes`` for values (a full store refuses new values),
``max_providers`` in total and ``max_providers_per_key`` per key (the oldest record goes first).

Fair sharing (provider records here, keyword entries in :class:`FairKeywordStore`): a record is
kept only for keys this node is near (``near``, a callable the node builds from its routing table,
see :func:`near_by_rank`); each publisher may hold at most ``max_*_per_publisher`` records and each
source address prefix (``source``, e.g. the /24 or /48 the request came from) at most
``max_*_per_prefix``; when the store is full, a publisher below its share takes the place of the
oldest record of the publisher holding the most. Throwaway identities therefore cannot hold more
than their prefixes' share, nor keep newcomers out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Generic

import attrs

from peernet_proto import LocalProtocolError, hash_data

from ._contact import C
from ._distance import check_id
from ._search import MAX_ITEMS, KeywordEntry, KeywordStore

__all__ = [
    "EMBEDDED_VALUE_MAX",
    "VALUE_SIZE_MAX",
    "Embedded",
    "FairKeywordStore",
    "FairShare",
    "Miss",
    "Providers",
    "StoreFullError",
    "ValueStore",
    "near_by_rank",
]

EMBEDDED_VALUE_MAX: Final = 65_349  # the reference's EmbeddedFileSizeMax (spec dht.md §2)
# What really fits: payload 65 410 − header 24 − user agent 255 − counts 6 − file header 34.
VALUE_SIZE_MAX: Final = 65_091


class StoreFullError(LocalProtocolError):
    """The value store's count or byte budget would be exceeded."""


@attrs.frozen
class Embedded:
    """A FIND_VALUE hit: the value's bytes themselves."""
    data: bytes


@attrs.frozen
class Providers(Generic[C]):
    """A FIND_VALUE hit by reference: peers that store the value, and whether we do."""
    peers: tuple[C, ...]  # other peers that announced the value (INFO_STORE)
    self_is_provider: bool = False


@attrs.frozen
class Miss:
    """A FIND_VALUE miss: neither the value nor a provider is known."""
    pass


class _Value:
    __slots__ = ("data", "expires", "republish_at")

    def __init__(self, data: bytes, expires: float, republish_at: float) -> None:
        self.data, self.expires, self.republish_at = data, expires, republish_at


class ValueStore(Generic[C]):
    """The bounded store of DHT values and of provider announcements (INFO_STORE), with expiry.

    Bounds: ``max_values`` values of at most ``max_value_size`` bytes, ``max_bytes`` in total,
    ``max_providers`` provider entries; values expire after ``ttl`` seconds and are republished
    every ``republish_interval`` seconds.
    """
    def __init__(
        self,
        *,
        max_values: int = 4096,
        max_bytes: int = 64 * 2**20,
        max_value_size: int = VALUE_SIZE_MAX,
        ttl: float = 24 * 3600.0,
        republish_interval: float = 3600.0,
        max_providers: int = 65_536,
        max_providers_per_key: int = 20,
        provider_ttl: float = 24 * 3600.0,
        max_providers_per_publisher: int | None = None,
        max_providers_per_prefix: int | None = None,
        near: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.max_values, self.max_bytes, self.max_value_size = max_values, max_bytes, max_value_size
        self.ttl, self.republish_interval = ttl, republish_interval
        self.max_providers, self.max_providers_per_key = max_providers, max_providers_per_key
        self.provider_ttl = provider_ttl
        self._values: dict[bytes, _Value] = {}
        self._bytes = 0
        # key -> provider node ID -> (provider, size, kind, expires), oldest first
        self._providers: dict[bytes, OrderedDict[bytes, tuple[C, int, int, float]]] = {}
        self._provider_count = 0
        self.max_providers_per_publisher = (
            max_providers_per_publisher if max_providers_per_publisher is not None else max(1, max_providers // 64)
        )
        self.max_providers_per_prefix = (
            max_providers_per_prefix if max_providers_per_prefix is not None else max(1, max_providers // 16)
        )
        self.near = near
        self._publishers = FairShare()
        self._prefixes = FairShare()
        # publisher node ID -> (key -> source prefix), oldest first: what fair eviction removes
        self._by_publisher: dict[bytes, OrderedDict[bytes, bytes | None]] = {}

    # -- values --------------------------------------------------------------------------------

    def put(self, data: bytes, now: float) -> bytes:
        """Store our own value; returns its key. Putting it again refreshes its expiry."""
        if len(data) > self.max_value_size:
            raise StoreFullError(f"value of {len(data)} bytes exceeds {self.max_value_size}")
        key = hash_data(data)
        if key not in self._values:
            if len(self._values) >= self.max_values or self._bytes + len(data) > self.max_bytes:
                raise StoreFullError("value store is full")
            self._bytes += len(data)
        self._values[key] = _Value(bytes(data), now + self.ttl, now + self.republish_interval)
        return key

    def get(self, key: bytes, now: float) -> bytes | None:
        value = self._values.get(check_id(key))
        return value.data if value is not None and value.expires > now else None

    def delete(self, key: bytes) -> bool:
        value = self._values.pop(key, None)
        if value is not None:
            self._bytes -= len(value.data)
        return value is not None

    def due_for_republish(self, now: float) -> list[bytes]:
        """Keys whose INFO_STORE to the k closest peers should be sent again now."""
        return [key for key, v in self._values.items() if v.republish_at <= now < v.expires]

    def mark_republished(self, key: bytes, now: float) -> None:
        value = self._values.get(key)
        if value is not None:
            value.republish_at = now + self.republish_interval

    # -- provider records (INFO_STORE) ---------------------------------------------------------

    def add_provider(
        self, key: bytes, provider: C, size: int, kind: int, now: float, *, source: bytes | None = None
    ) -> bool:
        """Record an INFO_STORE entry from ``provider`` (``source``: its address prefix, if known).
        False if this node is not near ``key`` or a bound refused it."""
        key = check_id(key)
        if self.near is not None and not self.near(key):
            return False
        node_id = provider.node_id
        records = self._providers.get(key)
        if records is not None and node_id in records:
            self._drop_provider(key, node_id)
        elif not self._admit_provider(node_id, source):
            return False
        records = self._providers.setdefault(key, OrderedDict())
        if len(records) >= self.max_providers_per_key:
            self._drop_provider(key, next(iter(records)))
            records = self._providers.setdefault(key, records)
        records[node_id] = (provider, size, kind, now + self.provider_ttl)
        self._by_publisher.setdefault(node_id, OrderedDict())[key] = source
        self._publishers.add(node_id)
        if source is not None:
            self._prefixes.add(source)
        self._provider_count += 1
        return True

    def _admit_provider(self, node_id: bytes, source: bytes | None) -> bool:
        own = self._publishers.count(node_id)
        if own >= self.max_providers_per_publisher:
            return False
        if source is not None and self._prefixes.count(source) >= self.max_providers_per_prefix:
            return False
        if self._provider_count < self.max_providers:
            return True
        largest = self._publishers.largest()
        if largest is None or self._publishers.count(largest) <= own + 1:
            return False
        self._drop_provider(next(iter(self._by_publisher[largest])), largest)  # fair eviction
        return True

    def _drop_provider(self, key: bytes, node_id: bytes) -> None:
        records = self._providers[key]
        del records[node_id]
        if not records:
            del self._providers[key]
        owned = self._by_publisher[node_id]
        source = owned.pop(key)
        if not owned:
            del self._by_publisher[node_id]
        self._publishers.remove(node_id)
        if source is not None:
            self._prefixes.remove(source)
        self._provider_count -= 1

    def providers(self, key: bytes, now: float) -> list[C]:
        records = self._providers.get(check_id(key), OrderedDict())
        return [provider for provider, _, _, expires in records.values() if expires > now]

    # -- answering and housekeeping ------------------------------------------------------------

    def answer(self, key: bytes, now: float) -> Embedded | Providers[C] | Miss:
        """The store's part of a FIND_VALUE answer for ``key``."""
        data = self.get(key, now)
        if data is not None and 0 < len(data) <= VALUE_SIZE_MAX:
            return Embedded(data)
        others = tuple(self.providers(key, now))
        if data is not None or others:
            return Providers(others, self_is_provider=data is not None)
        return Miss()

    def expire(self, now: float) -> int:
        """Drop expired values and provider records; returns how many went."""
        gone = [key for key, v in self._values.items() if v.expires <= now]
        for key in gone:
            self.delete(key)
        dropped = len(gone)
        for key in list(self._providers):
            for node_id in [n for n, record in self._providers[key].items() if record[3] <= now]:
                self._drop_provider(key, node_id)
                dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self._values)

    @property
    def stored_bytes(self) -> int:
        return self._bytes

    @property
    def provider_count(self) -> int:
        return self._provider_count


# --- fair sharing ------------------------------------------------------------------------------


class FairShare:
    """Record counts per holder (publisher or prefix) with the largest holder in O(1)."""

    def __init__(self) -> None:
        self._counts: dict[bytes, int] = {}
        self._by_count: dict[int, set[bytes]] = {}
        self._top = 0

    def __len__(self) -> int:
        return len(self._counts)

    def count(self, holder: bytes) -> int:
        """Records held by ``holder``."""
        return self._counts.get(holder, 0)

    def add(self, holder: bytes) -> None:
        """One more record for ``holder``."""
        old = self._counts.get(holder, 0)
        self._move(holder, old, old + 1)
        self._top = max(self._top, old + 1)

    def remove(self, holder: bytes) -> None:
        """One record less for ``holder``."""
        old = self._counts[holder]
        self._move(holder, old, old - 1)
        while self._top and not self._by_count.get(self._top):
            self._top -= 1

    def largest(self) -> bytes | None:
        """A holder with the most records (None when empty)."""
        holders = self._by_count.get(self._top)
        return next(iter(holders)) if holders else None

    def _move(self, holder: bytes, old: int, new: int) -> None:
        if old:
            bucket = self._by_count[old]
            bucket.discard(holder)
            if not bucket:
                del self._by_count[old]
        if new:
            self._counts[holder] = new
            self._by_count.setdefault(new, set()).add(holder)
        else:
            del self._counts[holder]


def near_by_rank(
    own_id: bytes, closest: Callable[[bytes, int], Sequence[bytes]], k: int = 20
) -> Callable[[bytes], bool]:
    """A ``near`` callable: this node is near ``key`` when fewer than ``k`` of the ``k`` contacts its
    routing table knows nearest to ``key`` (``closest(key, k)`` gives their node IDs) are nearer
    to it than this node is."""
    own = int.from_bytes(own_id, "big")

    def near(key: bytes) -> bool:
        """True if this node is among the k nearest known to ``key``."""
        target = int.from_bytes(key, "big")
        mine = own ^ target
        nearer = sum(1 for node_id in closest(key, k) if int.from_bytes(node_id, "big") ^ target < mine)
        return nearer < k

    return near


class FairKeywordStore(KeywordStore):
    """Keyword entries held for others, shared fairly (a drop-in ``KeywordStore``).

    Entries are accepted only for keywords this node is ``near``; each publisher (the entry's
    owner, who sent the PUBLISH) holds at most ``max_per_publisher`` entries and each source
    prefix at most ``max_per_prefix``; a full store or keyword makes room by dropping the oldest
    entry of the publisher holding the most, and only for a publisher holding fewer.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        max_per_keyword: int = 1_000,
        max_per_publisher: int | None = None,
        max_per_prefix: int | None = None,
        ttl: float = 24 * 3600.0,
        near: Callable[[bytes], bool] | None = None,
    ) -> None:
        super().__init__(max_entries=max_entries, max_per_keyword=max_per_keyword, ttl=ttl)
        self.near = near
        self.max_per_publisher = max_per_publisher if max_per_publisher is not None else max(1, max_entries // 100)
        self.max_per_prefix = max_per_prefix if max_per_prefix is not None else max(1, max_entries // 20)
        self._by_keyword: dict[bytes, OrderedDict[tuple[bytes, bytes], tuple[KeywordEntry, float]]] = {}
        # publisher -> (keyword, ref) -> source prefix, oldest first
        self._by_publisher: dict[bytes, OrderedDict[tuple[bytes, tuple[bytes, bytes]], bytes | None]] = {}
        self._publishers = FairShare()
        self._prefixes = FairShare()
        self._count = 0
        self.refused: dict[str, int] = {}

    def __len__(self) -> int:
        return self._count

    def entries_of(self, publisher: bytes) -> int:
        """Entries held for ``publisher``."""
        return self._publishers.count(publisher)

    def publish(self, entries: Iterable[KeywordEntry], now: float, *, source: bytes | None = None) -> int:
        """Store entries of a PUBLISH (their owner is the publisher); returns how many were accepted."""
        accepted = 0
        for entry in entries:
            reason = self._publish_one(entry, now, source)
            if reason is None:
                accepted += 1
            else:
                self.refused[reason] = self.refused.get(reason, 0) + 1
        return accepted

    def _publish_one(self, entry: KeywordEntry, now: float, source: bytes | None) -> str | None:
        if self.near is not None and not self.near(entry.keyword):
            return "not_near"
        bucket = self._by_keyword.get(entry.keyword)
        if bucket is not None and entry.ref in bucket:
            self._drop(entry.keyword, entry.ref)
        else:
            own = self._publishers.count(entry.owner)
            if own >= self.max_per_publisher:
                return "publisher_quota"
            if source is not None and self._prefixes.count(source) >= self.max_per_prefix:
                return "prefix_quota"
            if self._count >= self.max_entries and not self._evict_for(own, None):
                return "full"
            bucket = self._by_keyword.get(entry.keyword)
            if bucket is not None and len(bucket) >= self.max_per_keyword and not self._evict_for(own, entry.keyword):
                return "keyword_full"
        self._by_keyword.setdefault(entry.keyword, OrderedDict())[entry.ref] = (entry, now + self.ttl)
        self._by_publisher.setdefault(entry.owner, OrderedDict())[(entry.keyword, entry.ref)] = source
        self._publishers.add(entry.owner)
        if source is not None:
            self._prefixes.add(source)
        self._count += 1
        return None

    def _evict_for(self, own: int, keyword: bytes | None) -> bool:
        """Drop an entry of a larger publisher (in ``keyword`` when given) for one holding ``own``."""
        if keyword is None:
            largest = self._publishers.largest()
            if largest is None or self._publishers.count(largest) <= own + 1:
                return False
            self._drop(*next(iter(self._by_publisher[largest])))
            return True
        bucket = self._by_keyword[keyword]
        owner = max((e.owner for e, _ in bucket.values()), key=self._publishers.count)
        if self._publishers.count(owner) <= own + 1:
            return False
        ref = next(ref for ref, (e, _) in bucket.items() if e.owner == owner)
        self._drop(keyword, ref)
        return True

    def _drop(self, keyword: bytes, ref: tuple[bytes, bytes]) -> None:
        bucket = self._by_keyword[keyword]
        entry, _ = bucket.pop(ref)
        if not bucket:
            del self._by_keyword[keyword]
        owned = self._by_publisher[entry.owner]
        source = owned.pop((keyword, ref))
        if not owned:
            del self._by_publisher[entry.owner]
        self._publishers.remove(entry.owner)
        if source is not None:
            self._prefixes.remove(source)
        self._count -= 1

    def query(self, keywords: Iterable[bytes], now: float, max_results: int = MAX_ITEMS) -> list[KeywordEntry]:
        """Unexpired entries for the keywords, newest first per keyword, at most ``max_results``."""
        found: list[KeywordEntry] = []
        for keyword in keywords:
            for entry, expires in reversed(self._by_keyword.get(keyword, OrderedDict()).values()):
                if len(found) >= min(max_results, MAX_ITEMS):
                    return found
                if expires > now:
                    found.append(entry)
        return found

    def expire(self, now: float) -> int:
        """Drop expired entries; returns how many went."""
        gone = [
            (keyword, ref)
            for keyword, bucket in self._by_keyword.items()
            for ref, (_, expires) in bucket.items()
            if expires <= now
        ]
        for keyword, ref in gone:
            self._drop(keyword, ref)
        return len(gone)
