"""The node's content in one place: own chain, warehouse, cache of other chains, search index.

:class:`ContentLibrary` opens the stores under the data directory with the reference's names
(``blockchain main``, ``warehouse main``, ``blockchain global``) and keeps the local index in step
with them: sharing re-indexes the own chain, a fetched chain re-indexes its owner. It is what the
node, the CLI and the local API call; the network reaches it through three hooks:
:meth:`~ContentLibrary.on_chain_state` (a peer announced its chain), :meth:`~ContentLibrary.tree_of`
and :meth:`~ContentLibrary.read_range` (serving the merkle extension and file transfers).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Self

from peernet_chain import (
    BlockSource,
    CacheLimits,
    ChainCache,
    ChainState,
    LocalChain,
    MerkleTree,
    Warehouse,
    WarehouseError,
)
from peernet_dht import LocalIndex
from peernet_proto import PrivateKey, PublicKey

from ._catalog import ChainFile, files_of, index_chain, refresh_index
from ._chains import ChainPolicy, SyncResult, sync_chain
from ._explore import owner_files, profile_of, recent_files
from ._share import FileMetadata, ShareResult, share_file, unshare_files, update_file
from ._verify import (
    CandidateHit,
    ChainLocator,
    HitVerifier,
    SearchFilter,
    VerifiedFile,
    VerifyReport,
    filter_files,
    hits_from_index,
    match_hits,
    sort_files,
)

__all__ = ["CACHE_DIR", "CHAIN_DIR", "WAREHOUSE_DIR", "ContentLibrary"]

log = logging.getLogger(__name__)

CHAIN_DIR: Final = "blockchain main"
WAREHOUSE_DIR: Final = "warehouse main"
CACHE_DIR: Final = "blockchain global"
MAX_READ: Final = 1 << 20


class ContentLibrary:
    """Own chain, warehouse, chain cache, local index, fetch policy and hit verifier."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        key: PrivateKey,
        *,
        cache_limits: CacheLimits | None = None,
        locator: ChainLocator | None = None,
        policy: ChainPolicy | None = None,
        dirs: tuple[str, str, str] = (CHAIN_DIR, WAREHOUSE_DIR, CACHE_DIR),
    ) -> None:
        root = self.data_dir = Path(data_dir)
        chain_dir, warehouse_dir, cache_dir = dirs
        self.chain = LocalChain(root / chain_dir, key)
        try:
            self.warehouse = Warehouse(root / warehouse_dir)
            removed = self.warehouse.clean_temp()
            if removed:
                log.info("removed %d unfinished warehouse imports", removed)
            self.cache = ChainCache(root / cache_dir, cache_limits)
        except BaseException:
            self.chain.close()
            raise
        self.index = LocalIndex()
        self.policy = policy if policy is not None else ChainPolicy()
        self.verifier = HitVerifier(self.cache, self.chain, locator, self.policy)
        refresh_index(self.index, self.cache, self.chain)
        # Every change of the own chain (through this library or not) re-indexes it.
        self.chain.watch(lambda _state: self._reindex_own())

    def close(self) -> None:
        """Close the LMDB stores."""
        self.chain.close()
        self.cache.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def owner(self) -> PublicKey:
        """The own public key."""
        return self.chain.owner.public_key

    # --- own files ------------------------------------------------------------------------

    def share(self, path: str | os.PathLike[str], now: int, meta: FileMetadata | None = None) -> ShareResult:
        """Share a file (warehouse + file record in one chain transaction) and index it."""
        return share_file(self.chain, self.warehouse, path, now, meta)

    def unshare(self, ids: Sequence[uuid.UUID], *, delete_content: bool = False) -> ChainState:
        """Stop sharing files (the chain is rewritten under a new version)."""
        return unshare_files(self.chain, self.warehouse, ids, delete_content=delete_content)

    def update(self, file_id: uuid.UUID, meta: FileMetadata, now: int) -> None:
        """Change a shared file's metadata."""
        update_file(self.chain, file_id, meta, now)

    def _reindex_own(self) -> None:
        index_chain(self.index, self.owner, files_of(self.owner, self.cache, self.chain))

    # --- other chains ---------------------------------------------------------------------

    async def on_chain_state(
        self, source: BlockSource, owner: PublicKey, version: int, height: int, now: float
    ) -> SyncResult:
        """A peer announced (version, height) for its chain: fetch it if the policy says so, and
        re-index it when it changed."""
        if owner == self.owner:
            raise ValueError("the own chain is not cached")
        result = await sync_chain(source, self.cache, self.policy, owner, version, height, now)
        if result.changed:
            index_chain(self.index, owner, files_of(owner, self.cache))
        return result

    # --- search and explore ---------------------------------------------------------------

    def search_local(
        self, term: str, search_filter: SearchFilter | None = None, order: int = 0, limit: int = 200
    ) -> list[VerifiedFile]:
        """The local index's hits for ``term``, checked against the chains, filtered and sorted."""
        hits = hits_from_index(self.index, term, limit)
        chains = {hit.owner: files_of(hit.owner, self.cache, self.chain) for hit in hits}
        report = match_hits(hits, chains)
        return sort_files(filter_files(report.files, search_filter or SearchFilter()), order)

    async def verify_hits(self, hits: Sequence[CandidateHit], now: float) -> VerifyReport:
        """Verify network search hits (fetching owners' chains through the locator); fetched chains
        are indexed too."""
        before = {hit.owner: self.cache.get(hit.owner) for hit in hits}
        report = await self.verifier.verify(hits, now)
        for owner, cached in before.items():
            if owner != self.owner and self.cache.get(owner) != cached:
                index_chain(self.index, owner, files_of(owner, self.cache))
        return report

    def recent(self, *, limit: int = 100, file_type: int = -1, offset: int = 0) -> list[ChainFile]:
        """Recently shared files across the cached chains."""
        return recent_files(self.cache, limit=limit, file_type=file_type, offset=offset)

    def files(self, owner: PublicKey, *, limit: int = 100, file_type: int = -1, offset: int = 0) -> list[ChainFile]:
        """One owner's files (the own chain for the own key)."""
        return owner_files(owner, self.cache, self.chain, limit=limit, file_type=file_type, offset=offset)

    def profile(self, owner: PublicKey) -> dict[int, bytes]:
        """One owner's profile fields."""
        return profile_of(owner, self.cache, self.chain)

    # --- serving --------------------------------------------------------------------------

    def tree_of(self, file_hash: bytes) -> MerkleTree | None:
        """The stored merkle tree of a file in the warehouse, or None."""
        try:
            return self.warehouse.merkle_tree(file_hash)
        except WarehouseError:
            return None

    def read_range(self, file_hash: bytes, offset: int, length: int) -> bytes:
        """At most ``min(length, 1 MiB)`` bytes of a warehouse file (raises WarehouseError)."""
        return self.warehouse.read(file_hash, offset, min(length, MAX_READ))
