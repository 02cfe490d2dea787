"""Values as the Go webapi reads and writes them (spec webapi.md §0): hex in queries, base64 in
JSON, UUIDs, RFC 3339 dates, Go-style booleans and integers, case-insensitive JSON keys."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "JSON_BODY_LIMIT",
    "BadRequestError",
    "BodyTooLargeError",
    "GoJSONResponse",
    "b64",
    "from_b64",
    "go_date",
    "lower_keys",
    "parse_date",
    "query",
    "query_bool",
    "query_hash",
    "query_int",
    "query_uuid",
    "read_json",
    "want_int",
    "want_str",
    "want_uuid",
]

JSON_BODY_LIMIT: Final = 16 << 20
_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
ZERO_DATE: Final = "0001-01-01T00:00:00Z"
_DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


class BadRequestError(Exception):
    """Malformed input: answered 400 with the body ``"\\n"`` (or the message, where Go writes one)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class BodyTooLargeError(Exception):
    """A request body over its route's limit: answered 413."""


class GoJSONResponse(Response):
    """``application/json`` without charset; one compact JSON value followed by a newline."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def b64(data: bytes | None) -> str | None:
    """Standard padded base64; None stays None (Go's nil ``[]byte``)."""
    return None if data is None else base64.b64encode(data).decode()


def from_b64(value: Any, name: str) -> bytes | None:
    """A JSON ``[]byte`` field: standard base64 (padding optional), or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name}: expected base64")
    text = value.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(f"{name}: invalid base64") from exc


def go_date(seconds: int | None) -> str:
    """Unix seconds as RFC 3339 UTC with whole seconds; None or out of range gives the zero time."""
    if seconds is None:
        return ZERO_DATE
    try:
        return (_EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return ZERO_DATE


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, as Go's time package)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_date(value: Any, name: str) -> int | None:
    """RFC 3339 to Unix seconds (fractions dropped); a missing zone reads as UTC; null gives None."""
    if value is None:
        return None
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise BadRequestError(f"{name}: invalid date")
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise BadRequestError(f"{name}: invalid date")
    offset = 0
    if match[8] and match[8] not in "Zz":
        sign = -1 if match[8][0] == "-" else 1
        offset = sign * (int(match[8][1:3]) * 3600 + int(match[8][4:6]) * 60)
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset


def lower_keys(value: Any) -> Any:
    """Object keys lowercased at every level (Go matches JSON keys case-insensitively)."""
    if isinstance(value, dict):
        return {str(key).lower(): lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [lower_keys(item) for item in value]
    return value


async def read_json(request: Request, limit: int = JSON_BODY_LIMIT) -> dict[str, Any]:
    """The first JSON value of the body (trailing bytes ignored, as Go), keys lowercased.

    The body is read up to ``limit`` bytes (:class:`BodyTooLargeError` beyond); an empty or
    malformed body, or one that is not an object, raises :class:`BadRequestError`.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    try:
        text = bytes(body).decode()
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError("malformed JSON") from exc
    if not isinstance(value, dict):
        raise BadRequestError("expected a JSON object")
    result: dict[str, Any] = lower_keys(value)
    return result


def want_int(body: Mapping[str, Any], name: str, low: int, high: int, default: int = 0) -> int:
    """A JSON integer in [low, high]; null or absent gives ``default``; "1", 1.5 and bools are refused.

    A whole number written with a fraction (``1.0``) is taken, as JSON Schema counts it as an
    integer (Go refuses it; accepting it breaks no client)."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**63:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequestError(f"{name}: expected an integer in [{low}, {high}]")
    return value


def want_str(body: Mapping[str, Any], name: str) -> str:
    """A JSON string; null or absent gives ``""``."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequestError(f"{name}: expected a string")
    return value


def want_uuid(body: Mapping[str, Any], name: str) -> uuid.UUID | None:
    """A UUID string; null, absent, ``""`` and the nil UUID give None."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name}: expected a UUID")
    parsed = parse_uuid(value)
    if parsed is None:
        raise BadRequestError(f"{name}: invalid UUID")
    return None if parsed.int == 0 else parsed


def parse_uuid(text: str) -> uuid.UUID | None:
    """Go's UUID parser: canonical, uppercase, ``{…}``, ``urn:uuid:…`` or 32 hex digits."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def query(request: Request, name: str) -> str | None:
    """The first value of a query parameter (names are case-sensitive; ``+`` is a space)."""
    values = request.query_params.getlist(name)
    return values[0] if values else None


def query_int(request: Request, name: str) -> int | None:
    """A decimal integer with optional sign; invalid counts as missing (None)."""
    text = query(request, name)
    if text is None:
        return None
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body.isascii() and body.isdigit() and len(body) <= 19 else None


def query_bool(request: Request, name: str) -> bool | None:
    """Go's ``strconv.ParseBool``; anything else counts as missing (None)."""
    text = query(request, name)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def query_hash(request: Request, name: str, sizes: tuple[int, ...] = (32,)) -> bytes:
    """Hex bytes of one of ``sizes`` (either case); otherwise :class:`BadRequestError`."""
    text = query(request, name) or ""
    try:
        value = bytes.fromhex(text)
    except ValueError as exc:
        raise BadRequestError(f"invalid {name}") from exc
    if len(value) not in sizes or len(text) != 2 * len(value):
        raise BadRequestError(f"invalid {name}")
    return value


def query_uuid(request: Request, name: str) -> uuid.UUID:
    """A UUID query parameter; missing or invalid gives :class:`BadRequestError`."""
    parsed = parse_uuid(query(request, name) or "")
    if parsed is None:
        raise BadRequestError(f"invalid {name}")
    return parsed
