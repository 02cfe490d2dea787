"""The node's content: its chain (LMDB, ``<data>/blockchain``), its warehouse (``<data>/warehouse``)
and the cache of other peers' chains (``<data>/chains``), with the local search index over them —
a :class:`~peernet._library.ContentLibrary` under the node's directory names.

One :class:`trio.Lock` serialises every change that touches the chain and the warehouse together
(publishing, deleting, account deletion), so a reference check and the delete it allows cannot
interleave with a concurrent add of the same hash.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Final

import trio

from peernet_chain import CacheLimits
from peernet_proto import PrivateKey

from ._chains import ChainPolicy
from ._config import KEY_FILE
from ._library import ContentLibrary

__all__ = ["CACHE_DIR", "CHAIN_DIR", "DELETED_MARKER", "WAREHOUSE_DIR", "NodeContent"]

CHAIN_DIR: Final = "blockchain"
WAREHOUSE_DIR: Final = "warehouse"
CACHE_DIR: Final = "chains"
DELETED_MARKER: Final = "account-deleted"
MIN_FETCH_INTERVAL: Final = 2.0
log = logging.getLogger(__name__)


class NodeContent(ContentLibrary):
    """Opens (creating when needed) the own chain, the warehouse and the chain cache of a data directory."""

    def __init__(self, data_dir: Path, key: PrivateKey, *, cache_limits: CacheLimits | None = None) -> None:
        data_dir = Path(data_dir)
        marker = data_dir / DELETED_MARKER
        if marker.exists():  # the account was deleted: the old identity's chain goes with its key
            shutil.rmtree(data_dir / CHAIN_DIR, ignore_errors=True)
            marker.unlink()
        # A changed chain is fetched again after 2 s at the earliest: a search hit of a file shared
        # a moment ago is verified at once, while a peer changing its chain all the time costs one
        # fetch per 2 s (and at most a few fetches run at once).
        policy = ChainPolicy(min_interval=MIN_FETCH_INTERVAL)
        super().__init__(data_dir, key, cache_limits=cache_limits, policy=policy,
                         dirs=(CHAIN_DIR, WAREHOUSE_DIR, CACHE_DIR))
        self.lock = trio.Lock()

    def delete_account(self) -> None:
        """Empty the chain and the warehouse and forget the private key: the next start makes a new
        identity (and drops the old chain). Call with :attr:`lock` held."""
        self.chain.delete_chain()
        for file_hash in list(self.warehouse):
            self.warehouse.delete(file_hash)
        (self.data_dir / DELETED_MARKER).touch()
        (self.data_dir / KEY_FILE).unlink(missing_ok=True)

    def referenced_hashes(self) -> set[bytes]:
        """Hashes of every file the own chain publishes."""
        return {record.hash for record in self.chain.files()}
