"""The numeric codes a file record and a profile record carry: file type, file format, profile field.

The values are those of the reference node; every other value is allowed on the wire and
round-trips (a :class:`~peernet_chain.FileRecord` holds a plain ``int``), so decoders never reject a
code they do not know. Use :meth:`FileType.name_of` and friends to print a code that may be unknown.
"""

from __future__ import annotations

import enum

__all__ = ["FileFormat", "FileType", "ProfileFieldType"]


class _Code(enum.IntEnum):
    @classmethod
    def name_of(cls, value: int) -> str:
        """The member's name for ``value``, or ``"<value>"`` for a code this version does not know."""
        try:
            return cls(value).name
        except ValueError:
            return f"<{value}>"


class FileType(_Code):
    """A file's coarse kind (u8 at offset 88 of a file record). Search filters by it."""

    BINARY = 0
    TEXT = 1
    PICTURE = 2
    VIDEO = 3
    AUDIO = 4
    DOCUMENT = 5
    EXECUTABLE = 6
    CONTAINER = 7
    COMPRESSED = 8
    FOLDER = 9
    """A virtual folder: format :attr:`FileFormat.FOLDER`, size 0, the hash of empty content."""
    EBOOK = 10


class FileFormat(_Code):
    """A file's precise format (u16 at offset 89 of a file record)."""

    BINARY = 0
    PDF = 1
    WORD = 2
    EXCEL = 3
    POWERPOINT = 4
    PICTURE = 5
    AUDIO = 6
    VIDEO = 7
    CONTAINER = 8
    HTML = 9
    TEXT = 10
    EBOOK = 11
    COMPRESSED = 12
    DATABASE = 13
    EMAIL = 14
    CSV = 15
    FOLDER = 16
    EXECUTABLE = 17
    INSTALLER = 18
    APK = 19
    ISO = 20
    PEERNET_SEARCH = 21


class ProfileFieldType(_Code):
    """The type (u16) of a self-asserted profile field. Text fields are UTF-8; nothing is verified."""

    NAME = 0
    EMAIL = 1
    WEBSITE = 2
    TWITTER = 3
    """The handle without the leading ``@``."""
    YOUTUBE = 4
    """A channel URL."""
    ADDRESS = 5
    """A physical address."""
    PICTURE = 6
    """A binary image."""
