"""The cache of other users' chains, in LMDB, with per-owner and total quotas and LRU eviction.

Only validated block prefixes are stored (see ``_fetch``). Each change is one write transaction.
Databases: ``headers`` (owner -> state), ``blocks`` (owner || version || number -> raw),
``lru`` (use counter || owner). The use counter is a stored sequence, not a clock.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Sequence
from typing import Any, Final, Self

import lmdb

from peernet_proto import LocalProtocolError, PublicKey

from ._block import ZERO_HASH, block_hash
from ._cache_policy import CachedChain, CacheLimits, RefreshPlan, plan_refresh
from ._errors import ChainCorruptError

__all__ = ["ChainCache"]

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct(">QQQQQ32s")  # version, height, stored, size, use counter, last hash
_META_TOTAL: Final = b"total"
_META_COUNTER: Final = b"counter"
_META_OWNERS: Final = b"owners"


def _block_key(owner: bytes, version: int, number: int) -> bytes:
    return owner + struct.pack(">QQ", version, number)


class ChainCache:
    """Cached chains of other owners, bounded by ``limits``."""

    def __init__(
        self, path: str | os.PathLike[str], limits: CacheLimits | None = None, *, map_size: int | None = None
    ) -> None:
        os.makedirs(path, exist_ok=True)
        self.limits = limits = limits if limits is not None else CacheLimits()
        size = map_size if map_size is not None else max(64 << 20, limits.max_total_bytes * 3)
        self._env = lmdb.open(os.fspath(path), map_size=size, max_dbs=4)
        self._headers = self._env.open_db(b"headers")
        self._blocks = self._env.open_db(b"blocks")
        self._lru = self._env.open_db(b"lru")
        self._meta = self._env.open_db(b"meta")

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def get(self, owner: PublicKey) -> CachedChain | None:
        with self._env.begin() as txn:
            return self._get(txn, owner)

    def plan(self, owner: PublicKey, version: int, height: int) -> RefreshPlan | None:
        """What to fetch after ``owner`` announced (version, height)."""
        return plan_refresh(self.get(owner), version, height, self.limits)

    def blocks(self, owner: PublicKey) -> list[bytes]:
        """The cached raw blocks of ``owner`` (marks the chain as recently used)."""
        with self._env.begin(write=True) as txn:
            cached = self._get(txn, owner)
            if cached is None:
                return []
            self._touch(txn, cached)
            raws = []
            for number in range(cached.stored):
                raw = txn.get(_block_key(owner.to_bytes(), cached.version, number), db=self._blocks)
                if raw is None:
                    raise ChainCorruptError(f"cached block {number} of {owner.hex()} is missing")
                raws.append(bytes(raw))
            return raws

    @property
    def total_size(self) -> int:
        with self._env.begin() as txn:
            return self._meta_int(txn, _META_TOTAL)

    @property
    def owner_count(self) -> int:
        with self._env.begin() as txn:
            return self._meta_int(txn, _META_OWNERS)

    def owners(self) -> list[PublicKey]:
        with self._env.begin() as txn:
            return [PublicKey(bytes(key)) for key, _ in txn.cursor(db=self._headers)]

    # --- writing -------------------------------------------------------------------------

    def store(self, owner: PublicKey, plan: RefreshPlan, raws: Sequence[bytes]) -> CachedChain:
        """Store validated blocks ``plan.first ..`` (a prefix of what the plan asked for).

        Blocks beyond the owner's quotas are left out; other owners are evicted, least recently
        used first, until the total quotas hold again.
        """
        if len(raws) > plan.count:
            raise LocalProtocolError("more blocks than the plan asked for")
        key = owner.to_bytes()
        with self._env.begin(write=True) as txn:
            cached = self._get(txn, owner)
            if plan.replace:
                if cached is not None and cached.version > plan.version:
                    return cached  # never downgrade
                self._delete(txn, cached)
                cached = CachedChain(owner, plan.version, plan.height, 0, 0, ZERO_HASH)
            elif cached is None or cached.version != plan.version or cached.stored != plan.first:
                raise LocalProtocolError("cache changed since the plan was made")
            stored, size, last = cached.stored, cached.size, cached.last_block_hash
            for raw in raws:
                if (
                    stored >= self.limits.max_blocks_per_owner
                    or size + len(raw) > self.limits.max_bytes_per_owner
                ):
                    break
                txn.put(_block_key(key, plan.version, stored), raw, db=self._blocks)
                stored, size, last = stored + 1, size + len(raw), block_hash(raw)
            updated = CachedChain(owner, plan.version, max(plan.height, stored), stored, size, last)
            self._put(txn, updated, new=plan.replace)
            self._evict(txn, keep=key)
            return updated

    def delete(self, owner: PublicKey) -> None:
        with self._env.begin(write=True) as txn:
            self._delete(txn, self._get(txn, owner))

    # --- internals -----------------------------------------------------------------------

    def _meta_int(self, txn: Any, name: bytes) -> int:
        raw = txn.get(name, db=self._meta)
        return int.from_bytes(raw, "big") if raw is not None else 0

    def _add_meta(self, txn: Any, name: bytes, delta: int) -> int:
        value = self._meta_int(txn, name) + delta
        txn.put(name, value.to_bytes(8, "big"), db=self._meta)
        return value

    def _get(self, txn: Any, owner: PublicKey) -> CachedChain | None:
        raw = txn.get(owner.to_bytes(), db=self._headers)
        if raw is None:
            return None
        version, height, stored, size, _, last = _HEADER.unpack(bytes(raw))
        return CachedChain(owner, version, height, stored, size, last)

    def _use_counter(self, txn: Any, owner: bytes) -> int:
        raw = txn.get(owner, db=self._headers)
        return int(_HEADER.unpack(bytes(raw))[4]) if raw is not None else -1

    def _put(self, txn: Any, chain: CachedChain, *, new: bool) -> None:
        key = chain.owner.to_bytes()
        old_counter = self._use_counter(txn, key)
        if old_counter >= 0:
            txn.delete(old_counter.to_bytes(8, "big") + key, db=self._lru)
        elif new:
            self._add_meta(txn, _META_OWNERS, 1)
        counter = self._add_meta(txn, _META_COUNTER, 1)
        old_size = 0
        if old_counter >= 0:
            old_size = _HEADER.unpack(bytes(txn.get(key, db=self._headers)))[3]
        self._add_meta(txn, _META_TOTAL, chain.size - old_size)
        header = _HEADER.pack(
            chain.version, chain.height, chain.stored, chain.size, counter, chain.last_block_hash
        )
        txn.put(key, header, db=self._headers)
        txn.put(counter.to_bytes(8, "big") + key, b"", db=self._lru)

    def _touch(self, txn: Any, chain: CachedChain) -> None:
        self._put(txn, chain, new=False)

    def _delete(self, txn: Any, chain: CachedChain | None) -> None:
        if chain is None:
            return
        key = chain.owner.to_bytes()
        for number in range(chain.stored):
            txn.delete(_block_key(key, chain.version, number), db=self._blocks)
        txn.delete(self._use_counter(txn, key).to_bytes(8, "big") + key, db=self._lru)
        txn.delete(key, db=self._headers)
        self._add_meta(txn, _META_TOTAL, -chain.size)
        self._add_meta(txn, _META_OWNERS, -1)

    def _evict(self, txn: Any, *, keep: bytes) -> None:
        cursor = txn.cursor(db=self._lru)
        while (
            self._meta_int(txn, _META_TOTAL) > self.limits.max_total_bytes
            or self._meta_int(txn, _META_OWNERS) > self.limits.max_owners
        ):
            if not cursor.first():
                break
            victim = bytes(cursor.key())[8:]
            if victim == keep:
                if not cursor.next():
                    break
                victim = bytes(cursor.key())[8:]
            chain = self._get(txn, PublicKey(victim))
            log.debug("evicting cached chain of %s", victim.hex())
            self._delete(txn, chain)
