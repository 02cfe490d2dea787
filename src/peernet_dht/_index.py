"""The local search index over the node's own chain and the cached chains of other peers.

Takes plain values (no peernet_chain import): one :class:`IndexedFile` per file record. Files are
keyed by (owner, file ID) — the reference keys by file ID alone, which lets one peer block or
delete another's entries by reusing its file ID (spec dht.md §12.5). Bounded: at most
``max_files`` files (the oldest cached file is dropped first; own files never are) and at most
``max_keywords_per_file`` keywords per file (long descriptions cannot flood the index).
"""

from __future__ import annotations

from collections import OrderedDict

import attrs

from ._keywords import file_keywords, parse_query

__all__ = ["FILE_ID_SIZE", "IndexedFile", "LocalIndex", "SearchHit"]

FILE_ID_SIZE = 16
OWNER_SIZE = 33


@attrs.frozen
class IndexedFile:
    """A file of a blockchain (ours or one downloaded) as the keyword index knows it."""
    file_id: bytes
    owner: bytes  # compressed public key of the chain's owner
    name: str | bytes = ""
    folder: str | bytes = ""
    description: str | bytes = ""
    blockchain_version: int = 0
    block_number: int = 0
    own: bool = False  # from our own chain: never evicted
    file_hash: bytes = bytes(32)  # BLAKE3 of the file content (zero if unknown)
    size: int = 0  # bytes

    def __attrs_post_init__(self) -> None:
        if len(self.file_id) != FILE_ID_SIZE or len(self.owner) != OWNER_SIZE:
            raise ValueError(f"file ID must be {FILE_ID_SIZE} bytes and owner {OWNER_SIZE} bytes")
        if len(self.file_hash) != 32 or not 0 <= self.size < 2**64:
            raise ValueError("file hash must be 32 bytes and size an unsigned 64-bit integer")

    @property
    def ref(self) -> tuple[bytes, bytes]:
        return (self.owner, self.file_id)


@attrs.frozen
class SearchHit:
    """A file the local index matched for a query, with the query keywords that matched."""
    file: IndexedFile
    keywords: frozenset[str]  # the query keywords that matched
    exact: bool  # the whole term matched a whole name / word


class LocalIndex:
    """The keyword index of files known locally, bounded to ``max_files`` files (own files are never evicted)
    and ``max_keywords_per_file`` keywords per file.
    """
    def __init__(self, *, max_files: int = 200_000, max_keywords_per_file: int = 128) -> None:
        if max_files < 1 or max_keywords_per_file < 1:
            raise ValueError("index bounds must be positive")
        self.max_files = max_files
        self.max_keywords_per_file = max_keywords_per_file
        self._files: OrderedDict[tuple[bytes, bytes], tuple[IndexedFile, tuple[bytes, ...]]] = OrderedDict()
        self._postings: dict[bytes, set[tuple[bytes, bytes]]] = {}

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, ref: object) -> bool:
        return ref in self._files

    def add(self, file: IndexedFile) -> bool:
        """Index (or re-index) a file. False if the index is full of own files."""
        self.remove(file.owner, file.file_id)
        if len(self._files) >= self.max_files and not self._evict_one():
            return False
        hashes = tuple(file_keywords(file.name, file.folder, file.description))[: self.max_keywords_per_file]
        self._files[file.ref] = (file, hashes)
        for keyword in hashes:
            self._postings.setdefault(keyword, set()).add(file.ref)
        return True

    def remove(self, owner: bytes, file_id: bytes) -> bool:
        entry = self._files.pop((owner, file_id), None)
        if entry is None:
            return False
        for keyword in entry[1]:
            refs = self._postings[keyword]
            refs.discard((owner, file_id))
            if not refs:
                del self._postings[keyword]
        return True

    def remove_owner(self, owner: bytes) -> int:
        """Un-index a whole chain (replaced, invalid or dropped from the cache)."""
        refs = [ref for ref in self._files if ref[0] == owner]
        for ref in refs:
            self.remove(*ref)
        return len(refs)

    def search(self, term: str | bytes, limit: int = 200) -> list[SearchHit]:
        """OR over the query's keywords; more matched keywords first, exact matches first."""
        query = parse_query(term)
        matched: dict[tuple[bytes, bytes], set[str]] = {}
        exact_refs = set(self._postings.get(query.exact[0], ())) if query.exact else set()
        for keyword, word in query.hashes().items():
            for ref in self._postings.get(keyword, ()):
                matched.setdefault(ref, set()).add(word)
        hits = [
            SearchHit(self._files[ref][0], frozenset(words), ref in exact_refs) for ref, words in matched.items()
        ]
        hits.sort(key=lambda h: (not h.exact, -len(h.keywords), h.file.owner, h.file.file_id))
        return hits[:limit]

    def _evict_one(self) -> bool:
        for ref, (file, _) in self._files.items():
            if not file.own:
                return self.remove(*ref)
        return False
