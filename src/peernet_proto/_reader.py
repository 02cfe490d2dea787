"""A bounds-checked cursor over received bytes: every read either succeeds or raises TruncatedError."""

from __future__ import annotations

import struct

from ._errors import TruncatedError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Reader:
    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str, start: int = 0) -> None:
        self._data = data
        self._pos = start
        self._what = what

    @property
    def position(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def require(self, size: int, field: str) -> None:
        if size > len(self._data) - self._pos:
            raise TruncatedError(
                f"{self._what}: {field} needs {size} bytes at offset {self._pos}, "
                f"only {len(self._data) - self._pos} left"
            )

    def take(self, size: int, field: str) -> bytes:
        self.require(size, field)
        start = self._pos
        self._pos = start + size
        return self._data[start : self._pos]

    def rest(self) -> bytes:
        start = self._pos
        self._pos = len(self._data)
        return self._data[start:]

    def u8(self, field: str) -> int:
        self.require(1, field)
        value = self._data[self._pos]
        self._pos += 1
        return value

    def u16(self, field: str) -> int:
        self.require(2, field)
        (value,) = _U16.unpack_from(self._data, self._pos)
        self._pos += 2
        return int(value)

    def u32(self, field: str) -> int:
        self.require(4, field)
        (value,) = _U32.unpack_from(self._data, self._pos)
        self._pos += 4
        return int(value)

    def u64(self, field: str) -> int:
        self.require(8, field)
        (value,) = _U64.unpack_from(self._data, self._pos)
        self._pos += 8
        return int(value)
