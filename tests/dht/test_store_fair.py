"""Fair keyword and provider stores: nearness, per-publisher and per-prefix quotas, fair eviction."""

from __future__ import annotations

import hashlib

from peernet_dht import FairKeywordStore, FairShare, KeywordEntry, ValueStore, near_by_rank

from ._helpers import IdNode, node


def _owner(number: int) -> bytes:
    return b"\x02" + hashlib.sha256(b"owner%d" % number).digest()


def _entry(owner: int, number: int) -> KeywordEntry:
    keyword = hashlib.sha256(b"kw%d" % (number % 500)).digest()
    return KeywordEntry(keyword, number.to_bytes(16, "big"), _owner(owner), bytes(32), 1, "f")


def _flood(store: FairKeywordStore, identities: int, per_identity: int, prefix: bytes | None, now: float) -> int:
    accepted = 0
    for identity in range(identities):
        source = prefix if prefix is not None else b"net%d" % identity
        accepted += store.publish([_entry(identity, n) for n in range(per_identity)], now, source=source)
    return accepted


def test_throwaway_identities_from_one_prefix_get_one_prefix_share() -> None:
    store = FairKeywordStore(max_entries=10_000)
    assert _flood(store, 21, 5_000, b"203.0.113", 0.0) == 500 == len(store)  # 5 % per prefix
    assert sum(store.refused.values()) == 21 * 5_000 - 500 and store.refused["prefix_quota"] > 0
    honest = store.publish([_entry(1000, n) for n in range(50)], 1.0, source=b"198.51.100")
    assert honest == 50


def test_throwaway_identities_from_many_prefixes_cannot_keep_others_out() -> None:
    store = FairKeywordStore(max_entries=2_000, max_per_prefix=2_000)
    assert _flood(store, 21, 5_000, None, 0.0) == 21 * 20  # each identity is capped at 1 %, not 100 %
    assert max(store.entries_of(_owner(i)) for i in range(21)) == store.max_per_publisher == 20
    # the flood went on with more identities: the store is full, yet newcomers take places
    _flood(store, 400, 20, None, 0.0)
    assert len(store) == 2_000
    honest = [store.publish([_entry(5000 + i, n) for n in range(10)], 1.0, source=b"h%d" % i) for i in range(20)]
    # 420 publishers share 2 000 places: about 4.8 each; newcomers get that much, nobody holds more than 6
    assert all(count >= 4 for count in honest)
    assert max(store.entries_of(_owner(i)) for i in range(400)) <= 6
    assert len(store) == 2_000


def test_keyword_bucket_is_shared_fairly() -> None:
    store = FairKeywordStore(max_entries=1_000, max_per_keyword=10, max_per_publisher=100)
    keyword = b"\x07" * 32

    def entry(owner: int, number: int) -> KeywordEntry:
        return KeywordEntry(keyword, number.to_bytes(16, "big"), _owner(owner), bytes(32), 1, "")

    assert store.publish([entry(1, n) for n in range(30)], 0.0) == 10  # the keyword is full at 10
    assert store.publish([entry(2, n) for n in range(5)], 0.0) == 5  # the large publisher makes room
    assert len(store.query([keyword], 1.0)) == 10
    assert store.entries_of(_owner(1)) == 5 and store.entries_of(_owner(2)) == 5


def test_only_keywords_this_node_is_near_are_kept() -> None:
    store = FairKeywordStore(near=lambda keyword: keyword[0] < 0x80)
    near = KeywordEntry(b"\x01" * 32, bytes(16), _owner(1), bytes(32), 1, "")
    far = KeywordEntry(b"\xff" * 32, bytes(16), _owner(1), bytes(32), 1, "")
    assert store.publish([near, far], 0.0) == 1 and store.refused == {"not_near": 1}
    assert store.query([near.keyword, far.keyword], 1.0) == [near]
    assert store.expire(24 * 3600.0 + 1) == 1 and len(store) == 0


