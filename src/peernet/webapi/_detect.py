"""File type and format from a name or the first bytes (spec webapi.md §3.11), and the HTTP
content type for a file format."""

from __future__ import annotations

from typing import Final

__all__ = ["content_type", "detect_extension", "detect_prefix"]

_EXTENSIONS: Final[dict[str, tuple[int, int]]] = {}
for _names, _pair in (
    ("txt log ini json md", (1, 10)), ("csv tsv", (1, 15)), ("html htm", (1, 9)), ("sql", (1, 13)),
    ("eml mbox", (1, 14)), ("pnsearch", (1, 21)), ("doc docx rtf odt", (5, 2)), ("pdf", (5, 1)),
    ("xls xlsx ods", (5, 3)), ("ppt pptx odp", (5, 4)), ("gif jpg jpeg png svg bmp tif tiff jfif webp", (2, 5)),
    ("mp4 flv avi mov mpg mpeg h264 3g2 3gp mkv wmv webm ts", (3, 7)), ("mp3 ogg flac", (4, 6)),
    ("zip rar 7z tar", (7, 8)), ("iso", (7, 20)), ("epub mobi prc", (10, 11)), ("gz bz bz2 xz", (8, 12)),
    ("exe sys dll cmd bat", (6, 17)), ("msi", (6, 18)), ("apk", (6, 19)),
):
    for _name in _names.split():
        _EXTENSIONS[_name] = _pair

# (signature, offset, (type, format), MIME type)
_SIGNATURES: Final = (
    (b"%PDF-", 0, (5, 1), "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, (2, 5), "image/png"),
    (b"\xff\xd8\xff", 0, (2, 5), "image/jpeg"),
    (b"GIF87a", 0, (2, 5), "image/gif"),
    (b"GIF89a", 0, (2, 5), "image/gif"),
    (b"BM", 0, (2, 5), "image/bmp"),
    (b"II*\x00", 0, (2, 5), "image/tiff"),
    (b"MM\x00*", 0, (2, 5), "image/tiff"),
    (b"ID3", 0, (4, 6), "audio/mpeg"),
    (b"OggS", 0, (4, 6), "application/ogg"),
    (b"fLaC", 0, (4, 6), "audio/flac"),
    (b"\x1aE\xdf\xa3", 0, (3, 7), "video/webm"),
    (b"ftyp", 4, (3, 7), "video/mp4"),
    (b"PK\x03\x04", 0, (7, 8), "application/zip"),
    (b"Rar!\x1a\x07", 0, (7, 8), "application/x-rar-compressed"),
    (b"7z\xbc\xaf\x27\x1c", 0, (7, 8), "application/x-7z-compressed"),
    (b"\x1f\x8b\x08", 0, (0, 0), "application/x-gzip"),
)
_HTML_STARTS: Final = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")
_FORMAT_TYPES: Final = {1: "application/pdf", 9: "text/html; charset=utf-8", 10: "text/plain; charset=utf-8",
                        15: "text/csv; charset=utf-8", 21: "application/json"}


def detect_extension(name: str) -> tuple[int, int] | None:
    """(type, format) from the extension of the base name (Windows or POSIX separators); None without one."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return None
    return _EXTENSIONS.get(base.rsplit(".", 1)[1].lower(), (0, 0))


def _sniff(prefix: bytes) -> tuple[tuple[int, int], str]:
    for signature, offset, pair, mime in _SIGNATURES:
        if prefix[offset : offset + len(signature)] == signature:
            return pair, mime
    if prefix[:4] == b"RIFF" and prefix[8:12] in (b"WAVE", b"AVI "):
        return ((4, 6), "audio/wave") if prefix[8:12] == b"WAVE" else ((3, 7), "video/avi")
    lowered = prefix.lstrip(b"\t\n\x0c\r ").lower()
    if lowered.startswith(_HTML_STARTS):
        return (1, 9), "text/html; charset=utf-8"
    if prefix and not any(byte < 0x20 and byte not in b"\t\n\x0c\r\x1b" for byte in prefix):
        return (1, 10), "text/plain; charset=utf-8"
    return (0, 0), "application/octet-stream"


def detect_prefix(prefix: bytes) -> tuple[int, int]:
    """(type, format) sniffed from the first 512 bytes."""
    return _sniff(prefix[:512])[0]


def content_type(file_format: int | None, prefix: bytes) -> str:
    """HTTP content type: from the published file format when it names one, else sniffed."""
    if file_format is not None and file_format in _FORMAT_TYPES:
        return _FORMAT_TYPES[file_format]
    return _sniff(prefix[:512])[1]
