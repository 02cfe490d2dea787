"""Byte windows of warehouse files: Range headers (RFC 9110 single ranges), streamed bodies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import attrs
import trio

from ._encoding import BadRequestError

__all__ = ["ByteWindow", "RangeNotSatisfiableError", "file_chunks", "parse_range"]

CHUNK: Final = 1 << 20
_RANGE: Final = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiableError(Exception):
    """The range starts at or after the end of the file: 416."""


@attrs.frozen
class ByteWindow:
    """Bytes [start, start + length) of a file of ``size`` bytes."""

    start: int
    length: int
    size: int

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` value."""
        if not self.length:
            return f"bytes */{self.size}"
        return f"bytes {self.start}-{self.start + self.length - 1}/{self.size}"


def parse_range(header: str, size: int) -> ByteWindow:
    """One ``bytes=a-b``, ``bytes=a-`` or suffix ``bytes=-n`` range, clamped to the size.

    Several ranges or a malformed header: :class:`BadRequestError` (as Go); a start at or past the
    end: :class:`RangeNotSatisfiableError`.
    """
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        raise BadRequestError("invalid range")
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0:
            raise RangeNotSatisfiableError
        start = max(0, size - suffix)
        return ByteWindow(start, size - start, size)
    start = int(match[1])
    end = int(match[2]) if match[2] else None
    if end is not None and end < start:
        raise BadRequestError("invalid range")
    if start >= size:
        raise RangeNotSatisfiableError
    end = size - 1 if end is None else end
    return ByteWindow(start, min(end, size - 1) - start + 1, size)


async def file_chunks(path: Path, window: ByteWindow) -> AsyncIterator[bytes]:
    """The window's bytes, read in a worker thread chunk by chunk."""
    async with await trio.open_file(path, "rb") as source:
        await source.seek(window.start)
        left = window.length
        while left > 0:
            chunk = await source.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
