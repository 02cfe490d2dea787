"""Reading files and profiles out of chains (own and cached), and the local search index over them.

A :class:`ChainFile` is one file record together with where it was found (owner, chain version,
block number, record date), so a search hit can be traced back to the signed block holding it.
:func:`refresh_index` (re)builds the ``peernet_dht`` :class:`~peernet_dht.LocalIndex` from the own
chain and every cached chain: the only search the reference has, so Go users' files are found so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import attrs

from peernet_chain import (
    Block,
    BlockDecodeError,
    ChainCache,
    ChainCorruptError,
    FileRecord,
    LocalChain,
    TagType,
    decode_block,
)
from peernet_dht import IndexedFile, LocalIndex
from peernet_proto import PublicKey

__all__ = [
    "ChainFile",
    "cached_blocks",
    "chain_files",
    "file_tag_text",
    "files_of",
    "index_chain",
    "indexed_file",
    "refresh_index",
]

log = logging.getLogger(__name__)


@attrs.frozen
class ChainFile:
    """A file record as found in a chain."""

    owner: PublicKey
    record: FileRecord
    version: int
    block_number: int
    own: bool = False

    @property
    def name(self) -> str:
        """The Name tag."""
        return file_tag_text(self.record, TagType.NAME)

    @property
    def folder(self) -> str:
        """The Folder tag."""
        return file_tag_text(self.record, TagType.FOLDER)

    @property
    def description(self) -> str:
        """The Description tag."""
        return file_tag_text(self.record, TagType.DESCRIPTION)

    @property
    def date(self) -> int:
        """Date shared (the record date), 0 when unknown."""
        return self.record.date_shared or 0


def file_tag_text(record: FileRecord, kind: int) -> str:
    """The last tag of ``kind`` as text ("" when absent)."""
    for tag in reversed(record.tags):
        if tag.type == kind:
            return tag.data.decode("utf-8", "replace")
    return ""


def chain_files(blocks: Iterable[Block], *, own: bool = False) -> Iterator[ChainFile]:
    """Every file record of ``blocks``, oldest first."""
    for block in blocks:
        for record in block.files():
            yield ChainFile(block.owner, record, block.version, block.number, own)


def cached_blocks(cache: ChainCache, owner: PublicKey) -> list[Block]:
    """The decoded cached blocks of ``owner`` (validated when they were stored)."""
    try:
        return [decode_block(raw) for raw in cache.blocks(owner)]
    except (BlockDecodeError, ChainCorruptError) as exc:
        log.warning("cached chain of %s is unreadable, dropping it: %s", owner.hex(), exc)
        cache.delete(owner)
        return []


def files_of(owner: PublicKey, cache: ChainCache, own_chain: LocalChain | None = None) -> list[ChainFile]:
    """The files of ``owner``: the own chain when it is ours, else its cached chain."""
    if own_chain is not None and owner == own_chain.owner.public_key:
        return list(chain_files(own_chain.blocks(), own=True))
    return list(chain_files(cached_blocks(cache, owner)))


def indexed_file(file: ChainFile) -> IndexedFile:
    """The index entry of a chain file."""
    return IndexedFile(
        file_id=file.record.id.bytes,
        owner=file.owner.to_bytes(),
        name=file.name,
        folder=file.folder,
        description=file.description,
        blockchain_version=file.version,
        block_number=file.block_number,
        own=file.own,
        file_hash=file.record.hash,
        size=file.record.size,
    )


def index_chain(index: LocalIndex, owner: PublicKey, files: Iterable[ChainFile]) -> int:
    """Replace everything indexed for ``owner`` by ``files``; returns how many were indexed."""
    index.remove_owner(owner.to_bytes())
    return sum(1 for file in files if index.add(indexed_file(file)))


def refresh_index(index: LocalIndex, cache: ChainCache, own_chain: LocalChain | None = None) -> int:
    """Index the own chain and every cached chain (full rebuild); returns the file count."""
    total = 0
    if own_chain is not None:
        owner = own_chain.owner.public_key
        total += index_chain(index, owner, chain_files(own_chain.blocks(), own=True))
    for owner in cache.owners():
        total += index_chain(index, owner, chain_files(cached_blocks(cache, owner)))
    return total
