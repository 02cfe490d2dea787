"""Shared helpers of the DHT tests."""

from __future__ import annotations

import attrs


@attrs.frozen
class IdNode:
    """A contact known only by its node ID (the vectors give IDs, not keys)."""

    node_id: bytes


def node(value: int) -> IdNode:
    return IdNode(value.to_bytes(32, "big"))


def as_int(item: IdNode | bytes) -> int:
    raw = item if isinstance(item, bytes) else item.node_id
    return int.from_bytes(raw, "big")
