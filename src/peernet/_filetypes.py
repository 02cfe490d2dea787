"""File type and format detection (spec webapi.md §3.11, chain.md §3.7): extension first, then magic bytes.

The extension table is the reference's. Without a known extension the first bytes are sniffed for
the signatures that give a non-zero result in the reference's sniffer (a subset of WHATWG sniffing).
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["FileFormat", "FileType", "detect_file_type"]


class FileType:
    """File type codes (u8)."""

    BINARY: Final = 0
    TEXT: Final = 1
    PICTURE: Final = 2
    VIDEO: Final = 3
    AUDIO: Final = 4
    DOCUMENT: Final = 5
    EXECUTABLE: Final = 6
    CONTAINER: Final = 7
    COMPRESSED: Final = 8
    FOLDER: Final = 9
    EBOOK: Final = 10


class FileFormat:
    """File format codes (u16)."""

    BINARY: Final = 0
    PDF: Final = 1
    WORD: Final = 2
    EXCEL: Final = 3
    POWERPOINT: Final = 4
    PICTURE: Final = 5
    AUDIO: Final = 6
    VIDEO: Final = 7
    CONTAINER: Final = 8
    HTML: Final = 9
    TEXT: Final = 10
    EBOOK: Final = 11
    COMPRESSED: Final = 12
    DATABASE: Final = 13
    EMAIL: Final = 14
    CSV: Final = 15
    FOLDER: Final = 16
    EXECUTABLE: Final = 17
    INSTALLER: Final = 18
    APK: Final = 19
    ISO: Final = 20
    PEERNET_SEARCH: Final = 21


def _table(spec: dict[tuple[int, int], str]) -> dict[str, tuple[int, int]]:
    return {ext: pair for pair, names in spec.items() for ext in names.split()}


_EXTENSIONS: Final = _table(
    {
        (1, 10): "txt log ini json md",
        (1, 15): "csv tsv",
        (1, 9): "html htm",
        (1, 13): "sql",
        (1, 14): "eml mbox",
        (1, 21): "pnsearch",
        (5, 2): "doc docx rtf odt",
        (5, 1): "pdf",
        (5, 3): "xls xlsx ods",
        (5, 4): "ppt pptx odp",
        (2, 5): "gif jpg jpeg png svg bmp tif tiff jfif webp",
        (3, 7): "mp4 flv avi mov mpg mpeg h264 3g2 3gp mkv wmv webm ts",
        (4, 6): "mp3 ogg flac",
        (7, 8): "zip rar 7z tar",
        (7, 20): "iso",
        (10, 11): "epub mobi prc",
        (8, 12): "gz bz bz2 xz",
        (6, 17): "exe sys dll cmd bat",
        (6, 18): "msi",
        (6, 19): "apk",
    }
)

# (signature, offset, (type, format)); checked in order.
_MAGIC: Final = (
    (b"%PDF-", 0, (5, 1)),
    (b"\x89PNG\r\n\x1a\n", 0, (2, 5)),
    (b"\xff\xd8\xff", 0, (2, 5)),
    (b"GIF87a", 0, (2, 5)),
    (b"GIF89a", 0, (2, 5)),
    (b"BM", 0, (2, 5)),
    (b"II*\x00", 0, (2, 5)),
    (b"MM\x00*", 0, (2, 5)),
    (b"ID3", 0, (4, 6)),
    (b"OggS", 0, (4, 6)),
    (b"fLaC", 0, (4, 6)),
    (b"MThd", 0, (4, 6)),
    (b"\x1aE\xdf\xa3", 0, (3, 7)),
    (b"FLV", 0, (3, 7)),
    (b"PK\x03\x04", 0, (7, 8)),
    (b"Rar!\x1a\x07", 0, (7, 8)),
    (b"7z\xbc\xaf\x27\x1c", 0, (7, 8)),
    (b"ustar", 257, (7, 8)),
    (b"BZh", 0, (7, 8)),
    (b"{\\rtf1", 0, (5, 2)),
)
_HTML_TAGS: Final = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<script", b"<title")


def _sniff(head: bytes) -> tuple[int, int]:
    for signature, offset, result in _MAGIC:
        if head[offset : offset + len(signature)] == signature:
            return result
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        return {b"WEBP": (2, 5), b"AVI ": (3, 7), b"WAVE": (4, 6)}[head[8:12]]
    if head[4:8] == b"ftyp":
        return (3, 7)
    stripped = head.lstrip(b" \t\r\n\x0c").lower()
    if any(stripped.startswith(tag) for tag in _HTML_TAGS):
        return (1, 9)
    if head and not any(byte < 0x09 or (0x0D < byte < 0x20 and byte != 0x1B) for byte in head[:512]):
        return (1, 10)
    return (0, 0)


def detect_file_type(name: str, head: bytes = b"") -> tuple[int, int]:
    """(type, format) of a file called ``name`` whose first bytes are ``head`` (up to 512 used).

    A known extension decides (reference behaviour); otherwise the content is sniffed (the
    reference gives Binary for an unknown extension). Windows-style names are split on both separators.
    """
    base = os.path.basename(name.replace("\\", "/"))
    if "." in base:
        known = _EXTENSIONS.get(base.rsplit(".", 1)[1].lower())
        if known is not None:
            return known
    return _sniff(head[:512])
