"""OpenAPI helpers: query parameters and request bodies that handlers parse themselves (to keep
Go's rules: first value wins, invalid integers count as missing, keys case-insensitive)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

__all__ = [
    "B64", "FILES_IN", "FILES_WITH_ID_IN", "HEX32", "NATURAL", "NODE", "PATH", "PROFILE_IN", "RECORDS_IN", "UUID",
    "json_body", "ok", "params",
]


HEX32: Final = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
NODE: Final = {"type": "string", "pattern": "^([0-9a-fA-F]{64}|[0-9a-fA-F]{66})$"}
UUID: Final = {"type": "string", "format": "uuid"}
NATURAL: Final = {"type": "integer", "minimum": 0, "maximum": (1 << 62)}
PATH: Final = {"type": "string", "minLength": 1}
B64: Final = {"type": ["string", "null"], "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}
_TEXT: Final = {"type": ["string", "null"]}
_DATE: Final = {"type": ["string", "null"], "format": "date-time"}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _object(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


METADATA_IN: Final = _object(type=_int(0, 0x7FFF), name=_TEXT, text=_TEXT, blob=B64, date=_DATE,
                             number=_int(0, (1 << 63) - 1))
FILE_IN: Final = _object(
    ("hash",), id={"type": ["string", "null"], "format": "uuid"},
    hash={"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$"}, type=_int(0, 255), format=_int(0, 0xFFFF),
    size=_int(0, (1 << 63) - 1), folder=_TEXT, name=_TEXT, description=_TEXT, date=_DATE,
    nodeid=B64, metadata={"type": ["array", "null"], "items": METADATA_IN}, username=_TEXT,
)
FILES_IN: Final = _object(files={"type": ["array", "null"], "items": FILE_IN})
FILES_WITH_ID_IN: Final = _object(files={"type": ["array", "null"], "items": {
    **FILE_IN, "required": ["hash", "id"], "properties": {**FILE_IN["properties"], "id": UUID}}})
RECORDS_IN: Final = _object(records={"type": ["array", "null"], "items": _object(type=_int(0, 255), data=B64)})
PROFILE_IN: Final = _object(fields={"type": ["array", "null"], "items": _object(type=_int(0, 0xFFFF), text=_TEXT,
                                                                                   blob=B64)})


def params(*specs: tuple[str, str | dict[str, Any], bool]) -> dict[str, Any]:
    """``openapi_extra`` for query parameters given as (name, JSON type or schema, required)."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required,
             "schema": {"type": kind} if isinstance(kind, str) else kind}
            for name, kind, required in specs
        ]
    }


def json_body(schema: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a required JSON request body."""
    doc = dict(extra or {})
    doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return doc


def ok(model: type[BaseModel], *extra: int) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a JSON 200 answer, plus documented empty answers with the given codes."""
    responses: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    for code in extra:
        responses[code] = {"description": "empty body"}
    return responses
