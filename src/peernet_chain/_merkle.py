"""Merkle trees over file fragments, exactly as the reference builds them (spec chain.md §8).

Leaves are BLAKE3 of each fragment; parents are BLAKE3(left || right); an odd last node is promoted
unchanged. A file of at most one fragment has the file hash as its root.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

import attrs
import blake3

from ._errors import MerkleDecodeError

__all__ = [
    "MINIMUM_FRAGMENT_SIZE",
    "MerkleBuilder",
    "MerkleTree",
    "fragment_size",
    "verify_fragment",
]

_KIB: Final = 1024
_MIB: Final = 1024 * _KIB
_GIB: Final = 1024 * _MIB
_TIB: Final = 1024 * _GIB
_PIB: Final = 1024 * _TIB
#: The smallest merkle fragment (bytes): files up to 256 MiB use it (see :func:`fragment_size`).
MINIMUM_FRAGMENT_SIZE: Final = 256 * _KIB
PROOF_ENTRY_SIZE: Final = 33
_EXPORT_HEADER: Final = struct.Struct("<QQ32s")
_FRAGMENT_TABLE: Final = (
    (256 * _MIB, 256 * _KIB),
    (1 * _GIB, 512 * _KIB),
    (2 * _GIB, 1 * _MIB),
    (4 * _GIB, 2 * _MIB),
    (8 * _GIB, 8 * _MIB),
    (16 * _GIB, 16 * _MIB),
    (32 * _GIB, 32 * _MIB),
    (64 * _GIB, 64 * _MIB),
    (1 * _TIB, 64 * _MIB),
    (2 * _TIB, 128 * _MIB),
    (1 * _PIB, 512 * _MIB),
)
_LARGEST_FRAGMENT: Final = 1 * _GIB
# Largest tree imported from a companion file: 1 PiB in 512 MiB fragments is 2 Mi leaves.
MAX_FRAGMENT_COUNT: Final = 1 << 22


def fragment_size(file_size: int) -> int:
    """The reference's fragment size for a file of ``file_size`` bytes."""
    for limit, size in _FRAGMENT_TABLE:
        if file_size <= limit:
            return size
    return _LARGEST_FRAGMENT


def _hash(data: bytes | memoryview) -> bytes:
    return blake3.blake3(data).digest()


