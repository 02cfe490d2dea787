"""Forged, corrupted and mixed chains are rejected with a reason."""

from __future__ import annotations

import pytest
from chain_helpers import sample_file

from peernet_chain import (
    ZERO_HASH,
    Block,
    ChainValidationError,
    ChainValidator,
    Record,
    block_hash,
    decode_block,
    encode_block,
    pack_files,
    validate_chain,
)
from peernet_proto import PrivateKey

OWNER = PrivateKey.from_bytes(bytes(31) + b"\x21")
MALLORY = PrivateKey.from_bytes(bytes(31) + b"\x22")


def build_chain(key: PrivateKey, version: int, count: int, *, salt: int = 0) -> list[bytes]:
    raws: list[bytes] = []
    previous = ZERO_HASH
    for number in range(count):
        records = pack_files([sample_file(number + salt)], 1_700_000_000 + number)[0]
        raw = encode_block(Block(key.public_key, number, version, previous, records), key)
        raws.append(raw)
        previous = block_hash(raw)
    return raws


CHAIN = build_chain(OWNER, 3, 5)


def _resign(raw: bytes, key: PrivateKey, **changes: object) -> bytes:
    block = decode_block(raw)
    fields = {
        "owner": key.public_key,
        "number": block.number,
        "version": block.version,
        "previous_hash": block.previous_hash,
        "records": block.records,
        **changes,
    }
    return encode_block(Block(**fields), key)  # type: ignore[arg-type]


def _reason(raws: list[bytes], **kwargs: object) -> str:
    with pytest.raises(ChainValidationError) as info:
        validate_chain(OWNER.public_key, 3, raws, **kwargs)  # type: ignore[arg-type]
    return info.value.reason


def test_valid_chain_passes() -> None:
    blocks = validate_chain(OWNER.public_key, 3, CHAIN, expected_height=5)
    assert [b.number for b in blocks] == list(range(5))


def test_block_signed_by_someone_else() -> None:
    forged = [*CHAIN[:2], _resign(CHAIN[2], MALLORY), *CHAIN[3:]]
    assert _reason(forged) == "owner"


def test_replayed_block_of_another_user() -> None:
    other = build_chain(MALLORY, 3, 5)
    assert _reason([other[0], *CHAIN[1:]]) == "owner"


def test_gap() -> None:
    assert _reason([*CHAIN[:2], *CHAIN[3:]]) == "number"


def test_reordered() -> None:
    assert _reason([CHAIN[0], CHAIN[2], CHAIN[1], *CHAIN[3:]]) == "number"


def test_broken_link_even_when_signed_by_owner() -> None:
    relinked = _resign(CHAIN[3], OWNER, previous_hash=bytes([1]) * 32)
    assert _reason([*CHAIN[:3], relinked, CHAIN[4]]) == "link"
    # block 0 must carry the zero hash
    assert _reason([_resign(CHAIN[0], OWNER, previous_hash=bytes([2]) * 32)]) == "link"


def test_mixed_versions() -> None:
    newer = build_chain(OWNER, 4, 5)
    assert _reason([*CHAIN[:2], *newer[2:]]) == "version"


def test_same_version_fork_does_not_link() -> None:
    fork = build_chain(OWNER, 3, 5, salt=100)
    assert _reason([*CHAIN[:2], *fork[2:]]) == "link"


def test_truncated_block_and_truncated_chain() -> None:
    assert _reason([*CHAIN[:2], CHAIN[2][:-1]]) == "decode"
    assert _reason(CHAIN[:4], expected_height=5) == "height"


def test_oversize_block() -> None:
    big = encode_block(Block(OWNER.public_key, 0, 3, ZERO_HASH, [Record(9, 0, bytes(60_000))]), OWNER)
    assert _reason([big]) == "size"
    assert len(validate_chain(OWNER.public_key, 3, [big], max_block_size=70_000)) == 1


def test_validator_continues_a_cached_prefix() -> None:
    validator = ChainValidator(OWNER.public_key, 3, next_number=2, previous_hash=block_hash(CHAIN[1]))
    assert [validator.check(raw).number for raw in CHAIN[2:]] == [2, 3, 4]
    stale = ChainValidator(OWNER.public_key, 3, next_number=2, previous_hash=block_hash(CHAIN[0]))
    with pytest.raises(ChainValidationError) as info:
        stale.check(CHAIN[2])
    assert info.value.reason == "link" and info.value.number == 2
