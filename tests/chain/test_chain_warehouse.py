"""The warehouse: layout, streaming import in bounded memory, de-duplication, merkle companion, ranges."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import blake3
import pytest
from chain_helpers import counter_stream, load_vectors

from peernet_chain import MerkleTree, Warehouse, WarehouseFileNotFoundError, fragment_size


class PatternStream(io.RawIOBase):
    """A long deterministic stream produced on the fly (never held in memory)."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = bytes(i % 251 for i in range(1 << 16))
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.remaining)
        done = 0
        while done < count:
            start = self.position % len(self.block)
            piece = min(count - done, len(self.block) - start)
            buffer[done : done + piece] = self.block[start : start + piece]
            done += piece
            self.position += piece
        self.remaining -= count
        return count


def _pattern(size: int) -> bytes:
    stream = PatternStream(size)
    out = bytearray(size)
    stream.readinto(memoryview(out))
    return bytes(out)


def test_layout_companion_and_reading(tmp_path: Path) -> None:
    vector = next(m for m in load_vectors("merkle.json")["merkle"] if m["file_size"] == 262145)
    data = counter_stream(vector["data_rule"].split("'")[1], 262145)
    warehouse = Warehouse(tmp_path)
    stored = warehouse.import_stream(io.BytesIO(data))
    text = stored.hash.hex()
    assert text == vector["file_hash_blake3"]
    path = tmp_path / text[:4] / text[4:8] / text[8:]
    assert path.read_bytes() == data and warehouse.path_for(stored.hash) == path
    assert path.with_name(path.name + ".merkle").read_bytes().hex() == vector["export"]
    assert (stored.merkle_root.hex(), stored.fragment_size) == (vector["root_hash"], 262144)
    assert warehouse.merkle_tree(stored.hash).root_hash == stored.merkle_root
    assert warehouse.read(stored.hash, 1000, 50) == data[1000:1050]
    assert b"".join(warehouse.read_range(stored.hash, 262000)) == data[262000:]
    assert list(warehouse) == [stored.hash]


def test_small_and_empty_files_have_no_companion(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    for data in (b"", b"small file"):
        stored = warehouse.import_stream(io.BytesIO(data), len(data))
        assert stored.merkle_root == stored.hash == blake3.blake3(data).digest()
        assert stored.fragment_size == 262144
        path = warehouse.path_for(stored.hash)
        assert not path.with_name(path.name + ".merkle").exists()


def test_deduplication_restores_missing_companion(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    data = _pattern(700_000)
    first = warehouse.import_stream(io.BytesIO(data))
    path = warehouse.path_for(first.hash)
    path.with_name(path.name + ".merkle").unlink()
    second = warehouse.import_stream(io.BytesIO(data), size_hint=len(data))
    assert first == second
    assert warehouse.merkle_tree(first.hash) == MerkleTree.from_bytes(data, fragment_size(len(data)))
    assert list(warehouse) == [first.hash]
    assert list((tmp_path / "_Temp").iterdir()) == []


def test_wrong_size_hint_still_gives_the_right_tree(tmp_path: Path) -> None:
    data = _pattern(600_000)
    stored = Warehouse(tmp_path).import_stream(io.BytesIO(data), size_hint=300 * 1024 * 1024)
    assert stored.merkle_root == MerkleTree.from_bytes(data, 262144).root_hash


def test_import_in_bounded_memory(tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    warehouse = Warehouse(tmp_path)
    for hint in (0, size):
        tracemalloc.start()
        stored = warehouse.import_stream(PatternStream(size), size_hint=hint)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert stored.size == size
        assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte import"


def test_missing_file_and_delete(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    with pytest.raises(WarehouseFileNotFoundError):
        warehouse.read(bytes(32))
    stored = warehouse.import_stream(io.BytesIO(_pattern(300_000)))
    assert warehouse.delete(stored.hash)
    assert warehouse.size(stored.hash) is None and list(warehouse) == []
    assert not warehouse.delete(stored.hash)
    (tmp_path / "_Temp" / "wh123").write_bytes(b"partial")
    assert warehouse.clean_temp() == 1
