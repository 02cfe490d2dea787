"""Grouping of new records into blocks as the reference does, and chain refactoring (sans-IO)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

import attrs

from ._block import BLOCK_HEADER_SIZE, Block
from ._records import (
    FileRecord,
    ProfileField,
    Record,
    RecordType,
    encode_file_records,
    file_size_in_block,
    profile_size_in_block,
)

__all__ = ["TARGET_BLOCK_SIZE", "group_files", "pack", "pack_files", "pack_profile", "refactor"]

#: Bytes of records :func:`pack_files` and :func:`pack_profile` put into one block, about.
TARGET_BLOCK_SIZE = 4096
_Item = TypeVar("_Item")


def pack(items: Sequence[_Item], size_of: Callable[[_Item], int], target: int) -> list[list[_Item]]:
    """Start a new group when the next item would push the estimate past ``target``."""
    groups: list[list[_Item]] = []
    current: list[_Item] = []
    running = BLOCK_HEADER_SIZE
    for item in items:
        size = size_of(item)
        if current and running + size > target:
            groups.append(current)
            current, running = [], BLOCK_HEADER_SIZE
        current.append(item)
        running += size
    if current:
        groups.append(current)
    return groups


def group_files(files: Sequence[FileRecord], target: int = TARGET_BLOCK_SIZE) -> list[list[FileRecord]]:
    """The files of each block, in order, as :func:`pack_files` splits them (``target``: bytes of records per block)."""
    return pack(files, file_size_in_block, target)


def pack_files(files: Sequence[FileRecord], date: int, target: int = TARGET_BLOCK_SIZE) -> list[list[Record]]:
    """File records grouped into blocks of about ``target`` bytes, each record dated ``date`` (Unix seconds)."""
    return [encode_file_records(group, date) for group in group_files(files, target)]


def pack_profile(
    fields: Sequence[ProfileField], date: int, target: int = TARGET_BLOCK_SIZE
) -> list[list[Record]]:
    """Profile records grouped into blocks of about ``target`` bytes, each dated ``date`` (Unix seconds)."""
    return [
        [Record(RecordType.PROFILE, date, f.type.to_bytes(2, "little") + f.data) for f in group]
        for group in pack(fields, profile_size_in_block, target)
    ]


@attrs.frozen
class RefactorResult:
    """New record lists, one per surviving block, and whether anything was removed."""

    blocks: list[list[Record]]
    changed: bool


def refactor(
    blocks: Sequence[Block],
    *,
    drop_file_ids: Collection[uuid.UUID] = frozenset(),
    drop_profile_types: Collection[int] = frozenset(),
) -> RefactorResult:
    """Remove files and profile fields the way the reference does, but keep every record's date.

    A touched block becomes [kept other records, in order] + [kept files re-encoded]; tag-data
    records are regenerated. Untouched blocks keep their records verbatim; empty blocks vanish.
    """
    result: list[list[Record]] = []
    changed = False
    for block in blocks:
        files = block.files()
        kept_files = [f for f in files if f.id not in drop_file_ids]
        others = [r for r in block.records if r.type not in (RecordType.FILE, RecordType.TAG_DATA)]
        kept_others = [r for r in others if not _is_dropped_profile(r, drop_profile_types)]
        if len(kept_files) == len(files) and len(kept_others) == len(others):
            result.append(list(block.records))
            continue
        changed = True
        file_dates = [_record_date(f) for f in kept_files]
        new_records = kept_others + encode_file_records(
            kept_files, file_dates[0] if file_dates else 0, file_dates=file_dates
        )
        if new_records:
            result.append(new_records)
    return RefactorResult(result, changed)


def _is_dropped_profile(record: Record, types: Collection[int]) -> bool:
    return record.type == RecordType.PROFILE and int.from_bytes(record.data[:2], "little") in types


def _record_date(file: FileRecord) -> int:
    date = file.date_shared
    assert date is not None, "decoded files always carry their record date"
    return date
