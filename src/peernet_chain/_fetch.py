"""Fetching a remote chain through the transfer layer, validating it, and caching it.

The transfer layer (GetBlock, wire.md §6.9) is reached through :class:`BlockSource` only. What it
delivers is checked against the request (numbers, count, sizes) and against the chain rules before
anything reaches the cache; a forged or inconsistent answer leaves the cache untouched.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import attrs

from peernet_proto import PublicKey

from ._cache import ChainCache
from ._cache_policy import CachedChain
from ._errors import FetchError
from ._validate import ChainValidator

__all__ = ["BlockSource", "FetchRange", "FetchResult", "fetch_chain"]

log = logging.getLogger(__name__)


@attrs.frozen
class FetchRange:
    """The blocks ``first .. first + count - 1`` of a remote chain to download (block numbers are 0-based).

    Not to be confused with :class:`peernet_proto.wire.BlockRange`, the wire field of a GetBlock request."""

    first: int
    count: int


class BlockSource(Protocol):
    """The part of the transfer layer that downloads blocks of a remote chain."""

    def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[FetchRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        """Yield (block number, raw block or None when the peer does not have it / it is too big)."""
        ...


@attrs.frozen
class FetchResult:
    """``chain`` is the cache entry afterwards (None if nothing is cached); ``fetched`` counts new blocks."""

    chain: CachedChain | None
    fetched: int
    complete: bool


async def fetch_chain(
    source: BlockSource, cache: ChainCache, owner: PublicKey, version: int, height: int
) -> FetchResult:
    """Bring the cached chain of ``owner`` up to the announced (version, height).

    Raises :class:`ChainValidationError` (``FetchError`` for transfer violations) and then stores
    nothing. Blocks the peer reports as unavailable end the fetch; the valid prefix is kept.
    """
    plan = cache.plan(owner, version, height)
    if plan is None:
        cached = cache.get(owner)
        return FetchResult(
            cached, 0, cached is not None and cached.stored >= min(height, cache.limits.max_blocks_per_owner)
        )
    cached = None if plan.replace else cache.get(owner)
    validator = ChainValidator(
        owner,
        plan.version,
        next_number=plan.first,
        previous_hash=None if cached is None else cached.last_block_hash,
        max_block_size=cache.limits.max_block_size,
    )
    raws: list[bytes] = []
    budget = cache.limits.max_bytes_per_owner - (0 if cached is None else cached.size)
    end = plan.first + plan.count
    complete = True
    if plan.count:
        stream = source.fetch_blocks(
            owner, [FetchRange(plan.first, plan.count)], cache.limits.max_block_size, plan.count
        )
        try:
            complete = await _receive(stream, validator, raws, budget, plan.first, end)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
    stored = cache.store(owner, plan, raws)
    log.debug("cached %d blocks of %s (version %d)", len(raws), owner.hex(), plan.version)
    return FetchResult(stored, len(raws), complete)


async def _receive(
    stream: AsyncIterator[tuple[int, bytes | None]],
    validator: ChainValidator,
    raws: list[bytes],
    budget: int,
    expected: int,
    end: int,
) -> bool:
    """Check and collect blocks into ``raws``; True when every requested block arrived."""
    async for number, raw in stream:
        if number != expected or number >= end:
            raise FetchError("range", f"got block {number}, expected {expected}", number)
        expected += 1
        if raw is None:
            return False
        if len(raw) > validator.max_block_size:
            raise FetchError("size", f"block of {len(raw)} bytes exceeds the requested maximum", number)
        validator.check(raw)
        budget -= len(raw)
        if budget < 0:
            return False
        raws.append(raw)
    return expected == end
