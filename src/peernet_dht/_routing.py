"""The routing table: 256 k-buckets keyed by XOR distance to our own node ID. Sans-IO.

Differences from the reference (spec dht.md §3, §8), all invisible on the wire:

* ``closest`` returns the ``count`` contacts with the smallest XOR distance to the key, sorted
  ascending (the reference walks buckets outwards and sorts by raw node ID).
* Buckets are kept least-recently-seen first for real: :meth:`RoutingTable.add` on a known
  contact moves it to the tail and refreshes its RTT.
* No eclipse, as Kademlia intends: a live, long-known contact (known for ``settle`` seconds,
  seen within ``stale_after`` seconds, no unanswered request) is never evicted for a newcomer;
  the newcomer waits in the bucket's replacement cache. Only a young, stale or failing head is
  weighed against a newcomer.
* That weighing (:func:`evict_slower_or_farther`) keeps Go's RTT rules but breaks the tie the
  way its README intends: a newcomer without an RTT replaces the head only if it is *closer* to
  us. A head with unanswered requests is replaced first.
* Peers that fail ``max_failures`` requests in a row are removed; the best contact of the
  bucket's bounded replacement cache takes the free slot: one that answered us (has an RTT)
  before one that did not, then the most recently seen.
* Refresh targets are uniformly random 256-bit IDs inside the bucket (randomness injected).

Memory stays bounded: at most 256 × k entries plus 256 × ``replacements`` cached contacts.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterator
from typing import Any, Final, Generic

import attrs

from ._contact import C, HasNodeId
from ._distance import BITS, ID_SIZE, check_id, random_id_in_bucket

__all__ = [
    "AddOutcome",
    "AddResult",
    "EvictionPolicy",
    "K",
    "RoutingTable",
    "evict_slower_or_farther",
]

K: Final = 20


class AddOutcome(enum.Enum):
    """What :meth:`RoutingTable.add` did with a contact."""
    ADDED = "added"  # appended to a bucket with room
    UPDATED = "updated"  # already present: moved to the tail (most recently seen)
    REPLACED = "replaced"  # took the place of an evicted entry (see AddResult.evicted)
    CACHED = "cached"  # bucket full, kept in the bucket's replacement cache
    IGNORED = "ignored"  # our own ID


@attrs.frozen(slots=True)
class AddResult(Generic[C]):
    """The outcome of :meth:`RoutingTable.add`, and the contact evicted for it (REPLACED only)."""
    outcome: AddOutcome
    evicted: C | None = None


# Results without an evicted contact are shared (frozen values: building one per call is costly).
_IGNORED: Final[AddResult[Any]] = AddResult(AddOutcome.IGNORED)
_UPDATED: Final[AddResult[Any]] = AddResult(AddOutcome.UPDATED)
_ADDED: Final[AddResult[Any]] = AddResult(AddOutcome.ADDED)
_CACHED: Final[AddResult[Any]] = AddResult(AddOutcome.CACHED)

# (old_rtt, new_rtt, old_failures, old_distance_to_self, new_distance_to_self) -> evict old?
EvictionPolicy = Callable[[float | None, float | None, int, int, int], bool]


def evict_slower_or_farther(
    old_rtt: float | None, new_rtt: float | None, old_failures: int, old_distance: int, new_distance: int
) -> bool:
    """Go's ShouldEvict with the distance tie-break the right way round (closer node wins)."""
    if old_failures > 0 or old_rtt is None:
        return True
    if new_rtt is not None:
        return new_rtt < old_rtt
    return new_distance < old_distance


class _Entry(Generic[C]):
    __slots__ = ("contact", "failures", "first_seen", "id_int", "last_seen", "rtt")

    def __init__(self, contact: C, id_int: int, rtt: float | None, now: float) -> None:
        self.contact = contact
        self.id_int = id_int
        self.rtt = rtt
        self.first_seen = now
        self.last_seen = now
        self.failures = 0


