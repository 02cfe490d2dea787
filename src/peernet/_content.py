"""The node's own content: its chain (LMDB, ``<data>/blockchain``) and its warehouse (``<data>/warehouse``).

One :class:`trio.Lock` serialises every change that touches the chain and the warehouse together
(publishing, deleting, account deletion), so a reference check and the delete it allows cannot
interleave with a concurrent add of the same hash.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Self

import trio

from peernet_chain import LocalChain, Warehouse
from peernet_proto import PrivateKey

__all__ = ["CHAIN_DIR", "WAREHOUSE_DIR", "NodeContent"]

CHAIN_DIR = "blockchain"
WAREHOUSE_DIR = "warehouse"
log = logging.getLogger(__name__)


class NodeContent:
    """Opens (creating when needed) the own chain and the warehouse of a data directory."""

    def __init__(self, data_dir: Path, key: PrivateKey) -> None:
        self.data_dir = Path(data_dir)
        self.chain = LocalChain(self.data_dir / CHAIN_DIR, key)
        self.warehouse = Warehouse(self.data_dir / WAREHOUSE_DIR)
        removed = self.warehouse.clean_temp()
        if removed:
            log.info("removed %d unfinished warehouse imports", removed)
        self.lock = trio.Lock()

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
