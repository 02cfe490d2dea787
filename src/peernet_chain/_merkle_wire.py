"""Asking a peer for a file's merkle tree: feature bit, extension item and codec. Sans-IO.

The reference computes merkle trees but never sends them (spec chain.md §8.3), so a downloader
can only check the whole file at the end. This extension lets a downloader check every fragment
as it arrives and refetch only a bad one.

Negotiation: a node that serves trees sets :data:`FEATURE_MERKLE_TREES` (feature bit 5, unused
by the reference and preserved in its peer records) next to the EXTENSIONS bit (4). The request
and the answer travel as item type :data:`EXTENSION_MERKLE` (3) of the extension container after
the last block of an Announcement (request) or Response (answer), spec wire.md §16, so Go peers,
which stop reading after the last block, never see them; they are only sent to peers announcing
both bits. Trees are large (one 32-byte hash per fragment), so the leaves come in pages of at most
:data:`MAX_LEAVES_PER_PAGE` (an item value is at most 65 535 bytes); the requester asks for the
next page until it has them all. Inner hashes are never sent: the requester rebuilds them.

Trust: a tree is accepted only when it rebuilds to the merkle root of the owner's signed file
record, for the record's size and the reference's fragment size for that size
(:class:`TreeAssembler`). A lying peer can therefore only make its own fragments fail.

Payload layout (little-endian)::

    magic "PNM" | version u8 (1) | kind u8 | file hash 32 | body
    kind 1 REQUEST:     first leaf u32 | max leaves u16
    kind 2 TREE:        file size u64 | fragment size u64 | root 32 | leaf count u32 |
                        first leaf u32 | n u16 | n × leaf hash 32
    kind 3 UNAVAILABLE: no body (the peer does not have the file or its tree)

Every malformed input raises :class:`MerkleWireError` (a DecodeError).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import Final

import attrs

from peernet_proto import EncodeError, InvalidFieldError, TruncatedError

from ._merkle import MAX_FRAGMENT_COUNT, MerkleTree, fragment_size

__all__ = [
    "EXTENSION_MERKLE",
    "FEATURE_MERKLE_TREES",
    "MAX_LEAVES_PER_PAGE",
    "MerkleMessageKind",
    "MerkleTreePage",
    "MerkleTreeRequest",
    "MerkleUnavailable",
    "MerkleWireError",
    "TreeAssembler",
    "answer_merkle_request",
    "decode_merkle_message",
    "encode_merkle_message",
    "tree_page",
]

FEATURE_MERKLE_TREES: Final = 1 << 5
EXTENSION_MERKLE: Final = 3
MAX_LEAVES_PER_PAGE: Final = 2000
_MAGIC: Final = b"PNM"
_VERSION: Final = 1
_HEAD: Final = struct.Struct("<3sBB32s")
_REQUEST: Final = struct.Struct("<IH")
_TREE: Final = struct.Struct("<QQ32sIIH")


class MerkleWireError(InvalidFieldError):
    """A merkle extension payload is malformed or inconsistent."""


class MerkleMessageKind(enum.IntEnum):
    """Payload kinds."""

    REQUEST = 1
    TREE = 2
    UNAVAILABLE = 3


@attrs.frozen
class MerkleTreeRequest:
    """Ask for leaves ``first .. first + max_leaves - 1`` of the tree of ``file_hash``."""

    file_hash: bytes
    first: int = 0
    max_leaves: int = MAX_LEAVES_PER_PAGE


@attrs.frozen
class MerkleTreePage:
    """Leaves ``first ..`` of a tree of ``leaf_count`` leaves (no leaves for a 1-fragment file)."""

    file_hash: bytes
    file_size: int
    fragment_size: int
    root: bytes
    leaf_count: int
    first: int
    leaves: tuple[bytes, ...]


@attrs.frozen
class MerkleUnavailable:
    """The peer has no tree for ``file_hash``."""

    file_hash: bytes


MerkleMessage = MerkleTreeRequest | MerkleTreePage | MerkleUnavailable


def encode_merkle_message(message: MerkleMessage) -> bytes:
    """The extension item value for ``message``; raises :class:`EncodeError` for bad values."""
    if len(message.file_hash) != 32:
        raise EncodeError("file hash must be 32 bytes")
    if isinstance(message, MerkleTreeRequest):
        if not (0 <= message.first < 2**32 and 0 < message.max_leaves <= MAX_LEAVES_PER_PAGE):
            raise EncodeError("request range out of bounds")
        return _HEAD.pack(_MAGIC, _VERSION, MerkleMessageKind.REQUEST, message.file_hash) + _REQUEST.pack(
            message.first, message.max_leaves
        )
    if isinstance(message, MerkleUnavailable):
        return _HEAD.pack(_MAGIC, _VERSION, MerkleMessageKind.UNAVAILABLE, message.file_hash)
    if len(message.leaves) > MAX_LEAVES_PER_PAGE or any(len(leaf) != 32 for leaf in message.leaves):
        raise EncodeError("too many leaves or a leaf that is not 32 bytes")
    if len(message.root) != 32 or message.first + len(message.leaves) > message.leaf_count:
        raise EncodeError("root must be 32 bytes and the leaves within leaf_count")
    head = _HEAD.pack(_MAGIC, _VERSION, MerkleMessageKind.TREE, message.file_hash)
    body = _TREE.pack(
        message.file_size,
        message.fragment_size,
        message.root,
        message.leaf_count,
        message.first,
        len(message.leaves),
    )
    return head + body + b"".join(message.leaves)


def decode_merkle_message(data: bytes) -> MerkleMessage:
    """Parse an extension item value; raises :class:`MerkleWireError` / ``TruncatedError``."""
    if len(data) < _HEAD.size:
        raise TruncatedError("merkle message: header")
    magic, version, kind, file_hash = _HEAD.unpack_from(data)
    if magic != _MAGIC or version != _VERSION:
        raise MerkleWireError("merkle message: bad magic or version")
    body = data[_HEAD.size :]
    if kind == MerkleMessageKind.REQUEST:
        if len(body) != _REQUEST.size:
            raise MerkleWireError("merkle request: wrong length")
        first, max_leaves = _REQUEST.unpack(body)
        if not 0 < max_leaves <= MAX_LEAVES_PER_PAGE:
            raise MerkleWireError("merkle request: max leaves out of range")
        return MerkleTreeRequest(file_hash, first, max_leaves)
    if kind == MerkleMessageKind.UNAVAILABLE:
        if body:
            raise MerkleWireError("merkle unavailable: trailing bytes")
        return MerkleUnavailable(file_hash)
    if kind != MerkleMessageKind.TREE:
        raise MerkleWireError(f"merkle message: unknown kind {kind}")
    if len(body) < _TREE.size:
        raise TruncatedError("merkle tree: header")
    size, fragment, root, count, first, n = _TREE.unpack_from(body)
    if n > MAX_LEAVES_PER_PAGE or count > MAX_FRAGMENT_COUNT or first + n > count or fragment == 0:
        raise MerkleWireError("merkle tree: counts out of range")
    if len(body) != _TREE.size + 32 * n:
        raise MerkleWireError("merkle tree: length does not match the leaf count")
    leaves = tuple(body[_TREE.size + 32 * i : _TREE.size + 32 * (i + 1)] for i in range(n))
    return MerkleTreePage(file_hash, size, fragment, root, count, first, leaves)


def tree_page(file_hash: bytes, tree: MerkleTree, request: MerkleTreeRequest) -> MerkleTreePage:
    """The answer to ``request`` from a stored tree (the serving side)."""
    leaves = tree.fragment_hashes[request.first : request.first + request.max_leaves]
    return MerkleTreePage(
        file_hash, tree.file_size, tree.fragment_size, tree.root_hash, len(tree.fragment_hashes), request.first, leaves
    )


class TreeAssembler:
    """Collects pages for a file whose signed record gives ``file_hash``, ``size`` and ``merkle_root``."""

    def __init__(self, file_hash: bytes, size: int, merkle_root: bytes) -> None:
        self.file_hash, self.size, self.merkle_root = file_hash, size, merkle_root
        self.fragment_size = fragment_size(size)
        self.leaf_count = -(-size // self.fragment_size) if size else 0
        if self.leaf_count <= 1:
            self.leaf_count = 0  # no leaves are sent: the root is the file hash
        self._leaves: list[bytes] = []

    def next_request(self) -> MerkleTreeRequest | None:
        """The next page to ask for; None when all leaves are in."""
        if len(self._leaves) >= self.leaf_count:
            return None
        return MerkleTreeRequest(self.file_hash, len(self._leaves))

    def add(self, page: MerkleTreePage) -> MerkleTree | None:
        """Take a page; the verified tree once complete. Raises :class:`MerkleWireError` when the
        page does not fit the signed record or the finished tree does not rebuild to its root."""
        if (
            page.file_hash != self.file_hash
            or page.file_size != self.size
            or page.fragment_size != self.fragment_size
            or page.root != self.merkle_root
            or page.leaf_count != self.leaf_count
            or page.first != len(self._leaves)
            or (not page.leaves and self.leaf_count)
        ):
            raise MerkleWireError("merkle tree page does not fit the file record or the request")
        self._leaves.extend(page.leaves)
        if len(self._leaves) < self.leaf_count:
            return None
        if self.leaf_count == 0:
            tree = MerkleTree(self.size, self.fragment_size, self.file_hash)
        else:
            tree = MerkleTree.from_leaves(self.size, self.fragment_size, self._leaves)
        if tree.root_hash != self.merkle_root:
            self._leaves.clear()
            raise MerkleWireError("merkle tree does not rebuild to the signed root")
        return tree


def answer_merkle_request(value: bytes, tree_of: Callable[[bytes], MerkleTree | None]) -> bytes:
    """The serving side: the answer item value to a request item ``value``.

    ``tree_of(file_hash)`` gives the stored tree (e.g. ``Warehouse.merkle_tree``) or None. A
    malformed request raises :class:`MerkleWireError`; anything but a request too.
    """
    request = decode_merkle_message(value)
    if not isinstance(request, MerkleTreeRequest):
        raise MerkleWireError("only a request can be answered")
    tree = tree_of(request.file_hash)
    if tree is None:
        return encode_merkle_message(MerkleUnavailable(request.file_hash))
    return encode_merkle_message(tree_page(request.file_hash, tree, request))
