"""The node's own content: its chain (LMDB, ``<data>/blockchain``) and its warehouse (``<data>/warehouse``).

One :class:`trio.Lock` serialises every change that touches the chain and the warehouse together
(publishing, deleting, account deletion), so a reference check and the delete it allows cannot
interleave with a concurrent add of the same hash.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Self

import trio

from peernet_chain import LocalChain, Warehouse
from peernet_proto import PrivateKey

from ._config import KEY_FILE

__all__ = ["CHAIN_DIR", "DELETED_MARKER", "WAREHOUSE_DIR", "NodeContent"]

CHAIN_DIR = "blockchain"
WAREHOUSE_DIR = "warehouse"
DELETED_MARKER = "account-deleted"
log = logging.getLogger(__name__)


class NodeContent:
    """Opens (creating when needed) the own chain and the warehouse of a data directory."""

    def __init__(self, data_dir: Path, key: PrivateKey) -> None:
        self.data_dir = Path(data_dir)
        marker = self.data_dir / DELETED_MARKER
        if marker.exists():  # the account was deleted: the old identity's chain goes with its key
            shutil.rmtree(self.data_dir / CHAIN_DIR, ignore_errors=True)
            marker.unlink()
        self.chain = LocalChain(self.data_dir / CHAIN_DIR, key)
        self.warehouse = Warehouse(self.data_dir / WAREHOUSE_DIR)
        removed = self.warehouse.clean_temp()
        if removed:
            log.info("removed %d unfinished warehouse imports", removed)
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

    def close(self) -> None:
        """Close the chain's LMDB environment."""
        self.chain.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
