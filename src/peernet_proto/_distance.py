"""Ordering by Kademlia distance: the XOR of two 32-byte node IDs read as big-endian integers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

__all__ = ["sort_by_distance"]


class _HasNodeId(Protocol):
    @property
    def node_id(self) -> bytes: ...


_T = TypeVar("_T", bound=_HasNodeId)


def sort_by_distance(items: Iterable[_T], key: bytes) -> list[_T]:
    """``items`` (anything with a ``node_id``) nearest to ``key`` first, by XOR distance.

    ``key`` and the node IDs are 32 bytes (blake3 hashes); the sort is stable, so items at the same
    distance keep their order.
    """
    target = int.from_bytes(key, "big")
    return sorted(items, key=lambda item: int.from_bytes(item.node_id, "big") ^ target)
