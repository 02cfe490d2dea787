"""Refresh targets in the parts of under-filled buckets."""

import random

from peernet_dht import RoutingTable, bucket_index
from tests.dht._helpers import IdNode, node


def test_every_part_of_an_under_filled_bucket_gets_one_target():
    rng = random.Random(5)
    own = bytes(32)
    table: RoutingTable[IdNode] = RoutingTable(own, k=20)
    # Six contacts in bucket 200, two in bucket 100, twenty (full) in bucket 150.
    for bucket, count in ((200, 6), (100, 2), (150, 20)):
        for _ in range(count):
            d = 1 << bucket | rng.getrandbits(bucket)
            table.add(node(d), 0.0)
    targets = table.subrange_targets(rng, split_bits=3, min_size=5)
    assert len(targets) == 8
    assert {bucket_index(own, t) for t in targets} == {200}
    parts = sorted((int.from_bytes(t, "big") >> 197) & 0b111 for t in targets)
    assert parts == list(range(8))
