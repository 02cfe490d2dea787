"""Ideal Kademlia tables and XOR-nearest search over sorted node IDs (both simulator models)."""

from __future__ import annotations

import bisect
import random

__all__ = ["ideal_table", "xor_closest"]


def ideal_table(
    own: int, ranked: list[int], k: int, per_bucket: int, rng: random.Random
) -> list[int]:
    """Positions in ``ranked`` (all node IDs as integers, sorted) of the peers a settled node
    ``own`` knows: every member of a bucket with at most ``k`` members, else ``per_bucket``
    random ones."""
    chosen: list[int] = []
    for bucket in range(255, -1, -1):
        # Peers of this bucket share our top 255-bucket bits and differ at bit `bucket`.
        start = ((own >> bucket) ^ 1) << bucket
        lo, hi = bisect.bisect_left(ranked, start), bisect.bisect_left(ranked, start + (1 << bucket))
        if hi - lo <= k:
            chosen.extend(range(lo, hi))
        else:
            chosen.extend(rng.sample(range(lo, hi), per_bucket))
        group = (own >> bucket) << bucket
        if bisect.bisect_left(ranked, group + (1 << bucket)) - bisect.bisect_left(ranked, group) <= 1:
            break  # nobody else shares our prefix: all nearer buckets are empty
    return chosen


def xor_closest(ranked: list[int], key: int, lo: int = 0, hi: int | None = None) -> int:
    """Position in ``ranked`` (sorted, distinct) of the value with the least XOR distance to ``key``."""
    hi = len(ranked) if hi is None else hi
    prefix = 0
    for bit in range(255, -1, -1):
        if hi - lo <= 1:
            break
        upper = prefix | (1 << bit)
        middle = bisect.bisect_left(ranked, upper, lo, hi)
        if (key >> bit) & 1:
            if middle < hi:
                lo, prefix = middle, upper
            else:
                hi = middle
        elif middle > lo:
            hi = middle
        else:
            lo, prefix = middle, upper
    return lo
