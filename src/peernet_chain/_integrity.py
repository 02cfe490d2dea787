"""A cheap integrity check of an LMDB chain file before LMDB maps it.

LMDB trusts its file: one cut short kills the process with SIGBUS when a page past its end is read,
and an empty ``data.mdb`` is silently initialised as a new, empty database. :func:`check_lmdb_file`
reads only the two meta pages (LMDB's ``MDB_meta``, 64-bit layout) and the file size, so a chain of
any height is checked in microseconds.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Final

from ._errors import ChainCorruptError

__all__ = ["DATA_FILE", "check_lmdb_file"]

DATA_FILE: Final = "data.mdb"
_MAGIC: Final = 0xBEEFC0DE
_VERSION: Final = 1
_META: Final = 16  # page header (pgno u64, pad u16, flags u16, lower/upper u16) before MDB_meta
_PAGE_SIZE_AT: Final = _META + 24  # mm_dbs[0].md_pad holds the page size
_LAST_PAGE_AT: Final = _META + 120  # mm_last_pg, then mm_txnid
_MIN_PAGE: Final = 512
_MAX_PAGE: Final = 1 << 16


def _meta(head: bytes, offset: int, path: Path) -> tuple[int, int]:
    """(last page number, transaction ID) of the meta page at ``offset``."""
    magic, version = struct.unpack_from("<II", head, offset + _META)
    if magic != _MAGIC or version != _VERSION:
        raise ChainCorruptError(f"{path}: not an LMDB database (bad meta page header)")
    last_page, txn_id = struct.unpack_from("<QQ", head, offset + _LAST_PAGE_AT)
    return last_page, txn_id


def check_lmdb_file(directory: str | os.PathLike[str]) -> None:
    """Raise :class:`ChainCorruptError` when ``directory/data.mdb`` exists but is shorter than
    its two meta pages, has a bad header, or is shorter than its newest meta page says.

    A missing file is fine (a new chain)."""
    path = Path(directory) / DATA_FILE
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(_MAX_PAGE + _LAST_PAGE_AT + 16)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ChainCorruptError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if len(head) < _LAST_PAGE_AT + 16:
        raise ChainCorruptError(f"{path}: {size} bytes, too short for an LMDB database (truncated?)")
    page_size = struct.unpack_from("<I", head, _PAGE_SIZE_AT)[0]
    if not _MIN_PAGE <= page_size <= _MAX_PAGE or page_size & (page_size - 1):
        raise ChainCorruptError(f"{path}: not an LMDB database (page size {page_size})")
    if size < 2 * page_size:
        raise ChainCorruptError(f"{path}: {size} bytes, shorter than its two meta pages (truncated?)")
    metas = [_meta(head, 0, path), _meta(head, page_size, path)]
    last_page, _ = max(metas, key=lambda meta: meta[1])
    if (last_page + 1) * page_size > size:
        raise ChainCorruptError(
            f"{path}: {size} bytes, but the database uses {(last_page + 1) * page_size} (truncated?)"
        )
