"""``/profile/*``: the own profile (spec webapi.md §2.4); another node's profile is read from its
cached chain (empty, status 0, when the node holds no chain of it)."""

from __future__ import annotations

import time
from typing import Any, Final

from fastapi import APIRouter, Request

from peernet_chain import BlockDecodeError, ChainCorruptError, ProfileField

from .._content import NodeContent
from ._backend import ApiBackend
from ._chain import BLOCK_STATUS_OK, CORRUPT_RECORD, block_status, chain_change, profile_to_api
from ._docs import NATURAL, PROFILE_IN, json_body, ok, params
from ._encoding import BadRequestError, GoJSONResponse, from_b64, query, query_int, read_json, want_int, want_str
from ._models import BlockStatus, ProfileData

__all__ = ["profile_router"]

_DATA_NOT_FOUND: Final = 4


def _fields(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("fields")
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadRequestError("fields: expected an array of objects")
    return items


def _field_data(item: dict[str, Any]) -> ProfileField:
    kind = want_int(item, "type", 0, 0xFFFF)
    text, blob = want_str(item, "text"), from_b64(item.get("blob"), "blob")
    return ProfileField(kind, text.encode() if kind < 6 else (blob or b""))


def _other(request: Request, own_id: bytes) -> bytes | None:
    """The node ID of another node named by ``node``, else None (the own profile)."""
    text = query(request, "node") or ""
    try:
        node = bytes.fromhex(text)
    except ValueError:
        return None
    return node if len(node) == 32 and node != own_id else None


def _other_fields(content: NodeContent, node: bytes) -> list[dict[str, Any]]:
    """Another node's profile from its cached chain; [] when no chain of it is held."""
    owner = next((o for o in content.cache.owners() if o.node_id == node), None)
    if owner is None:
        return []
    try:
        return [profile_to_api(kind, data) for kind, data in sorted(content.profile(owner).items())]
    except (BlockDecodeError, ChainCorruptError):
        return []


def profile_router(backend: ApiBackend) -> APIRouter:
    """Routes of the own profile."""
    router = APIRouter()
    content = backend.content
    own_id = backend.key.public_key.node_id

    def own_fields() -> list[dict[str, Any]] | None:
        try:
            return [profile_to_api(kind, data) for kind, data in sorted(content.chain.profile().items())]
        except (BlockDecodeError, ChainCorruptError):
            return None

    @router.get("/profile/list", responses=ok(ProfileData), openapi_extra=params(("node", "string", False)))
    async def profile_list(request: Request) -> GoJSONResponse:
        """The latest value of each field of the own profile, or of another node from its cached chain."""
        node = _other(request, own_id)
        if node is not None:
            return GoJSONResponse({"fields": _other_fields(content, node), "status": BLOCK_STATUS_OK})
        fields = own_fields()
        if fields is None:
            return GoJSONResponse({"fields": [], "status": CORRUPT_RECORD})
        return GoJSONResponse({"fields": fields, "status": BLOCK_STATUS_OK})

    async def profile_read(request: Request) -> GoJSONResponse:
        """One field of the own profile (or another node's); status 4 when it is not set."""
        kind = query_int(request, "field")
        if kind is None or kind < 0:
            raise BadRequestError
        node = _other(request, own_id)
        chosen = _other_fields(content, node) if node is not None else own_fields() or []
        fields = [f for f in chosen if f["type"] == kind]
        return GoJSONResponse({"fields": fields or None, "status": BLOCK_STATUS_OK if fields else _DATA_NOT_FOUND})

    read_doc = params(("field", NATURAL, True), ("node", "string", False))
    for method in ("GET", "POST"):  # the SDK sends POST
        router.add_api_route("/profile/read", profile_read, methods=[method], responses=ok(ProfileData),
                             openapi_extra=read_doc, operation_id=f"profile_read_{method.lower()}")

    @router.post("/profile/write", responses=ok(BlockStatus), openapi_extra=json_body(PROFILE_IN))
    async def profile_write(request: Request) -> GoJSONResponse:
        """Append each field as a profile record; a field over the size limit gives status 3."""
        fields = [_field_data(item) for item in _fields(await read_json(request))]
        if any(len(field.data) > backend.limits.profile_field_size for field in fields):
            return block_status(CORRUPT_RECORD, backend)
        async with content.lock:
            return chain_change(backend, lambda: content.chain.write_profile(fields, int(time.time())))

    @router.post("/profile/delete", responses=ok(BlockStatus), openapi_extra=json_body(PROFILE_IN))
    async def profile_delete(request: Request) -> GoJSONResponse:
        """Remove every profile record of the given types."""
        types = sorted({want_int(item, "type", 0, 0xFFFF) for item in _fields(await read_json(request))})
        async with content.lock:
            return chain_change(backend, lambda: content.chain.delete_profile(types))

    return router
