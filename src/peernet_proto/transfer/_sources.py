"""What the transfer layer serves from: files by hash and byte range, and the own blockchain."""

from __future__ import annotations

from typing import Protocol

from .._keys import PublicKey

__all__ = ["BlockProvider", "FileSource", "MemoryBlocks", "MemoryFiles"]


class FileSource(Protocol):
    """Files we may serve, by their BLAKE3 hash."""

    def file_size(self, file_hash: bytes) -> int | None:
        """The size of the file, or None when we do not have (or do not share) it."""
        ...

    def read_file(self, file_hash: bytes, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (fewer only at the end of the file)."""
        ...


class BlockProvider(Protocol):
    """Our own blockchain, read-only."""

    @property
    def public_key(self) -> PublicKey:
        """The key that owns the chain."""
        ...

    def height(self) -> int:
        """The number of blocks."""
        ...

    def block(self, number: int) -> bytes | None:
        """The raw block, or None when it does not exist."""
        ...


class MemoryFiles:
    """A :class:`FileSource` over a dict of hash → bytes (for tests and small tools)."""

    def __init__(self, files: dict[bytes, bytes] | None = None) -> None:
        self.files = dict(files or {})

    def file_size(self, file_hash: bytes) -> int | None:
        """See :class:`FileSource`."""
        data = self.files.get(file_hash)
        return None if data is None else len(data)

    def read_file(self, file_hash: bytes, offset: int, size: int) -> bytes:
        """See :class:`FileSource`."""
        return self.files[file_hash][offset : offset + size]


class MemoryBlocks:
    """A :class:`BlockProvider` over a list of raw blocks."""

    def __init__(self, public_key: PublicKey, blocks: list[bytes] | None = None) -> None:
        self._key = public_key
        self.blocks = list(blocks or [])

    @property
    def public_key(self) -> PublicKey:
        """See :class:`BlockProvider`."""
        return self._key

    def height(self) -> int:
        """See :class:`BlockProvider`."""
        return len(self.blocks)

    def block(self, number: int) -> bytes | None:
        """See :class:`BlockProvider`."""
        return self.blocks[number] if 0 <= number < len(self.blocks) else None