def _fragment_count(file_size: int, fragment: int) -> int:
    return -(-file_size // fragment)


def _middle_level_sizes(leaf_count: int) -> list[int]:
    sizes = []
    count = leaf_count
    while count > 2:
        count = -(-count // 2)
        sizes.append(count)
    return sizes


def _parent_level(level: Sequence[bytes]) -> list[bytes]:
    parents = [_hash(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


@attrs.frozen
class MerkleTree:
    """A complete tree. ``fragment_hashes`` and ``middle_hashes`` are empty for 0 or 1 fragments."""

    file_size: int
    fragment_size: int
    root_hash: bytes
    fragment_hashes: tuple[bytes, ...] = ()
    middle_hashes: tuple[tuple[bytes, ...], ...] = ()

    @property
    def fragment_count(self) -> int:
        return _fragment_count(self.file_size, self.fragment_size)

    @classmethod
    def from_bytes(cls, data: bytes, fragment_size: int) -> MerkleTree:
        builder = MerkleBuilder(fragment_size)
        builder.update(data)
        return builder.finish()

    @classmethod
    def from_leaves(cls, file_size: int, fragment: int, leaves: Sequence[bytes]) -> MerkleTree:
        """Build the tree from fragment hashes; with 0 or 1 fragment ``leaves`` holds the file hash."""
        if len(leaves) <= 1:
            root = leaves[0] if leaves else _hash(b"")
            return cls(file_size, fragment, root)
        levels: list[tuple[bytes, ...]] = []
        level: list[bytes] = list(leaves)
        while len(level) > 2:
            level = _parent_level(level)
            levels.append(tuple(level))
        root = _hash(level[0] + level[1])
        return cls(file_size, fragment, root, tuple(leaves), tuple(levels))

    # --- proofs --------------------------------------------------------------------------

    def proof(self, index: int) -> list[bytes]:
        """Verification hashes for fragment ``index``: 33-byte entries, direction byte + sibling."""
        count = len(self.fragment_hashes)
        if count < 2 or not 0 <= index < count:
            return []
        entries: list[bytes] = []
        position = index
        for level in (self.fragment_hashes, *self.middle_hashes):
            if position % 2 == 0 and position == len(level) - 1:
                pass  # promoted node: no sibling at this level
            elif position % 2 == 0:
                entries.append(b"\x01" + level[position + 1])
            else:
                entries.append(b"\x00" + level[position - 1])
            position //= 2
        return entries

    # --- companion file ------------------------------------------------------------------

    def export(self) -> bytes:
        """The reference's ``.merkle`` companion format."""
        parts = [_EXPORT_HEADER.pack(self.file_size, self.fragment_size, self.root_hash)]
        parts.extend(self.fragment_hashes)
        for level in self.middle_hashes:
            parts.extend(level)
        return b"".join(parts)

    @classmethod
    def from_export(cls, blob: bytes) -> MerkleTree:
        """Parse a companion file; every stored hash is checked against the root."""
        if len(blob) < _EXPORT_HEADER.size:
            raise MerkleDecodeError("merkle export shorter than its 48-byte header")
        file_size, fragment, root = _EXPORT_HEADER.unpack_from(blob)
        if fragment == 0:
            raise MerkleDecodeError("merkle export with fragment size 0")
        count = _fragment_count(file_size, fragment)
        if count > MAX_FRAGMENT_COUNT:
            raise MerkleDecodeError(f"merkle export announces {count} fragments")
        if count <= 1:
            if len(blob) != _EXPORT_HEADER.size:
                raise MerkleDecodeError("merkle export of a single fragment carries hashes")
            return cls(file_size, fragment, root)
        total = count + sum(_middle_level_sizes(count))
        if len(blob) != _EXPORT_HEADER.size + 32 * total:
            raise MerkleDecodeError(f"merkle export length {len(blob)} does not fit {total} hashes")
        hashes = [blob[offset : offset + 32] for offset in range(_EXPORT_HEADER.size, len(blob), 32)]
        tree = cls.from_leaves(file_size, fragment, hashes[:count])
        if tree.root_hash != root or tree.export() != blob:
            raise MerkleDecodeError("merkle export hashes do not match its root")
        return tree


def verify_fragment(
    root_hash: bytes,
    fragment: bytes,
    proof: Sequence[bytes],
    *,
    index: int | None = None,
    fragment_count: int | None = None,
) -> bool:
    """True if ``fragment`` belongs under ``root_hash`` according to ``proof``.

    With ``index`` and ``fragment_count`` the proof must also have exactly the shape the tree
    gives that position, so a fragment cannot be proven at another index.
    """
    if (
        index is not None
        and fragment_count is not None
        and [entry[:1] for entry in proof] != _expected_directions(index, fragment_count)
    ):
        return False
    current = _hash(fragment)
    for entry in proof:
        if len(entry) != PROOF_ENTRY_SIZE or entry[0] not in (0, 1):
            return False
        sibling = entry[1:]
        current = _hash(sibling + current) if entry[0] == 0 else _hash(current + sibling)
    return current == root_hash


def _expected_directions(index: int, count: int) -> list[bytes]:
    if count < 2 or not 0 <= index < count:
        return []
    directions = []
    position = index
    for size in (count, *_middle_level_sizes(count)):
        if position % 2 == 0 and position == size - 1:
            pass
        elif position % 2 == 0:
            directions.append(b"\x01")
        else:
            directions.append(b"\x00")
        position //= 2
    return directions


class MerkleBuilder:
    """Incremental tree builder: feed the file in chunks of any size, in constant memory
    (apart from one hash per fragment)."""

    def __init__(self, fragment_size: int) -> None:
        if fragment_size <= 0:
            raise ValueError("fragment size must be positive")
        self.fragment_size = fragment_size
        self._fragment_size = fragment_size
        self._leaves: list[bytes] = []
        self._current = blake3.blake3()
        self._filled = 0
        self._total = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        self._total += len(view)
        while view:
            room = self._fragment_size - self._filled
            if self._filled == 0 and len(view) >= self._fragment_size:
                self._leaves.append(_hash(view[: self._fragment_size]))
                view = view[self._fragment_size :]
                continue
            piece = view[:room]
            self._current.update(piece)
            self._filled += len(piece)
            view = view[len(piece) :]
            if self._filled == self._fragment_size:
                self._leaves.append(self._current.digest())
                self._current = blake3.blake3()
                self._filled = 0

    def finish(self) -> MerkleTree:
        leaves = list(self._leaves)
        if self._filled:
            leaves.append(self._current.digest())
        return MerkleTree.from_leaves(self._total, self._fragment_size, leaves)
