"""What to do when a peer announces its chain state (sans-IO).

Unlike the reference, a lower version or height never deletes what is cached: it is ignored.
"""

from __future__ import annotations

from typing import Final

import attrs

from peernet_proto import PublicKey

from ._validate import DEFAULT_MAX_BLOCK_SIZE

__all__ = ["CacheLimits", "CachedChain", "RefreshPlan", "plan_refresh"]

_MIB: Final = 1 << 20


@attrs.frozen
class CacheLimits:
    """Bounds of the cache of other users' chains."""

    max_blocks_per_owner: int = 256
    max_bytes_per_owner: int = 4 * _MIB
    max_total_bytes: int = 256 * _MIB
    max_owners: int = 10_000
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE

    def __attrs_post_init__(self) -> None:
        if self.max_bytes_per_owner > self.max_total_bytes:
            raise ValueError("the per-owner quota cannot exceed the total quota")
        if self.max_block_size > self.max_bytes_per_owner:
            raise ValueError("a single block must fit into the per-owner quota")


@attrs.frozen
class CachedChain:
    """What is cached for one owner: blocks 0..stored-1 of ``version``, all validated."""

    owner: PublicKey
    version: int
    height: int  # as last announced by the owner
    stored: int
    size: int  # bytes of stored blocks
    last_block_hash: bytes  # hash of block stored-1 (zero hash when nothing is stored)


@attrs.frozen
class RefreshPlan:
    """Fetch blocks [first, first + count) of ``version``; ``replace`` drops the cached version."""

    version: int
    height: int
    first: int
    count: int
    replace: bool


def plan_refresh(
    cached: CachedChain | None, version: int, height: int, limits: CacheLimits
) -> RefreshPlan | None:
    """The fetch an announcement of (version, height) calls for, or None."""
    if cached is None or version > cached.version:
        if cached is None and height == 0:
            return None
        return RefreshPlan(version, height, 0, min(height, limits.max_blocks_per_owner), replace=True)
    if version < cached.version or height <= cached.stored:
        return None
    count = min(height, limits.max_blocks_per_owner) - cached.stored
    if count <= 0:
        return None
    return RefreshPlan(version, height, cached.stored, count, replace=False)
