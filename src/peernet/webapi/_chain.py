"""``/blockchain/*``: the own chain's header, raw append and read, and the own shared files
(spec webapi.md §2.2–2.3)."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from fastapi import APIRouter, Request

from peernet_chain import (
    BlockDecodeError,
    BlockNotFoundError,
    ChainCorruptError,
    FileRecord,
    Record,
    RecordType,
    decode_block,
    decode_file_records,
)
from peernet_proto import EncodeError

from ._apifile import FileInput, file_to_api, parse_files, to_record
from ._backend import ApiBackend
from ._docs import FILES_IN, FILES_WITH_ID_IN, NATURAL, RECORDS_IN, json_body, ok, params
from ._encoding import BadRequestError, GoJSONResponse, b64, from_b64, query_int, read_json, want_int
from ._models import BlockchainBlock, BlockchainHeader, BlockStatus, FileList

__all__ = ["BLOCK_STATUS_OK", "CORRUPT_RECORD", "block_status", "chain_change", "chain_router", "profile_to_api"]

log = logging.getLogger(__name__)

BLOCK_STATUS_OK: Final = 0
_NOT_FOUND, _CORRUPT, CORRUPT_RECORD, _NOT_IN_WAREHOUSE = 1, 2, 3, 5
_TEXT_FIELDS: Final = range(6)


def profile_to_api(kind: int, data: bytes) -> dict[str, Any]:
    """apiBlockRecordProfile: types 0–5 as text, others (picture, custom) as blob."""
    if kind in _TEXT_FIELDS:
        return {"type": kind, "text": data.decode(errors="replace"), "blob": None}
    return {"type": kind, "text": "", "blob": b64(data)}


def block_status(status: int, backend: ApiBackend) -> GoJSONResponse:
    """apiBlockchainBlockStatus with the chain's current height and version."""
    state = backend.content.chain.state
    return GoJSONResponse({"status": status, "height": state.height, "version": state.version})


def chain_change(backend: ApiBackend, change: Any) -> GoJSONResponse:
    try:
        change()
    except ChainCorruptError:
        log.exception("own chain is corrupt")
        return block_status(_CORRUPT, backend)
    except (EncodeError, BlockDecodeError, ValueError) as exc:
        log.info("chain change refused: %s", exc)
        return block_status(CORRUPT_RECORD, backend)
    return block_status(BLOCK_STATUS_OK, backend)


def _records(backend: ApiBackend, files: list[FileInput]) -> list[FileRecord] | None:
    records = []
    for file in files:
        record = to_record(file, backend.content.warehouse)
        if record is None:
            return None
        records.append(record)
    return records


def _parse_raw_records(body: dict[str, Any]) -> list[Record]:
    items = body.get("records") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadRequestError("records: expected an array of objects")
    now = int(time.time())
    return [Record(want_int(item, "type", 0, 255), now, from_b64(item.get("data"), "data") or b"") for item in items]


def _check_records(records: list[Record]) -> bool:
    if any(r.type not in (RecordType.PROFILE, RecordType.TAG_DATA, RecordType.FILE) for r in records):
        return False
    if any(r.type == RecordType.PROFILE and len(r.data) < 2 for r in records):
        return False
    try:
        decode_file_records(records)
    except BlockDecodeError:
        return False
    return True


def _read_block(backend: ApiBackend, number: int) -> dict[str, Any]:
    empty: dict[str, Any] = {"peerid": "", "lastblockhash": None, "blockchainversion": 0, "blocknumber": 0,
                             "recordsraw": None, "recordsdecoded": None}
    try:
        block = decode_block(backend.content.chain.raw_block(number))
        files = block.files()
    except (BlockNotFoundError, ChainCorruptError):
        return {"status": _NOT_FOUND, **empty}
    except BlockDecodeError:
        return {"status": _CORRUPT, **empty}
    node_id = backend.key.public_key.node_id
    decoded: list[dict[str, Any]] = [file_to_api(file, node_id) for file in files]
    decoded += [profile_to_api(kind, data) for kind, data in block.profile().items()]
    return {"status": BLOCK_STATUS_OK, "peerid": block.owner.hex(), "lastblockhash": b64(block.previous_hash),
            "blockchainversion": block.version, "blocknumber": block.number,
            "recordsraw": [{"type": r.type, "data": b64(r.data)} for r in block.records], "recordsdecoded": decoded}


