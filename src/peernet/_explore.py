"""Explore: the most recently shared files across cached chains, and a peer's profile.

Functions over :class:`~peernet_chain.ChainCache` and :class:`~peernet_chain.LocalChain`; nothing
is fetched here (the local API answers from the cache, spec webapi.md §5.2, §5.4). Unlike the
reference, block 0 is included, every owner gets a fair share (``per_owner_share``) before the
rest fills up, and the result is ordered newest first, with ``offset`` applied to that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from peernet_chain import ChainCache, LocalChain
from peernet_proto import PublicKey

from ._catalog import ChainFile, cached_blocks, chain_files, files_of

__all__ = ["TYPE_BINARY_LIKE", "owner_files", "profile_of", "recent_files"]

TYPE_BINARY_LIKE: Final = -2  # binary, executable, container or compressed (types 0, 6, 7, 8)
_BINARY_LIKE: Final = frozenset({0, 6, 7, 8})


def _type_matches(file: ChainFile, file_type: int) -> bool:
    if file_type == -1:
        return True
    if file_type == TYPE_BINARY_LIKE:
        return file.record.file_type in _BINARY_LIKE
    return file.record.file_type == file_type


def _newest_first(files: Iterable[ChainFile]) -> list[ChainFile]:
    return sorted(files, key=lambda f: (f.date, f.block_number), reverse=True)


def recent_files(
    cache: ChainCache,
    *,
    limit: int = 100,
    file_type: int = -1,
    offset: int = 0,
    owners: Iterable[PublicKey] | None = None,
) -> list[ChainFile]:
    """Recently shared files over the cached chains (or ``owners``' chains), newest first in a page.

    Owners take turns: each round adds every owner's next ``max(1, limit // 5)`` newest files
    (the reference's 20 % quota), so one prolific owner cannot fill a page. Pages are slices
    ``[offset, offset + limit)`` of that one order, so paging neither repeats nor skips files.
    """
    if limit <= 0:
        return []
    quota = max(1, limit * 20 // 100)
    queues = []
    for owner in owners if owners is not None else cache.owners():
        matches = _newest_first(f for f in chain_files(cached_blocks(cache, owner)) if _type_matches(f, file_type))
        if matches:
            queues.append(matches)
    ordered: list[ChainFile] = []
    end = max(0, offset) + limit
    position = 0
    while len(ordered) < end and any(position < len(queue) for queue in queues):
        ordered.extend(_newest_first(f for queue in queues for f in queue[position : position + quota]))
        position += quota
    return _newest_first(ordered[max(0, offset) : end])


def owner_files(
    owner: PublicKey,
    cache: ChainCache,
    own_chain: LocalChain | None = None,
    *,
    limit: int = 100,
    file_type: int = -1,
    offset: int = 0,
) -> list[ChainFile]:
    """The files of one owner (own chain for the own key), newest first, block 0 included."""
    files = _newest_first(f for f in files_of(owner, cache, own_chain) if _type_matches(f, file_type))
    return files[max(0, offset) : max(0, offset) + max(0, limit)]


def profile_of(owner: PublicKey, cache: ChainCache, own_chain: LocalChain | None = None) -> dict[int, bytes]:
    """Profile fields (type → data) of ``owner`` from its chain; later records win."""
    if own_chain is not None and owner == own_chain.owner.public_key:
        return own_chain.profile()
    fields: dict[int, bytes] = {}
    for block in cached_blocks(cache, owner):
        fields.update(block.profile())
    return fields
