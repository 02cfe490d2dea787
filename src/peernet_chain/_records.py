"""Block records: the raw envelope and the typed views (files with tags, profile fields).

Record data layouts follow the reference (spec chain.md §3). Decoders raise only
:class:`BlockDecodeError`; encoders raise :class:`EncodeError` subclasses.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

import attrs

from peernet_proto import EncodeError, MessageTooLargeError

from ._errors import BlockDecodeError

__all__ = [
    "FILE_RECORD_MIN_SIZE",
    "RECORD_HEADER_SIZE",
    "VIRTUAL_TAG_TYPES",
    "FileRecord",
    "FileTag",
    "ProfileField",
    "Record",
    "RecordType",
    "TagType",
    "decode_file_records",
    "decode_profile_fields",
    "encode_file_records",
    "file_size_in_block",
    "profile_field_record",
    "profile_size_in_block",
]

RECORD_HEADER_SIZE: Final = 13
FILE_RECORD_MIN_SIZE: Final = 101
TAG_HEADER_SIZE: Final = 6
_U16_MAX: Final = 0xFFFF
_U32_MAX: Final = 0xFFFF_FFFF
_I64_MIN: Final = -(1 << 63)
_I64_MAX: Final = (1 << 63) - 1
_TAG_REFERENCE_FLAG: Final = 0x8000
_DEDUP_MIN_LENGTH: Final = 5  # only tag data longer than 4 bytes is shared via tag-data records
_FILE_FIXED: Final = struct.Struct("<32s16s32sQBHQH")


class RecordType:
    """Record type codes (u8)."""

    PROFILE: Final = 0
    TAG_DATA: Final = 1
    FILE: Final = 2
    CERTIFICATE: Final = 4
    CONTENT_RATING: Final = 5
    CONTENT_REPORT: Final = 6


class TagType:
    """File tag types (u16, low 15 bits)."""

    NAME: Final = 0
    FOLDER: Final = 1
    DESCRIPTION: Final = 2
    DATE_SHARED: Final = 3
    DATE_CREATED: Final = 4
    SHARED_BY_COUNT: Final = 5
    SHARED_BY_GEO_IP: Final = 6


VIRTUAL_TAG_TYPES: Final = frozenset({TagType.DATE_SHARED, TagType.SHARED_BY_COUNT, TagType.SHARED_BY_GEO_IP})


def _check_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{name} {value} outside {low}..{high}")
    return value


def _u8(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    _check_range(attribute.name, value, 0, 0xFF)


def _u16(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    _check_range(attribute.name, value, 0, _U16_MAX)


def check_u64(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    _check_range(attribute.name, value, 0, (1 << 64) - 1)


def check_hash32(_: object, attribute: attrs.Attribute[bytes], value: bytes) -> None:
    if len(value) != 32:
        raise ValueError(f"{attribute.name} must be 32 bytes, got {len(value)}")


@attrs.frozen
class Record:
    """One record as stored in a block: type (u8), date (Unix seconds, i64) and opaque data."""

    type: int = attrs.field(validator=_u8)
    date: int = attrs.field()
    data: bytes = attrs.field(converter=bytes)

    @date.validator
    def _check_date(self, attribute: attrs.Attribute[int], value: int) -> None:
        _check_range("date", value, _I64_MIN, _I64_MAX)

    @property
    def size_in_block(self) -> int:
        return RECORD_HEADER_SIZE + len(self.data)


@attrs.frozen
class ProfileField:
    """One self-asserted profile field (type u16, data)."""

    type: int = attrs.field(validator=_u16)
    data: bytes = attrs.field(converter=bytes)


@attrs.frozen
class FileTag:
    """A file tag. ``type`` is 15 bits; bit 15 is the on-wire reference flag and never part of it."""

    type: int = attrs.field()
    data: bytes = attrs.field(converter=bytes)

    @type.validator
    def _check_type(self, attribute: attrs.Attribute[int], value: int) -> None:
        _check_range("tag type", value, 0, 0x7FFF)

    @property
    def is_virtual(self) -> bool:
        return self.type in VIRTUAL_TAG_TYPES


def _tag_tuple(tags: Iterable[FileTag]) -> tuple[FileTag, ...]:
    return tuple(tags)


@attrs.frozen
class FileRecord:
    """A published file. ``tags`` keep their order; decoded files end with a DateShared tag."""

    hash: bytes = attrs.field(converter=bytes, validator=check_hash32)
    id: uuid.UUID
    merkle_root: bytes = attrs.field(converter=bytes, validator=check_hash32)
    fragment_size: int = attrs.field(validator=check_u64)
    file_type: int = attrs.field(validator=_u8)
    file_format: int = attrs.field(validator=_u16)
    size: int = attrs.field(validator=check_u64)
    tags: tuple[FileTag, ...] = attrs.field(converter=_tag_tuple, default=())

    def without_virtual_tags(self) -> FileRecord:
        return attrs.evolve(self, tags=tuple(tag for tag in self.tags if not tag.is_virtual))

    @property
    def date_shared(self) -> int | None:
        for tag in reversed(self.tags):
            if tag.type == TagType.DATE_SHARED and len(tag.data) == 8:
                return int.from_bytes(tag.data, "little", signed=True)
        return None


def date_tag(date: int) -> FileTag:
    return FileTag(TagType.DATE_SHARED, date.to_bytes(8, "little", signed=True))


# --- sizes used for block packing (the reference's SizeInBlock) -----------------------------


def file_size_in_block(file: FileRecord) -> int:
    tags = sum(TAG_HEADER_SIZE + len(tag.data) for tag in file.tags if not tag.is_virtual)
    return RECORD_HEADER_SIZE + FILE_RECORD_MIN_SIZE + tags


def profile_size_in_block(field: ProfileField) -> int:
    return RECORD_HEADER_SIZE + 2 + len(field.data)


# --- profile ---------------------------------------------------------------------------------


def profile_field_record(field: ProfileField, date: int) -> Record:
    return Record(RecordType.PROFILE, date, field.type.to_bytes(2, "little") + field.data)


def decode_profile_fields(records: Sequence[Record]) -> dict[int, bytes]:
    """Profile fields of a block's records; the last occurrence of a type wins."""
    fields: dict[int, bytes] = {}
    for record in records:
        if record.type != RecordType.PROFILE:
            continue
        if len(record.data) < 2:
            raise BlockDecodeError("profile record invalid size")
        fields[int.from_bytes(record.data[:2], "little")] = record.data[2:]
    return fields


