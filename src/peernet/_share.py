"""Sharing files: warehouse import, merkle tree and the file record, appended to the own chain.

:func:`share_file` streams a file into the :class:`~peernet_chain.Warehouse` (deduplicated by
content hash; the warehouse builds the merkle tree and its ``.merkle`` companion), detects type and
format, and appends one file record to the :class:`~peernet_chain.LocalChain` (one LMDB write
transaction). :func:`unshare_files` and :func:`update_file` rewrite the chain under a new version
(the chain layer's refactoring); warehouse content no other own file refers to can be removed too.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from typing import Final

import attrs

from peernet_chain import ChainState, FileRecord, FileTag, LocalChain, StoredFile, TagType, Warehouse

from ._filetypes import detect_file_type

__all__ = ["FileMetadata", "ShareResult", "file_record", "share_file", "unshare_files", "update_file"]

log = logging.getLogger(__name__)

_SNIFF_BYTES: Final = 512
MAX_TEXT_BYTES: Final = 4096  # name, folder and description each


@attrs.frozen
class FileMetadata:
    """What the user says about a shared file. ``name`` None: the source file's base name.
    ``file_type``/``file_format`` None: detected from the name and the content."""

    name: str | None = None
    folder: str = ""
    description: str = ""
    date_created: int | None = None
    file_type: int | None = None
    file_format: int | None = None
    extra_tags: tuple[FileTag, ...] = ()


@attrs.frozen
class ShareResult:
    """The published record, the stored file and the chain state afterwards."""

    record: FileRecord
    stored: StoredFile
    state: ChainState


def _text_tag(kind: int, text: str) -> FileTag:
    data = text.encode("utf-8")
    if len(data) > MAX_TEXT_BYTES:
        raise ValueError(f"tag {kind} longer than {MAX_TEXT_BYTES} bytes")
    return FileTag(kind, data)


def file_record(
    stored: StoredFile, meta: FileMetadata, name: str, head: bytes, file_id: uuid.UUID | None = None
) -> FileRecord:
    """The file record for ``stored`` (type and format detected unless ``meta`` gives them)."""
    detected = detect_file_type(name, head)
    tags = [_text_tag(TagType.NAME, name)]
    if meta.folder:
        tags.append(_text_tag(TagType.FOLDER, meta.folder))
    if meta.description:
        tags.append(_text_tag(TagType.DESCRIPTION, meta.description))
    if meta.date_created is not None:
        tags.append(FileTag(TagType.DATE_CREATED, meta.date_created.to_bytes(8, "little", signed=True)))
    tags.extend(tag for tag in meta.extra_tags if not tag.is_virtual)
    return FileRecord(
        hash=stored.hash,
        id=file_id if file_id is not None else uuid.uuid4(),
        merkle_root=stored.merkle_root,
        fragment_size=stored.fragment_size,
        file_type=meta.file_type if meta.file_type is not None else detected[0],
        file_format=meta.file_format if meta.file_format is not None else detected[1],
        size=stored.size,
        tags=tuple(tags),
    )


def share_file(
    chain: LocalChain,
    warehouse: Warehouse,
    path: str | os.PathLike[str],
    now: int,
    meta: FileMetadata | None = None,
) -> ShareResult:
    """Import ``path`` into the warehouse and publish its file record on the own chain."""
    meta = meta if meta is not None else FileMetadata()
    with open(path, "rb") as source:
        head = source.read(_SNIFF_BYTES)
    stored = warehouse.import_path(path)
    name = meta.name if meta.name is not None else os.path.basename(os.fspath(path))
    record = file_record(stored, meta, name, head)
    state = chain.add_files([record], now)
    log.info("shared %s as %s (%d bytes)", name, record.id, record.size)
    return ShareResult(record, stored, state)


def _hashes_in_use(chain: LocalChain) -> set[bytes]:
    return {file.hash for file in chain.files()}


def unshare_files(
    chain: LocalChain, warehouse: Warehouse, ids: Sequence[uuid.UUID], *, delete_content: bool = False
) -> ChainState:
    """Remove file records (new chain version); with ``delete_content`` also warehouse files no
    remaining own record refers to."""
    gone = {file.hash for file in chain.files() if file.id in set(ids)}
    state = chain.delete_files(ids)
    if delete_content:
        for file_hash in gone - _hashes_in_use(chain):
            warehouse.delete(file_hash)
    return state


def update_file(chain: LocalChain, file_id: uuid.UUID, meta: FileMetadata, now: int) -> FileRecord:
    """Change name, folder, description or type of a shared file (same ID and content)."""
    current = next((file for file in chain.files() if file.id == file_id), None)
    if current is None:
        raise KeyError(f"no shared file {file_id}")
    old_name = next((tag.data.decode("utf-8", "replace") for tag in current.tags if tag.type == TagType.NAME), "")
    stored = StoredFile(current.hash, current.size, current.merkle_root, current.fragment_size)
    merged = attrs.evolve(
        meta,
        file_type=meta.file_type if meta.file_type is not None else current.file_type,
        file_format=meta.file_format if meta.file_format is not None else current.file_format,
    )
    record = file_record(stored, merged, meta.name if meta.name is not None else old_name, b"", file_id)
    chain.replace_files([record], now)
    return record
