"""File type, file format and profile field codes: the reference's values, and unknown codes round-trip."""

from __future__ import annotations

import uuid

from peernet_chain import (
    FileFormat,
    FileRecord,
    FileTag,
    FileType,
    ProfileField,
    ProfileFieldType,
    TagType,
    decode_file_records,
    encode_file_records,
)
from peernet_chain._records import decode_profile_fields, profile_field_record


def test_file_type_values_are_the_reference_ones() -> None:
    names = [
        "BINARY", "TEXT", "PICTURE", "VIDEO", "AUDIO", "DOCUMENT", "EXECUTABLE", "CONTAINER", "COMPRESSED", "FOLDER",
        "EBOOK",
    ]
    assert [member.name for member in FileType] == names
    assert [int(member) for member in FileType] == list(range(len(names)))


def test_file_format_values_are_the_reference_ones() -> None:
    assert len(FileFormat) == 22
    assert FileFormat.PDF == 1 and FileFormat.CSV == 15 and FileFormat.FOLDER == 16
    assert FileFormat.PEERNET_SEARCH == 21
    assert [int(member) for member in FileFormat] == list(range(22))


def test_profile_field_type_values() -> None:
    assert ProfileFieldType.NAME == 0 and ProfileFieldType.TWITTER == 3 and ProfileFieldType.PICTURE == 6
    assert len(ProfileFieldType) == 7


def test_name_of_known_and_unknown_codes() -> None:
    assert FileType.name_of(4) == "AUDIO"
    assert FileType.name_of(200) == "<200>"
    assert FileFormat.name_of(21) == "PEERNET_SEARCH"
    assert ProfileFieldType.name_of(100) == "<100>"


def test_codes_round_trip_through_a_block() -> None:
    file = FileRecord(
        hash=bytes(32), id=uuid.UUID(int=7), merkle_root=bytes(32), fragment_size=262_144,
        file_type=FileType.EBOOK, file_format=FileFormat.PDF, size=0, tags=[FileTag(TagType.NAME, b"book.pdf")],
    )
    (decoded,) = decode_file_records(encode_file_records([file], date=1))
    assert FileType(decoded.file_type) is FileType.EBOOK
    assert FileFormat(decoded.file_format) is FileFormat.PDF
    record = profile_field_record(ProfileField(ProfileFieldType.EMAIL, b"a@example.org"), date=1)
    assert decode_profile_fields([record]) == {ProfileFieldType.EMAIL: b"a@example.org"}