# --- files -----------------------------------------------------------------------------------


def _signed_le(value: int) -> bytes:
    """Smallest of i16 / i32 / i64 that holds ``value``, as the reference picks it."""
    for width in (2, 4, 8):
        bound = 1 << (width * 8 - 1)
        if -bound <= value < bound:
            return value.to_bytes(width, "little", signed=True)
    raise MessageTooLargeError(f"tag reference distance {value} does not fit in 64 bits")


def encode_file_records(
    files: Sequence[FileRecord], date: int, *, file_dates: Sequence[int] | None = None
) -> list[Record]:
    """Encode one block's worth of files the way the reference does (spec §3.5).

    Tag data longer than 4 bytes seen in two or more tags (virtual ones included, as in the
    reference) goes once into a tag-data record placed before the files; the tags then refer back
    to it. ``date`` stamps every record; ``file_dates`` (one per file) overrides it for file records.
    """
    if file_dates is not None and len(file_dates) != len(files):
        raise EncodeError("file_dates must have one date per file")
    seen: set[bytes] = set()
    shared_index: dict[bytes, int] = {}
    records: list[Record] = []
    for file in files:
        for tag in file.tags:
            if len(tag.data) < _DEDUP_MIN_LENGTH:
                continue
            if tag.data not in seen:
                seen.add(tag.data)
            elif tag.data not in shared_index:
                shared_index[tag.data] = len(records)
                records.append(Record(RecordType.TAG_DATA, date, tag.data))

    for position, file in enumerate(files):
        own_index = len(records)
        parts: list[bytes] = []
        tag_count = 0
        for tag in file.tags:
            if tag.is_virtual:
                continue
            shared = shared_index.get(tag.data) if len(tag.data) >= _DEDUP_MIN_LENGTH else None
            if shared is not None:
                tag_type, payload = tag.type | _TAG_REFERENCE_FLAG, _signed_le(shared - own_index)
            else:
                tag_type, payload = tag.type, tag.data
            if len(payload) > _U32_MAX:
                raise MessageTooLargeError("tag data larger than 4 GiB")
            parts.append(struct.pack("<HI", tag_type, len(payload)))
            parts.append(payload)
            tag_count += 1
        if tag_count > _U16_MAX:
            raise MessageTooLargeError(f"{tag_count} tags exceed the 65535 per file")
        fixed = _FILE_FIXED.pack(
            file.hash,
            file.id.bytes,
            file.merkle_root,
            file.fragment_size,
            file.file_type,
            file.file_format,
            file.size,
            tag_count,
        )
        record_date = date if file_dates is None else file_dates[position]
        records.append(Record(RecordType.FILE, record_date, fixed + b"".join(parts)))
    return records


