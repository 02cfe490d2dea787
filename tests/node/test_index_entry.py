"""index_entry: a chain's file record becomes a search entry the local index finds by its keywords."""

from __future__ import annotations

import uuid

import pytest

from peernet import index_entry
from peernet_chain import FileFormat, FileRecord, FileTag, FileType, TagType, decode_file_records, encode_file_records
from peernet_dht import LocalIndex
from peernet_proto import PrivateKey, hash_data


def _record(*tags: FileTag) -> FileRecord:
    content = b"holiday photos"
    return FileRecord(
        hash=hash_data(content), id=uuid.UUID(int=42), merkle_root=hash_data(content), fragment_size=262_144,
        file_type=FileType.PICTURE, file_format=FileFormat.PICTURE, size=len(content), tags=tags,
    )


def test_fields_come_from_the_record_and_its_tags() -> None:
    owner = PrivateKey.generate().public_key
    record = _record(
        FileTag(TagType.NAME, b"Beach.jpg"), FileTag(TagType.FOLDER, b"pictures\\2024"),
        FileTag(TagType.DESCRIPTION, b"Sommer am Meer #urlaub"),
    )
    entry = index_entry(owner, record, blockchain_version=3, block_number=5, own=True)
    assert entry.owner == owner.to_bytes() and entry.file_id == record.id.bytes
    assert (entry.name, entry.folder, entry.description) == ("Beach.jpg", "pictures\\2024", "Sommer am Meer #urlaub")
    assert (entry.blockchain_version, entry.block_number, entry.own) == (3, 5, True)
    assert entry.file_hash == record.hash and entry.size == len(b"holiday photos")
    assert index_entry(owner.to_bytes(), record) == index_entry(owner, record)


def test_last_tag_wins_missing_tags_are_empty_and_bad_utf8_stays_bytes() -> None:
    owner = PrivateKey.generate().public_key.to_bytes()
    entry = index_entry(owner, _record(FileTag(TagType.NAME, b"first"), FileTag(TagType.NAME, b"second\xff")))
    assert entry.name == b"second\xff"
    assert entry.folder == "" and entry.description == ""


def test_a_decoded_record_is_found_by_the_local_index() -> None:
    owner = PrivateKey.generate().public_key
    record = _record(FileTag(TagType.NAME, b"HolidayPhotos.zip"), FileTag(TagType.DESCRIPTION, b"beach trip"))
    (decoded,) = decode_file_records(encode_file_records([record], date=1_700_000_000))
    index = LocalIndex()
    assert index.add(index_entry(owner, decoded))
    (hit,) = index.search("photos")
    assert hit.file.file_id == record.id.bytes and hit.file.owner == owner.to_bytes()
    assert index.search("beach") and not index.search("mountain")


def test_owner_must_be_a_compressed_key() -> None:
    with pytest.raises(ValueError):
        index_entry(b"\x02" * 32, _record())