def chain_router(backend: ApiBackend) -> APIRouter:
    """Routes of the own chain."""
    router = APIRouter()
    content = backend.content

    @router.get("/blockchain/header", responses=ok(BlockchainHeader))
    async def header() -> GoJSONResponse:
        """Own peer ID (hex), chain version and height."""
        state = content.chain.state
        return GoJSONResponse({"peerid": backend.key.public_key.hex(), "version": state.version,
                               "height": state.height})

    @router.post("/blockchain/append", responses=ok(BlockStatus), openapi_extra=json_body(RECORDS_IN))
    async def append(request: Request) -> GoJSONResponse:
        """Append raw records as one block; records that do not decode are refused (status 3)."""
        records = _parse_raw_records(await read_json(request))
        if not _check_records(records):
            return block_status(CORRUPT_RECORD, backend)
        async with content.lock:
            return chain_change(backend, lambda: content.chain.append(records))

    @router.get("/blockchain/read", responses=ok(BlockchainBlock), openapi_extra=params(("block", NATURAL, True)))
    async def read(request: Request) -> GoJSONResponse:
        """One block of the own chain, raw and decoded."""
        number = query_int(request, "block")
        if number is None or number < 0:
            raise BadRequestError
        return GoJSONResponse(_read_block(backend, number))

    _file_routes(router, backend)
    return router


def _file_routes(router: APIRouter, backend: ApiBackend) -> None:
    content = backend.content
    node_id = backend.key.public_key.node_id

    @router.get("/blockchain/file/list", responses=ok(FileList), openapi_extra=params(("fileFormat", "integer", False)))
    async def file_list(request: Request) -> GoJSONResponse:
        """Own shared files in chain order, optionally only those of one file format."""
        wanted = query_int(request, "fileFormat")
        try:
            files = content.chain.files()
        except (BlockDecodeError, BlockNotFoundError, ChainCorruptError):
            return GoJSONResponse({"files": [], "status": CORRUPT_RECORD})
        return GoJSONResponse({"files": [file_to_api(f, node_id) for f in files
                                         if wanted is None or f.file_format == wanted], "status": BLOCK_STATUS_OK})

    @router.post("/blockchain/file/add", responses=ok(BlockStatus), openapi_extra=json_body(FILES_IN))
    async def file_add(request: Request) -> GoJSONResponse:
        """Publish files whose data is in the warehouse (status 5 when one is not)."""
        files = parse_files(await read_json(request))
        async with content.lock:
            records = _records(backend, files)
            if records is None:
                return GoJSONResponse({"status": _NOT_IN_WAREHOUSE, "height": 0, "version": 0})
            return chain_change(backend, lambda: content.chain.add_files(records, int(time.time())))

    @router.post("/blockchain/file/update", responses=ok(BlockStatus), openapi_extra=json_body(FILES_WITH_ID_IN))
    async def file_update(request: Request) -> GoJSONResponse:
        """Replace files by ID (they move to the chain's end with a new shared date)."""
        files = parse_files(await read_json(request), id_required=True)
        async with content.lock:
            records = _records(backend, files)
            if records is None:
                return GoJSONResponse({"status": _NOT_IN_WAREHOUSE, "height": 0, "version": 0})
            return chain_change(backend, lambda: content.chain.replace_files(records, int(time.time())))

    @router.post("/blockchain/file/delete", responses=ok(BlockStatus), openapi_extra=json_body(FILES_IN))
    async def file_delete(request: Request) -> GoJSONResponse:
        """Unpublish files by ID; their warehouse data goes when no other own file uses it."""
        ids = {file.id for file in parse_files(await read_json(request)) if file.id is not None}
        async with content.lock:
            gone = {f.hash for f in content.chain.files() if f.id in ids}
            answer = chain_change(backend, lambda: content.chain.delete_files(sorted(ids)))
            if gone:
                for file_hash in gone - content.referenced_hashes():
                    content.warehouse.delete(file_hash)
            return answer
