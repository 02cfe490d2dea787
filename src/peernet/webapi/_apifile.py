"""apiFile (spec webapi.md §3.1–3.2) to and from the chain's :class:`FileRecord`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

import attrs

from peernet_chain import FileRecord, FileTag, MerkleTree, TagType, Warehouse, WarehouseError, fragment_size
from peernet_proto import hash_data

from ._encoding import BadRequestError, b64, from_b64, go_date, parse_date, want_int, want_str, want_uuid

__all__ = ["EMPTY_HASH", "FileInput", "file_to_api", "parse_files", "to_record"]

EMPTY_HASH: Final = hash_data(b"")
_FOLDER_TYPE: Final = 9
_FOLDER_FORMAT: Final = 16
_DROPPED_TAGS: Final = frozenset({0, 1, 2, 3, 5, 6})
_TAG_NAMES: Final = {4: "Date Created", 5: "Shared By Count", 6: "Shared By GeoIP"}
_I64_MAX: Final = (1 << 63) - 1
_U64_MAX: Final = (1 << 64) - 1


def _date_value(data: bytes) -> int | None:
    return int.from_bytes(data, "little", signed=True) if len(data) == 8 else None


def _metadata(tag: FileTag) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": tag.type, "name": _TAG_NAMES.get(tag.type, ""), "text": "", "blob": None,
                             "date": go_date(None), "number": 0}
    if tag.type == TagType.DATE_CREATED:
        entry["date"] = go_date(_date_value(tag.data))
    elif tag.type == TagType.SHARED_BY_COUNT:
        entry["number"] = int.from_bytes(tag.data[:8], "little")
    elif tag.type == TagType.SHARED_BY_GEO_IP:
        entry["text"] = tag.data.decode(errors="replace")
    else:
        entry["blob"] = b64(tag.data)
    return entry


def file_to_api(record: FileRecord, node_id: bytes) -> dict[str, Any]:
    """A file in local mode: every record shown, ``metadata`` an array, ``username`` empty."""
    texts = {TagType.NAME: "", TagType.FOLDER: "", TagType.DESCRIPTION: ""}
    metadata = []
    for tag in record.tags:
        if tag.type in texts:
            texts[tag.type] = tag.data.decode(errors="replace")
        elif tag.type != TagType.DATE_SHARED:
            metadata.append(_metadata(tag))
    return {
        "id": str(record.id), "hash": b64(record.hash), "type": record.file_type, "format": record.file_format,
        "size": record.size, "folder": texts[TagType.FOLDER], "name": texts[TagType.NAME],
        "description": texts[TagType.DESCRIPTION], "date": go_date(record.date_shared), "nodeid": b64(node_id),
        "metadata": metadata, "username": "",
    }


@attrs.frozen
class FileInput:
    """An apiFile from a request, validated; ``tags`` are the ones to store."""

    id: uuid.UUID | None
    hash: bytes
    file_type: int
    file_format: int
    tags: tuple[FileTag, ...]

    @property
    def is_virtual_folder(self) -> bool:
        return self.file_type == _FOLDER_TYPE and self.file_format == _FOLDER_FORMAT


def _input_tags(item: Mapping[str, Any]) -> list[FileTag]:
    tags = [FileTag(kind, want_str(item, name).encode())
            for kind, name in ((TagType.NAME, "name"), (TagType.FOLDER, "folder"), (TagType.DESCRIPTION, "description"))
            if want_str(item, name)]
    entries = item.get("metadata")
    if entries is None:
        return tags
    if not isinstance(entries, list):
        raise BadRequestError("metadata: expected an array")
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadRequestError("metadata: expected objects")
        kind = want_int(entry, "type", 0, 0x7FFF)
        want_str(entry, "name"), want_str(entry, "text"), want_int(entry, "number", 0, _U64_MAX)
        blob, date = from_b64(entry.get("blob"), "blob"), parse_date(entry.get("date"), "date")
        if kind in _DROPPED_TAGS:
            continue
        if kind == TagType.DATE_CREATED:
            tags.append(FileTag(kind, max(-_I64_MAX, min(_I64_MAX, date or 0)).to_bytes(8, "little", signed=True)))
        else:
            tags.append(FileTag(kind, blob or b""))
    return tags


def _parse_file(item: Any, *, id_required: bool) -> FileInput:
    if not isinstance(item, dict):
        raise BadRequestError("files: expected objects")
    file_id = want_uuid(item, "id")
    if file_id is None and id_required:
        raise BadRequestError("id: required")
    file_hash = from_b64(item.get("hash"), "hash")
    if file_hash is None or len(file_hash) != 32:
        raise BadRequestError("hash: expected 32 bytes")
    want_int(item, "size", 0, _U64_MAX), want_int(item, "status", -(1 << 31), (1 << 31) - 1)
    parse_date(item.get("date"), "date"), from_b64(item.get("nodeid"), "nodeid"), want_str(item, "username")
    return FileInput(file_id, file_hash, want_int(item, "type", 0, 0xFF), want_int(item, "format", 0, 0xFFFF),
                     tuple(_input_tags(item)))


def parse_files(body: Mapping[str, Any], *, id_required: bool = False) -> list[FileInput]:
    """The ``files`` of an apiBlockAddFiles body; repeated IDs keep their first occurrence."""
    items = body.get("files")
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadRequestError("files: expected an array")
    files, seen = [], set()
    for item in items:
        parsed = _parse_file(item, id_required=id_required)
        if parsed.id is not None and parsed.id in seen:
            continue
        if parsed.id is not None:
            seen.add(parsed.id)
        files.append(parsed)
    return files


def to_record(file: FileInput, warehouse: Warehouse) -> FileRecord | None:
    """The record to publish, with size and merkle fields from the warehouse; None when the data
    (or its merkle companion) is not there (chain status 5)."""
    file_id = file.id or uuid.uuid4()
    if file.is_virtual_folder:
        tree = MerkleTree(0, fragment_size(0), EMPTY_HASH)
        file_hash = EMPTY_HASH
    else:
        try:
            tree = warehouse.merkle_tree(file.hash)
        except WarehouseError:
            return None
        file_hash = file.hash
    return FileRecord(hash=file_hash, id=file_id, merkle_root=tree.root_hash, fragment_size=tree.fragment_size,
                      file_type=file.file_type, file_format=file.file_format, size=tree.file_size, tags=file.tags)
