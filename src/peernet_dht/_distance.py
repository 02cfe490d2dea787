"""The Kademlia metric: 256-bit IDs, XOR distance read big-endian, bucket indices."""

from __future__ import annotations

import random
from typing import Final

from ._errors import KeySizeError

__all__ = ["BITS", "ID_SIZE", "bucket_index", "check_id", "distance", "id_to_int", "random_id_in_bucket"]

#: Bytes in a node ID or DHT key (a blake3 hash).
ID_SIZE: Final = 32
#: Bits in a node ID: the number of k-buckets.
BITS: Final = ID_SIZE * 8


def check_id(key: bytes) -> bytes:
    """Return ``key`` if it is a 32-byte ID, else raise :class:`KeySizeError`."""
    if len(key) != ID_SIZE:
        raise KeySizeError(f"DHT keys are {ID_SIZE} bytes, got {len(key)}")
    return bytes(key)


def id_to_int(key: bytes) -> int:
    return int.from_bytes(check_id(key), "big")


def distance(a: bytes, b: bytes) -> int:
    """``a XOR b`` as a 256-bit big-endian unsigned integer."""
    return id_to_int(a) ^ id_to_int(b)


def bucket_index(self_id: bytes, other: bytes) -> int:
    """255 minus the position of the first differing bit; identical IDs give bucket 0."""
    return _bucket_of_distance(distance(self_id, other))


def _bucket_of_distance(d: int) -> int:
    return max(d.bit_length() - 1, 0)


def random_id_in_bucket(self_id: bytes, bucket: int, rng: random.Random) -> bytes:
    """A uniformly random 256-bit ID whose first bit differing from ``self_id`` is bit ``255 - bucket``.

    Bucket 0 also contains ``self_id`` itself (Go's convention), so it returns either candidate.
    """
    if not 0 <= bucket < BITS:
        raise ValueError(f"bucket must be in 0..{BITS - 1}, got {bucket}")
    own = id_to_int(self_id)
    # Flip bit `bucket` (counted from the least significant end), randomise every lower bit.
    d = (1 << bucket) | rng.getrandbits(bucket) if bucket else rng.getrandbits(1)
    return (own ^ d).to_bytes(ID_SIZE, "big")
