"""The block codec (spec chain.md §2): 119-byte header, records, compact owner signature.

Decoding is stricter than the reference where strictness removes malleability without rejecting
anything a reference node produces: the signature header byte must be 31..34 and s must be low,
and no bytes may follow the last record. Every accepted block therefore re-encodes to the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from peernet_proto import (
    EncodeError,
    MessageTooLargeError,
    PrivateKey,
    PublicKey,
    SignatureError,
    hash_data,
    recover_compact,
)

from ._errors import BlockDecodeError, BlockSignatureError
from ._records import (
    RECORD_HEADER_SIZE,
    FileRecord,
    Record,
    check_file_records,
    check_hash32,
    check_u64,
    decode_file_records,
    decode_profile_fields,
)

__all__ = [
    "BLOCK_HEADER_SIZE",
    "ZERO_HASH",
    "Block",
    "block_hash",
    "decode_block",
    "encode_block",
    "encoded_block_size",
]

#: Bytes before a block's first record: signature, previous-block hash, version, number, size and record count.
BLOCK_HEADER_SIZE: Final = 119
SIGNATURE_SIZE: Final = 65
#: The previous-block hash of block 0 (32 zero bytes).
ZERO_HASH: Final = bytes(32)
_HEADER_AFTER_SIGNATURE: Final = struct.Struct("<32sQQIH")
_RECORD_HEADER: Final = struct.Struct("<BqI")
_CURVE_HALF_ORDER: Final = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_MAX_RECORDS: Final = 0xFFFF
_MAX_BLOCK_SIZE: Final = 0xFFFF_FFFF


def _record_tuple(records: Iterable[Record]) -> tuple[Record, ...]:
    return tuple(records)


@attrs.frozen
class Block:
    """One block of a user's chain. ``owner`` is the key that signed (or is to sign) it."""

    owner: PublicKey
    number: int = attrs.field(validator=check_u64)
    version: int = attrs.field(validator=check_u64)
    previous_hash: bytes = attrs.field(converter=bytes, validator=check_hash32)
    records: tuple[Record, ...] = attrs.field(converter=_record_tuple)

    def files(self) -> list[FileRecord]:
        """The file records of this block (tag references resolved, DateShared appended)."""
        return decode_file_records(self.records)

    def profile(self) -> dict[int, bytes]:
        """Profile fields set in this block (last occurrence of a type wins)."""
        return decode_profile_fields(self.records)


def block_hash(raw: bytes) -> bytes:
    """The hash the next block links to: BLAKE3 of the whole raw block, signature included."""
    return hash_data(raw)


def encoded_block_size(records: Sequence[Record]) -> int:
    return BLOCK_HEADER_SIZE + sum(RECORD_HEADER_SIZE + len(record.data) for record in records)


def encode_block(block: Block, owner: PrivateKey) -> bytes:
    """Serialise and sign ``block`` with ``owner`` (which must be ``block.owner``)."""
    if owner.public_key != block.owner:
        raise EncodeError("the signing key is not the block owner")
    if len(block.records) > _MAX_RECORDS:
        raise MessageTooLargeError(f"{len(block.records)} records exceed the 65535 per block")
    size = encoded_block_size(block.records)
    if size > _MAX_BLOCK_SIZE:
        raise MessageTooLargeError(f"block of {size} bytes exceeds the 4 GiB format limit")
    parts = [
        _HEADER_AFTER_SIGNATURE.pack(
            block.previous_hash, block.version, block.number, size, len(block.records)
        )
    ]
    for record in block.records:
        parts.append(_RECORD_HEADER.pack(record.type, record.date, len(record.data)))
        parts.append(record.data)
    body = b"".join(parts)
    return owner.sign_compact(hash_data(body)) + body


def _recover_owner(raw: bytes) -> PublicKey:
    signature = raw[:SIGNATURE_SIZE]
    if not 31 <= signature[0] <= 34:
        raise BlockSignatureError(f"signature header byte {signature[0]} is not canonical (31..34)")
    if int.from_bytes(signature[33:65], "big") > _CURVE_HALF_ORDER:
        raise BlockSignatureError("signature is not low-S")
    try:
        return recover_compact(signature, hash_data(raw[SIGNATURE_SIZE:]))
    except SignatureError as exc:
        raise BlockSignatureError(str(exc)) from exc


def decode_block_header(raw: bytes) -> tuple[bytes, int, int, int, int]:
    """(previous hash, version, number, size, record count) without checking the signature."""
    if len(raw) < BLOCK_HEADER_SIZE:
        raise BlockDecodeError(f"block of {len(raw)} bytes is shorter than the 119-byte header")
    previous, version, number, size, count = _HEADER_AFTER_SIGNATURE.unpack_from(raw, SIGNATURE_SIZE)
    return previous, version, number, size, count


def decode_block(raw: bytes) -> Block:
    """Decode and check a raw block; the owner is the key recovered from the signature.

    Raises only :class:`BlockDecodeError` (and its subclass :class:`BlockSignatureError`).
    """
    raw = bytes(raw)
    previous, version, number, size, count = decode_block_header(raw)
    if size != len(raw):
        raise BlockDecodeError(f"block size field {size} does not match length {len(raw)}")
    records: list[Record] = []
    offset = BLOCK_HEADER_SIZE
    for _ in range(count):
        if offset + RECORD_HEADER_SIZE > size:
            raise BlockDecodeError("record header exceeds block size")
        record_type, date, length = _RECORD_HEADER.unpack_from(raw, offset)
        offset += RECORD_HEADER_SIZE
        if offset + length > size:
            raise BlockDecodeError("record data exceeds block size")
        records.append(Record(record_type, date, raw[offset : offset + length]))
        offset += length
    if offset != size:
        raise BlockDecodeError(f"{size - offset} bytes after the last record")
    owner = _recover_owner(raw)
    # Typed records must parse (the reference's full decode does the same).
    check_file_records(records)
    decode_profile_fields(records)
    return Block(owner=owner, number=number, version=version, previous_hash=previous, records=records)
