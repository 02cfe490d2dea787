"""Sharing: warehouse import, merkle tree, file record on the own chain; type and format detection."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from peernet._filetypes import detect_file_type
from peernet._share import FileMetadata, share_file, unshare_files, update_file
from peernet_chain import MINIMUM_FRAGMENT_SIZE, TagType, Warehouse

from ._helpers import key, open_chain


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("report.PDF", b"", (5, 1)),
        ("C:\\Users\\me\\song.mp3", b"", (4, 6)),
        ("movie.mkv", b"", (3, 7)),
        ("setup.msi", b"", (6, 18)),
        ("notes", b"just some text\n", (1, 10)),
        ("picture", b"\x89PNG\r\n\x1a\n" + bytes(20), (2, 5)),
        ("document", b"%PDF-1.7\n", (5, 1)),
        ("archive", b"PK\x03\x04" + bytes(30), (7, 8)),
        ("page", b"  <!DOCTYPE html><html>", (1, 9)),
        ("blob", bytes(range(256)), (0, 0)),
        ("data.unknownext", b"%PDF-1.4", (5, 1)),
    ],
)
def test_detect_file_type(name: str, head: bytes, expected: tuple[int, int]) -> None:
    assert detect_file_type(name, head) == expected


def test_share_puts_file_in_warehouse_and_record_in_chain(tmp_path: Path) -> None:
    owner = key(1)
    warehouse = Warehouse(tmp_path / "warehouse")
    content = os.urandom(3 * MINIMUM_FRAGMENT_SIZE + 100)
    source = tmp_path / "holiday.mp4"
    source.write_bytes(content)
    with open_chain(tmp_path / "chain", owner) as chain:
        shared = share_file(chain, warehouse, source, 1_700_000_000, FileMetadata(folder="videos", description="#sea"))
        assert chain.height == 1 and shared.state.height == 1
        (record,) = chain.files()
        assert record.id == shared.record.id and record.hash == blake3.blake3(content).digest()
        assert (record.file_type, record.file_format, record.size) == (3, 7, len(content))
        tree = warehouse.merkle_tree(record.hash)
        assert record.merkle_root == tree.root_hash != record.hash and record.fragment_size == MINIMUM_FRAGMENT_SIZE
        tags = {tag.type: tag.data for tag in record.tags}
        assert tags[TagType.NAME] == b"holiday.mp4" and tags[TagType.FOLDER] == b"videos"
        assert record.date_shared == 1_700_000_000
        assert warehouse.read(record.hash, 0, len(content)) == content
        chain.validate()

        # the same content again: one warehouse file, two records
        copy = tmp_path / "copy"
        copy.write_bytes(content)
        second = share_file(chain, warehouse, copy, 1_700_000_100, FileMetadata(name="again.bin"))
        assert list(warehouse) == [record.hash] and chain.height == 2
        assert (second.record.file_type, second.record.file_format) == (0, 0)  # random bytes, unknown extension
        # deleting one record keeps the content the other still uses
        unshare_files(chain, warehouse, [record.id], delete_content=True)
        assert list(warehouse) == [record.hash] and [f.id for f in chain.files()] == [second.record.id]
        unshare_files(chain, warehouse, [second.record.id], delete_content=True)
        assert list(warehouse) == [] and chain.files() == [] and chain.version == 2


def test_small_file_root_is_its_hash_and_update_renames(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello peernet")
    with open_chain(tmp_path / "chain", key(2)) as chain:
        shared = share_file(chain, warehouse, source, 100)
        assert shared.record.merkle_root == shared.record.hash
        assert (shared.record.file_type, shared.record.file_format) == (1, 10)
        updated = update_file(chain, shared.record.id, FileMetadata(name="b.txt", folder="docs"), 200)
        (record,) = chain.files()
        assert record.id == shared.record.id == updated.id and record.hash == shared.record.hash
        assert {t.type: t.data for t in record.tags}[TagType.NAME] == b"b.txt"
        assert (record.file_type, record.file_format) == (1, 10)
        with pytest.raises(KeyError):
            update_file(chain, updated.id.__class__(int=5), FileMetadata(), 300)