def test_refresh_does_not_count_twice_and_expiry_frees_quota() -> None:
    store = FairKeywordStore(max_entries=100, max_per_publisher=3, ttl=10.0)
    entries = [_entry(1, n) for n in range(3)]
    assert store.publish(entries, 0.0) == 3 and store.publish(entries, 5.0) == 3
    assert store.entries_of(_owner(1)) == 3 and store.publish([_entry(1, 9)], 5.0) == 0
    assert store.expire(16.0) == 3 and store.publish([_entry(1, 9)], 16.0) == 1


def test_near_by_rank() -> None:
    own = bytes(32)
    contacts = [bytes([b]) + bytes(31) for b in (0x10, 0x20, 0x30)]

    def closest(key: bytes, count: int) -> list[bytes]:
        return sorted(contacts, key=lambda c: int.from_bytes(c, "big") ^ int.from_bytes(key, "big"))[:count]

    near = near_by_rank(own, closest, k=2)
    assert near(bytes(32))  # we are the closest
    assert near(b"\x08" + bytes(31))  # one contact nearer: rank 2 of k=2
    assert not near(b"\x30" + bytes(31))  # 0x30, 0x20 and 0x10 are all nearer than 0x00


def test_one_identity_cannot_fill_the_provider_records() -> None:
    store: ValueStore[IdNode] = ValueStore(max_providers=640, max_providers_per_key=20)
    flooder = node(1)
    accepted = sum(store.add_provider(i.to_bytes(32, "big"), flooder, 1, 0, 0.0) for i in range(10_000))
    assert accepted == 10 == store.max_providers_per_publisher  # 640 // 64
    others = sum(store.add_provider(b"\x05" * 32, node(2 + i), 1, 0, 0.0, source=b"p%d" % i) for i in range(20))
    assert others == 20
    # a prefix quota: many identities behind one prefix
    limited = sum(store.add_provider(b"\x06" * 32, node(100 + i), 1, 0, 0.0, source=b"same") for i in range(100))
    assert limited == 100 and len(store.providers(b"\x06" * 32, 1.0)) == 20  # the oldest of a key makes room
    more = sum(
        store.add_provider(i.to_bytes(32, "big"), node(300 + i), 1, 0, 0.0, source=b"same") for i in range(100, 200)
    )
    assert more == store.max_providers_per_prefix - 20 == 20


def test_full_provider_store_evicts_the_largest_publisher() -> None:
    store: ValueStore[IdNode] = ValueStore(max_providers=10, max_providers_per_publisher=8)
    assert sum(store.add_provider(i.to_bytes(32, "big"), node(1), 1, 0, 0.0) for i in range(8)) == 8
    assert store.add_provider(b"\x09" * 32, node(2), 1, 0, 0.0) and store.add_provider(b"\x0a" * 32, node(3), 1, 0, 0.0)
    assert store.provider_count == 10
    assert store.add_provider(b"\x0b" * 32, node(4), 1, 0, 0.0)  # evicts the oldest record of node 1
    assert store.providers((0).to_bytes(32, "big"), 1.0) == [] and store.provider_count == 10
    assert store.expire(10**9) == 10 and store.provider_count == 0
    refused = ValueStore[IdNode](near=lambda key: False)
    assert not refused.add_provider(b"\x01" * 32, node(1), 1, 0, 0.0)


def test_fair_share_tracks_the_largest() -> None:
    share = FairShare()
    for holder, times in ((b"a", 3), (b"b", 5), (b"c", 1)):
        for _ in range(times):
            share.add(holder)
    assert share.largest() == b"b" and share.count(b"b") == 5
    for _ in range(3):
        share.remove(b"b")
    assert share.largest() == b"a" and len(share) == 3
    for holder in (b"a", b"a", b"a", b"b", b"b", b"c"):
        share.remove(holder)
    assert share.largest() is None and len(share) == 0