class RoutingTable(Generic[C]):
    """k-buckets over 256-bit IDs. Nothing here does IO, reads a clock or draws randomness."""

    __slots__ = (
        "_buckets", "_cache", "_policy", "_self_int", "k", "max_failures", "replacements", "self_id", "settle",
        "stale_after",
    )

    def __init__(
        self,
        self_id: bytes,
        *,
        k: int = K,
        max_failures: int = 2,
        replacements: int = 4,
        should_evict: EvictionPolicy = evict_slower_or_farther,
        settle: float = 60.0,
        stale_after: float = 900.0,
    ) -> None:
        """``settle``: seconds after which a contact that keeps being seen is long-known (never
        evicted for a newcomer while live); ``stale_after``: seconds without a packet after which
        a contact no longer counts as live."""
        if k < 1 or max_failures < 1 or replacements < 0:
            raise ValueError("k and max_failures must be positive, replacements non-negative")
        self.settle = settle
        self.stale_after = stale_after
        self.self_id = check_id(self_id)
        self._self_int = int.from_bytes(self.self_id, "big")
        self.k = k
        self.max_failures = max_failures
        self.replacements = replacements
        self._policy = should_evict
        # Only non-empty buckets are stored: a table of a 10 000-node network uses ~15 of 256.
        self._buckets: dict[int, list[_Entry[C]]] = {}
        self._cache: dict[int, list[_Entry[C]]] = {}

    # -- queries -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, bytes) and len(node_id) == 32 and self._find(node_id) is not None

    def bucket_of(self, node_id: bytes) -> int:
        d = int.from_bytes(check_id(node_id), "big") ^ self._self_int
        return max(d.bit_length() - 1, 0)

    def bucket(self, index: int) -> list[C]:
        """The contacts of one bucket, least recently seen first."""
        return [e.contact for e in self._buckets.get(index, ())]

    def bucket_sizes(self) -> dict[int, int]:
        return {i: len(b) for i, b in sorted(self._buckets.items())}

    def bucket_full_for(self, node_id: bytes) -> bool:
        """Whether the bucket ``node_id`` falls in holds k contacts (our own ID: never)."""
        d = int.from_bytes(check_id(node_id), "big") ^ self._self_int
        return d != 0 and len(self._buckets.get(d.bit_length() - 1, ())) >= self.k

    def nodes(self) -> list[C]:
        """Every contact, bucket 0 to 255, each bucket least recently seen first (Go's ``Nodes``)."""
        return [e.contact for _, b in sorted(self._buckets.items()) for e in b]

    def rtt(self, node_id: bytes) -> float | None:
        entry = self._find(node_id)
        return None if entry is None else entry.rtt

    def closest(
        self,
        key: bytes,
        count: int,
        exclude: HasNodeId | None = None,
        *,
        accept: Callable[[C], bool] | None = None,
    ) -> list[C]:
        """The ``count`` contacts nearest to ``key`` by XOR distance, nearest first.

        ``exclude`` (usually the requester) is never returned. ``accept`` filters candidates
        (e.g. "has a shareable address"); rejected contacts do not use up ``count``.
        """
        key_int = int.from_bytes(check_id(key), "big")
        skip = None if exclude is None else int.from_bytes(exclude.node_id, "big")
        result: list[C] = []
        for group in self._groups_by_distance(key_int):
            ranked = sorted(
                (e for e in group if e.id_int != skip and (accept is None or accept(e.contact))),
                key=lambda e: e.id_int ^ key_int,
            )
            result.extend(e.contact for e in ranked[: count - len(result)])
            if len(result) >= count:
                break
        return result

    def _groups_by_distance(self, key_int: int) -> Iterator[list[_Entry[C]]]:
        """Bucket groups in increasing distance to the key, each group unsorted.

        With b = bucket of the key: bucket b is nearest (distances < 2^b), then every bucket below
        b together (distances in [2^b, 2^(b+1))), then buckets b+1, b+2, ... (distance ~ 2^i).
        """
        b = max((key_int ^ self._self_int).bit_length() - 1, 0)
        buckets = self._buckets
        yield buckets.get(b, [])
        yield [e for i, entries in buckets.items() if i < b for e in entries]
        for i in sorted(i for i in buckets if i > b):
            yield buckets[i]

    # -- updates -------------------------------------------------------------------------------

    def add(self, contact: C, now: float, rtt: float | None = None) -> AddResult[C]:
        """Record that ``contact`` was seen (a valid packet arrived), with a fresh RTT if known."""
        id_int = int.from_bytes(contact.node_id, "big")
        d = id_int ^ self._self_int
        if d == 0:
            return _IGNORED
        index = d.bit_length() - 1
        bucket = self._buckets.setdefault(index, [])
        for entry in bucket:
            if entry.id_int == id_int:
                bucket.remove(entry)  # entries compare by identity
                bucket.append(entry)
                entry.last_seen = now
                entry.failures = 0
                if rtt is not None:
                    entry.rtt = rtt
                return _UPDATED
        new = _Entry(contact, id_int, rtt, now)
        if len(bucket) < self.k:
            bucket.append(new)
            self._drop_from_cache(index, id_int)
            return _ADDED
        victim = next((e for e in bucket if e.failures > 0), bucket[0])
        if not self._established(victim, now) and self._policy(
            victim.rtt, rtt, victim.failures, victim.id_int ^ self._self_int, d
        ):
            bucket.remove(victim)
            bucket.append(new)
            self._drop_from_cache(index, id_int)
            return AddResult(AddOutcome.REPLACED, victim.contact)
        self._remember(index, new)
        return _CACHED

    def record_failure(self, node_id: bytes) -> bool:
        """A request to ``node_id`` went unanswered. Returns True if the peer was removed."""
        entry = self._find(node_id)
        if entry is None:
            return False
        entry.failures += 1
        if entry.failures < self.max_failures:
            return False
        return self.remove(node_id)

    def remove(self, node_id: bytes) -> bool:
        """Drop a peer (dead or gone); a cached replacement takes its slot."""
        index = self.bucket_of(node_id)
        id_int = int.from_bytes(node_id, "big")
        self._drop_from_cache(index, id_int)
        bucket = self._buckets.get(index)
        if not bucket:
            return False
        for position, entry in enumerate(bucket):
            if entry.id_int == id_int:
                del bucket[position]
                cache = self._cache.get(index)
                if cache:
                    bucket.append(cache.pop(_best_replacement(cache)))
                if not bucket:
                    del self._buckets[index]
                return True
        return False

    def stale(self, now: float, older_than: float) -> list[C]:
        """Cs not seen for ``older_than`` seconds: the engine should ping them."""
        cutoff = now - older_than
        return [e.contact for _, b in sorted(self._buckets.items()) for e in b if e.last_seen < cutoff]

    def refresh_targets(self, rng: random.Random, *, below: int | None = None) -> list[bytes]:
        """Lookup targets that repopulate buckets holding fewer than ``below`` (default k) contacts.

        Our own ID comes first (it fills every bucket near us); then one uniformly random ID per
        under-filled bucket from the nearest non-empty one outwards. Buckets closer than that are
        statistically empty and are covered by the self lookup.
        """
        limit = self.k if below is None else below
        targets = [self.self_id]
        if not self._buckets:
            return targets
        lowest = min(self._buckets)
        for index in range(lowest, BITS):
            if len(self._buckets.get(index, ())) < limit:
                targets.append(random_id_in_bucket(self.self_id, index, rng))
        return targets

    def subrange_targets(self, rng: random.Random, *, split_bits: int = 3, min_size: int = 5) -> list[bytes]:
        """One random target in each of the ``2**split_bits`` equal parts of every under-filled
        bucket holding at least ``min_size`` contacts.

        An answer lists only the few peers closest to a target, so one random target per bucket
        finds a bucket's last missing members only by luck; a bucket that cannot fill (at most k
        nodes exist in its range) rarely holds more than an answer's worth in each part.
        """
        targets: list[bytes] = []
        for index, size in self.bucket_sizes().items():
            if min_size <= size < self.k and index >= split_bits:
                low = index - split_bits
                for part in range(1 << split_bits):
                    d = 1 << index | part << low | rng.getrandbits(low)
                    targets.append((self._self_int ^ d).to_bytes(ID_SIZE, "big"))
        return targets

    # -- internals -----------------------------------------------------------------------------

    def _established(self, entry: _Entry[C], now: float) -> bool:
        """Live and long-known: no unanswered request, seen recently, known for a while."""
        return (
            entry.failures == 0
            and now - entry.first_seen >= self.settle
            and now - entry.last_seen < self.stale_after
        )

    def _find(self, node_id: bytes) -> _Entry[C] | None:
        id_int = int.from_bytes(check_id(node_id), "big")
        index = max((id_int ^ self._self_int).bit_length() - 1, 0)
        for entry in self._buckets.get(index, ()):
            if entry.id_int == id_int:
                return entry
        return None

    def _remember(self, index: int, entry: _Entry[C]) -> None:
        if self.replacements == 0:
            return
        cache = self._cache.setdefault(index, [])
        self._drop_from_cache(index, entry.id_int)
        cache.append(entry)
        if len(cache) > self.replacements:
            del cache[0]

    def _drop_from_cache(self, index: int, id_int: int) -> None:
        cache = self._cache.get(index)
        if cache:
            cache[:] = [e for e in cache if e.id_int != id_int]


def _best_replacement(cache: list[_Entry[C]]) -> int:
    """The position of the cached contact to promote: one that answered us (has an RTT) before
    one that did not, then the most recently seen (the cache is kept in order of last sighting)."""
    return max(range(len(cache)), key=lambda i: (cache[i].rtt is not None, i))
