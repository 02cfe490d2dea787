"""Network-search extension payload: round trips, typed errors, fuzzing; the keyword store."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import (
    FEATURE_KEYWORD_SEARCH,
    IndexedFile,
    KeywordEntry,
    KeywordStore,
    PayloadKind,
    SearchPayload,
    SearchPayloadError,
    SearchPayloadTruncatedError,
    decode_search_payload,
    encode_search_payload,
    entries_for_file,
    file_keywords,
    fit_entries,
    query_keywords,
    word_hash,
)
from peernet_proto import DecodeError, EncodeError, TruncatedError

entries = st.builds(
    KeywordEntry,
    keyword=st.binary(min_size=32, max_size=32),
    file_id=st.binary(min_size=16, max_size=16),
    owner=st.tuples(st.sampled_from([b"\x02", b"\x03"]), st.binary(min_size=32, max_size=32)).map(b"".join),
    file_hash=st.binary(min_size=32, max_size=32),
    size=st.integers(0, 2**64 - 1),
    name=st.text(max_size=40),
)
payloads = st.one_of(
    st.builds(
        SearchPayload,
        st.sampled_from([PayloadKind.PUBLISH, PayloadKind.RESULTS]),
        st.lists(entries, max_size=8).map(tuple),
    ),
    st.builds(
        lambda keywords, limit: SearchPayload(PayloadKind.QUERY, keywords=tuple(keywords), max_results=limit),
        st.lists(st.binary(min_size=32, max_size=32), max_size=20),
        st.integers(0, 2**16 - 1),
    ),
    st.builds(lambda n: SearchPayload(PayloadKind.STORED, stored=n), st.integers(0, 128)),
)


@given(payloads)
def test_round_trip(payload: SearchPayload) -> None:
    assert decode_search_payload(encode_search_payload(payload)) == payload


@given(payloads, st.data())
def test_every_truncation_is_a_truncated_error(payload: SearchPayload, data: st.DataObject) -> None:
    encoded = encode_search_payload(payload)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(TruncatedError):
        decode_search_payload(encoded[:cut])


@given(st.binary(max_size=400))
def test_fuzz_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_search_payload(data)


@given(payloads, st.data())
def test_fuzz_mutated_payloads_only_decode_errors(payload: SearchPayload, data: st.DataObject) -> None:
    encoded = bytearray(encode_search_payload(payload))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode_search_payload(bytes(encoded))


def test_specific_errors() -> None:
    with pytest.raises(SearchPayloadError):
        decode_search_payload(b"XYZ\x01\x01\x00\x00")
    with pytest.raises(SearchPayloadError):
        decode_search_payload(b"PNS\x01\x09\x00\x00")  # unknown kind
    with pytest.raises(SearchPayloadError):
        decode_search_payload(b"PNS\x01\x01\xff\xff")  # too many items
    with pytest.raises(SearchPayloadTruncatedError):
        decode_search_payload(b"PNS\x01\x02\x01\x00\x05\x00")
    with pytest.raises(EncodeError):
        encode_search_payload(SearchPayload(PayloadKind.QUERY, keywords=(b"\x00" * 32,) * 129))
    assert FEATURE_KEYWORD_SEARCH == 8  # feature bit 3, reserved in the reference


def entry(keyword: bytes, n: int, owner: bytes = b"\x02" + b"o" * 32) -> KeywordEntry:
    return KeywordEntry(keyword, n.to_bytes(16, "big"), owner, b"h" * 32, n, f"file {n}")


def test_keyword_store_bounds_and_expiry() -> None:
    red = word_hash("red")
    assert red is not None
    store = KeywordStore(max_entries=4, max_per_keyword=2, max_per_owner=3, ttl=10.0)
    assert store.publish([entry(red[0], 1), entry(red[0], 2), entry(red[0], 3)], 0.0) == 3
    assert [e.size for e in store.query([red[0]], 1.0)] == [3, 2]  # newest first, oldest dropped
    other_owner = b"\x03" + b"p" * 32
    assert store.publish([entry(b"k" * 32, 4), entry(b"k" * 32, 5), entry(b"j" * 32, 6, other_owner)], 1.0) == 2
    assert len(store) == 4  # owner bound refused file 5
    assert store.publish([entry(b"q" * 32, 7, other_owner)], 1.0) == 0  # total bound
    assert store.query([red[0]], 1.0, max_results=1) == [entry(red[0], 3)]
    assert store.expire(10.5) == 2 and store.expire(11.0) == 2 and len(store) == 0


def test_query_keywords_match_the_local_index_rules() -> None:
    expected = {word_hash(w)[0] for w in ("holidaypictures", "holiday", "pictures")}  # type: ignore[index]
    assert set(query_keywords("HolidayPictures")) == expected


def test_stored_acknowledgement_is_a_bare_header() -> None:
    assert encode_search_payload(SearchPayload(PayloadKind.STORED, stored=5)) == b"PNS\x01\x04\x05\x00"
    with pytest.raises(EncodeError):
        encode_search_payload(SearchPayload(PayloadKind.STORED, stored=129))
    with pytest.raises(SearchPayloadError):
        decode_search_payload(b"PNS\x01\x04\x81\x00")  # more than a PUBLISH can carry


def test_entries_for_file_and_fitting_into_one_payload() -> None:
    owner = b"\x02" + b"o" * 32
    long_name = "Ü" * 200 + ".txt"  # 404 UTF-8 bytes
    file = IndexedFile(b"f" * 16, owner, long_name, "docs", "some words here", file_hash=b"h" * 32, size=7)
    entries = entries_for_file(file)
    assert {e.keyword for e in entries} == set(file_keywords(long_name, "docs", "some words here"))
    assert all(e.name == "Ü" * 127 and e.size == 7 and e.file_hash == b"h" * 32 for e in entries)  # cut whole
    assert len(entries_for_file(file, max_keywords=2)) == 2
    many = [KeywordEntry(bytes([i]) * 32, bytes(16), owner, bytes(32), i, "x" * 255) for i in range(128)]
    fitted = fit_entries(many)
    assert 0 < len(fitted) < 128
    encoded = encode_search_payload(SearchPayload(PayloadKind.RESULTS, tuple(fitted)))
    assert len(encoded) <= 32_768
    with pytest.raises(EncodeError):
        encode_search_payload(SearchPayload(PayloadKind.RESULTS, tuple(many[: len(fitted) + 1])))
    assert fit_entries(many, max_items=3) == many[:3]
