"""Content-addressed local file store with the reference's layout (spec chain.md §9).

``<root>/x[0:4]/x[4:8]/x[8:64]`` for x = hex BLAKE3 of the content, ``<same>.merkle`` companion for
files over 256 KiB, temporary files in ``<root>/_Temp``. Imports stream in fixed-size chunks, so
memory does not grow with the file; data is fsynced before it is renamed into place.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

import attrs
import blake3

from ._errors import MerkleDecodeError, WarehouseError, WarehouseFileNotFoundError
from ._merkle import MINIMUM_FRAGMENT_SIZE, MerkleBuilder, MerkleTree, fragment_size

__all__ = ["StoredFile", "Warehouse"]

log = logging.getLogger(__name__)

_CHUNK: Final = 1 << 20
_TEMP_DIR: Final = "_Temp"
_MERKLE_SUFFIX: Final = ".merkle"
_HEX_NAME: Final = re.compile(r"[0-9a-f]{56}")
_HEX_DIR: Final = re.compile(r"[0-9a-f]{4}")


@attrs.frozen
class StoredFile:
    """A file in the warehouse and the values its file record needs."""

    hash: bytes
    size: int
    merkle_root: bytes
    fragment_size: int


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Warehouse:
    """Files stored by their blake3 hash under ``root``, written atomically.

    ``chunk_size`` is the size of each read and write, in bytes.
    """
    def __init__(self, root: str | os.PathLike[str], *, chunk_size: int = _CHUNK) -> None:
        self.root = Path(root)
        self.chunk_size = chunk_size
        (self.root / _TEMP_DIR).mkdir(parents=True, exist_ok=True)

    def path_for(self, file_hash: bytes) -> Path:
        if len(file_hash) != 32:
            raise WarehouseError("file hash must be 32 bytes")
        text = file_hash.hex()
        return self.root / text[0:4] / text[4:8] / text[8:]

    def clean_temp(self) -> int:
        """Remove leftovers of interrupted imports (call at start-up); returns how many."""
        removed = 0
        for leftover in (self.root / _TEMP_DIR).iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    # --- import --------------------------------------------------------------------------

    def import_stream(self, stream: BinaryIO, size_hint: int = 0) -> StoredFile:
        """Store everything read from ``stream``; an existing identical file is kept (de-duplication)."""
        temp = self.root / _TEMP_DIR / f"wh{secrets.randbelow(10**12)}"
        hasher = blake3.blake3()
        builder = MerkleBuilder(fragment_size(size_hint)) if size_hint > MINIMUM_FRAGMENT_SIZE else None
        buffer = bytearray(self.chunk_size)
        view = memoryview(buffer)
        size = 0
        try:
            with open(temp, "wb") as out:
                while True:
                    count = (
                        stream.readinto(view)
                        if hasattr(stream, "readinto")
                        else self._read_into(stream, view)
                    )
                    if not count:
                        break
                    chunk = view[:count]
                    hasher.update(chunk)
                    if builder is not None:
                        builder.update(chunk)
                    out.write(chunk)
                    size += count
                out.flush()
                os.fsync(out.fileno())
            file_hash = hasher.digest()
            tree = self._tree(temp, size, file_hash, builder)
            target = self.path_for(file_hash)
            if target.exists():
                temp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, target)
                _fsync_directory(target.parent)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise WarehouseError(f"import failed: {exc}") from exc
        if tree.fragment_count > 1:
            self._write_merkle(target, tree)
        return StoredFile(file_hash, size, tree.root_hash, tree.fragment_size)

    def import_path(self, path: str | os.PathLike[str]) -> StoredFile:
        with open(path, "rb") as source:
            return self.import_stream(source, os.fstat(source.fileno()).st_size)

    @staticmethod
    def _read_into(stream: BinaryIO, view: memoryview) -> int:
        data = stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _tree(self, temp: Path, size: int, file_hash: bytes, builder: MerkleBuilder | None) -> MerkleTree:
        fragment = fragment_size(size)
        if size <= MINIMUM_FRAGMENT_SIZE:
            return MerkleTree(size, fragment, file_hash)
        if builder is not None and builder.fragment_size == fragment:
            return builder.finish()
        builder = MerkleBuilder(fragment)  # the size hint was wrong or missing: second pass
        for chunk in self._chunks(temp, 0, size):
            builder.update(chunk)
        return builder.finish()

    def _write_merkle(self, target: Path, tree: MerkleTree) -> None:
        companion = target.with_name(target.name + _MERKLE_SUFFIX)
        if companion.exists():
            return
        temp = self.root / _TEMP_DIR / f"wh{secrets.randbelow(10**12)}"
        with open(temp, "wb") as out:
            out.write(tree.export())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, companion)

    # --- reading -------------------------------------------------------------------------

    def size(self, file_hash: bytes) -> int | None:
        try:
            return self.path_for(file_hash).stat().st_size
        except FileNotFoundError:
            return None

    def merkle_tree(self, file_hash: bytes) -> MerkleTree:
        """The file's tree: from the companion file, or the single-fragment tree for small files."""
        size = self.size(file_hash)
        if size is None:
            raise WarehouseFileNotFoundError(file_hash.hex())
        if size <= MINIMUM_FRAGMENT_SIZE:
            return MerkleTree(size, fragment_size(size), file_hash)
        path = self.path_for(file_hash)
        try:
            tree = MerkleTree.from_export(path.with_name(path.name + _MERKLE_SUFFIX).read_bytes())
        except (OSError, MerkleDecodeError) as exc:
            raise WarehouseError(f"merkle companion of {file_hash.hex()} is missing or invalid") from exc
        if tree.file_size != size:
            raise WarehouseError("merkle companion does not describe the stored file")
        return tree

    def read_range(self, file_hash: bytes, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Yield the bytes [offset, offset + length) in chunks (to the end when length is None)."""
        size = self.size(file_hash)
        if size is None:
            raise WarehouseFileNotFoundError(file_hash.hex())
        if offset < 0 or offset > size or (length is not None and length < 0):
            raise WarehouseError(f"range {offset}+{length} outside a file of {size} bytes")
        end = size if length is None else min(size, offset + length)
        return self._chunks(self.path_for(file_hash), offset, end)

    def read(self, file_hash: bytes, offset: int = 0, length: int = _CHUNK) -> bytes:
        """A bounded read: at most ``length`` bytes from ``offset``."""
        return b"".join(self.read_range(file_hash, offset, length))

    def _chunks(self, path: Path, start: int, end: int) -> Iterator[bytes]:
        with open(path, "rb") as source:
            source.seek(start)
            position = start
            while position < end:
                chunk = source.read(min(self.chunk_size, end - position))
                if not chunk:
                    raise WarehouseError("file is shorter than expected")
                position += len(chunk)
                yield chunk

    # --- housekeeping --------------------------------------------------------------------

    def delete(self, file_hash: bytes) -> bool:
        path = self.path_for(file_hash)
        path.with_name(path.name + _MERKLE_SUFFIX).unlink(missing_ok=True)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def __iter__(self) -> Iterator[bytes]:
        """Hashes of all stored files."""
        for first in sorted(self.root.iterdir()):
            if not (first.is_dir() and _HEX_DIR.fullmatch(first.name)):
                continue
            for second in sorted(first.iterdir()):
                if not (second.is_dir() and _HEX_DIR.fullmatch(second.name)):
                    continue
                for entry in sorted(second.iterdir()):
                    if entry.is_file() and _HEX_NAME.fullmatch(entry.name):
                        yield bytes.fromhex(first.name + second.name + entry.name)