def _resolve_reference(records: Sequence[Record], own_index: int, payload: bytes) -> bytes:
    if len(payload) not in (2, 4, 8):
        raise BlockDecodeError("file record tag reference invalid size")
    target = own_index + int.from_bytes(payload, "little", signed=True)
    if not 0 <= target < len(records):
        raise BlockDecodeError("file record tag reference not available")
    if records[target].type != RecordType.TAG_DATA:
        raise BlockDecodeError("file record tag reference invalid")
    return records[target].data


def _file_tags(records: Sequence[Record], index: int) -> Iterator[tuple[int, bytes]]:
    """(tag type, data) of each tag of the file record at ``index``, references resolved."""
    data = records[index].data
    if len(data) < FILE_RECORD_MIN_SIZE:
        raise BlockDecodeError("file record invalid size")
    offset = FILE_RECORD_MIN_SIZE
    for _ in range(int.from_bytes(data[99:101], "little")):
        if offset + TAG_HEADER_SIZE > len(data):
            raise BlockDecodeError("file record tag header exceeds record")
        raw_type, length = struct.unpack_from("<HI", data, offset)
        start = offset + TAG_HEADER_SIZE
        if start + length > len(data):
            raise BlockDecodeError("file record tag data invalid size")
        payload = data[start : start + length]
        if raw_type & _TAG_REFERENCE_FLAG:
            payload = _resolve_reference(records, index, payload)
        yield raw_type & 0x7FFF, payload
        offset = start + length


def decode_file_record(records: Sequence[Record], index: int) -> FileRecord:
    """Decode the file record at ``index``, resolving references into the same record list."""
    record = records[index]
    data = record.data
    if len(data) < FILE_RECORD_MIN_SIZE:
        raise BlockDecodeError("file record invalid size")
    file_hash, file_id, root, fragment, file_type, file_format, size, _ = _FILE_FIXED.unpack_from(data)
    tags = [FileTag(tag_type, payload) for tag_type, payload in _file_tags(records, index)]
    tags.append(date_tag(record.date))
    return FileRecord(
        hash=file_hash,
        id=uuid.UUID(bytes=file_id),
        merkle_root=root,
        fragment_size=fragment,
        file_type=file_type,
        file_format=file_format,
        size=size,
        tags=tags,
    )


def check_file_records(records: Sequence[Record]) -> None:
    """Raise :class:`BlockDecodeError` where :func:`decode_file_records` would, building nothing."""
    for index, record in enumerate(records):
        if record.type != RecordType.FILE:
            continue
        for _ in _file_tags(records, index):
            pass


def decode_file_records(records: Sequence[Record]) -> list[FileRecord]:
    """Every file record of a block, in order, each ending with its DateShared tag."""
    return [
        decode_file_record(records, i) for i, record in enumerate(records) if record.type == RecordType.FILE
    ]


def records_size(records: Iterable[Record]) -> int:
    return sum(record.size_in_block for record in records)
