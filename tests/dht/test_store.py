"""The value store: FIND_VALUE answers, bounds, expiry, republish, provider records."""

from __future__ import annotations

import pytest

from peernet_dht import EMBEDDED_VALUE_MAX, VALUE_SIZE_MAX, Embedded, Miss, Providers, StoreFullError, ValueStore
from peernet_proto import hash_data

from ._helpers import IdNode, node


def test_small_value_is_embedded_large_one_served_as_storing_self() -> None:
    # The reference's limit does not fit next to a long user agent; ours does (see test_service).
    assert VALUE_SIZE_MAX == 65_091 < EMBEDDED_VALUE_MAX
    with pytest.raises(StoreFullError):
        ValueStore().put(b"z" * (VALUE_SIZE_MAX + 1), now=0.0)  # the default limit
    store: ValueStore[IdNode] = ValueStore(max_value_size=2 * VALUE_SIZE_MAX)
    small = store.put(b"x" * VALUE_SIZE_MAX, now=0.0)
    large = store.put(b"y" * (VALUE_SIZE_MAX + 1), now=0.0)
    empty = store.put(b"", now=0.0)
    assert small == hash_data(b"x" * VALUE_SIZE_MAX)
    assert store.answer(small, 1.0) == Embedded(b"x" * VALUE_SIZE_MAX)
    assert store.answer(large, 1.0) == Providers((), self_is_provider=True)
    assert store.answer(empty, 1.0) == Providers((), self_is_provider=True)  # as the reference
    assert store.answer(b"\x00" * 32, 1.0) == Miss()


def test_bounds_by_count_bytes_and_size() -> None:
    store: ValueStore[IdNode] = ValueStore(max_values=2, max_bytes=10, max_value_size=8)
    store.put(b"12345", 0.0)
    with pytest.raises(StoreFullError):
        store.put(b"123456789", 0.0)  # over the size limit
    with pytest.raises(StoreFullError):
        store.put(b"abcdef", 0.0)  # over the byte budget
    store.put(b"abcde", 0.0)
    store.put(b"abcde", 1.0)  # refresh does not count twice
    with pytest.raises(StoreFullError):
        store.put(b"z", 0.0)  # over the count
    assert len(store) == 2 and store.stored_bytes == 10


def test_expiry_and_republish() -> None:
    store: ValueStore[IdNode] = ValueStore(ttl=100.0, republish_interval=30.0)
    key = store.put(b"data", 0.0)
    assert store.due_for_republish(29.0) == []
    assert store.due_for_republish(30.0) == [key]
    store.mark_republished(key, 30.0)
    assert store.due_for_republish(59.0) == []
    assert store.get(key, 99.0) == b"data" and store.get(key, 100.0) is None
    assert store.expire(100.0) == 1 and len(store) == 0 and store.stored_bytes == 0


def test_provider_records_are_bounded_and_expire() -> None:
    store: ValueStore[IdNode] = ValueStore(max_providers_per_key=2, max_providers=3, provider_ttl=10.0)
    key = b"\x01" * 32
    assert store.add_provider(key, node(1), 100, 0, 0.0)
    assert store.add_provider(key, node(2), 100, 0, 1.0)
    assert store.add_provider(key, node(3), 100, 0, 2.0)  # the oldest (1) makes room
    assert store.providers(key, 3.0) == [node(2), node(3)]
    assert store.answer(key, 3.0) == Providers((node(2), node(3)))
    other = b"\x02" * 32
    assert store.add_provider(other, node(4), 1, 1, 3.0)
    assert not store.add_provider(other, node(5), 1, 1, 3.0)  # total bound
    assert store.provider_count == 3
    assert store.expire(11.5) == 1 and store.providers(key, 11.5) == [node(3)]
