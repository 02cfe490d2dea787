"""OpenAPI helpers: query parameters and request bodies that handlers parse themselves (to keep
Go's rules: first value wins, invalid integers count as missing, keys case-insensitive)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["json_body", "ok", "params"]


def params(*specs: tuple[str, str, bool]) -> dict[str, Any]:
    """``openapi_extra`` for query parameters given as (name, JSON type, required)."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required, "schema": {"type": kind}}
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
