"""Keyword extraction exactly as the reference (spec dht.md §10.2, §10.4, §10.6).

Tokens must match Go's so that keyword hashes agree: whitespace is Go's ``unicode.IsSpace``,
lowercasing is per code point with the simple mapping, lengths are UTF-8 bytes, character classes
come from ``unicodedata.category`` and the extension is cut like Go's ``path.Ext``.
"""

from __future__ import annotations

import unicodedata
from typing import Final

import attrs

from peernet_proto import hash_data

__all__ = [
    "MIN_WORD_BYTES",
    "Query",
    "camel_case_split",
    "file_keywords",
    "parse_query",
    "sanitize",
    "text_keywords",
    "word_hash",
]

#: Shorter words (UTF-8 bytes) are not keywords.
MIN_WORD_BYTES: Final = 3

# Go unicode.IsSpace. Python's str.isspace() also accepts U+001C..U+001F, Go does not.
_GO_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_SEPARATORS: Final = frozenset("+-._()[],\u2013")  # and the EN DASH, not the em dash


def sanitize(text: str | bytes) -> str:
    """Drop invalid UTF-8 (and lone surrogates), then trim Go whitespace at both ends."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _trim(raw.decode("utf-8", "ignore"))


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in _GO_SPACE:
        start += 1
    while end > start and text[end - 1] in _GO_SPACE:
        end -= 1
    return text[start:end]


def _lower(text: str) -> str:
    # Go unicode.ToLower per code point; Python's full mapping turns İ into "i̇".
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


def word_hash(word: str) -> tuple[bytes, str] | None:
    """(BLAKE3 of the lowercased, trimmed word, that word), or None if under 3 UTF-8 bytes."""
    word = _trim(_lower(word))
    encoded = word.encode("utf-8")
    if len(encoded) < MIN_WORD_BYTES:
        return None
    return hash_data(encoded), word


def _add(word: str, into: dict[bytes, str]) -> None:
    hashed = word_hash(word)
    if hashed is not None:
        into[hashed[0]] = hashed[1]


def _class(char: str) -> int:
    category = unicodedata.category(char)
    return {"Ll": 1, "Lu": 2, "Nd": 3}.get(category, 4)


def camel_case_split(word: str) -> list[str]:
    """Split at changes of character class; an upper letter before a lower run joins that run."""
    runs: list[list[str]] = []
    last = 0
    for char in word:
        cls = _class(char)
        if cls == last:
            runs[-1].append(char)
        else:
            runs.append([char])
        last = cls
    for i in range(len(runs) - 1):
        if _class(runs[i][0]) == 2 and _class(runs[i + 1][0]) == 1:
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(run) for run in runs if run]


def _words(text: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _GO_SPACE or char in _SEPARATORS:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def text_keywords(text: str, into: dict[bytes, str] | None = None) -> dict[bytes, str]:
    """Keyword hash → keyword for free text (Go ``text2Hashes``)."""
    found: dict[bytes, str] = {} if into is None else into
    for word in _words(text):
        word = word.removeprefix("#")
        _add(word, found)
        for piece in camel_case_split(word):
            if piece != word:
                _add(piece, found)
    return found


def _remove_extension(name: str) -> str:
    # Go path.Ext: the suffix from the last "." unless a "/" follows it.
    for i in range(len(name) - 1, -1, -1):
        if name[i] == "/":
            break
        if name[i] == ".":
            return name[:i]
    return name


def file_keywords(name: str | bytes, folder: str | bytes = "", description: str | bytes = "") -> dict[bytes, str]:
    """Keyword hash → keyword for one file record (Go ``filename2Hashes`` + description)."""
    found: dict[bytes, str] = {}
    name, folder = sanitize(name), sanitize(folder)
    if len(name.encode("utf-8")) >= MIN_WORD_BYTES:
        _add(name, found)
        stem = _remove_extension(name)
        _add(stem, found)
        text_keywords(stem, found)
        text_keywords(folder.replace("\\", " ").replace("/", " "), found)
    text_keywords(sanitize(description), found)
    return found


@attrs.frozen
class Query:
    """A parsed search term: the exact-match keyword, plus the split keywords unless quoted."""

    exact: tuple[bytes, str] | None
    keywords: dict[bytes, str] = attrs.field(factory=dict)  # excludes the exact hash
    exact_only: bool = False

    def hashes(self) -> dict[bytes, str]:
        found = {} if self.exact is None else {self.exact[0]: self.exact[1]}
        found.update(self.keywords)
        return found


def parse_query(term: str | bytes) -> Query:
    """Go ``sanitizeInputTerm`` + ``Search``: quotes make an exact search; ``*`` is ignored."""
    text = sanitize(term)
    exact_only = len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"
    if exact_only:
        text = text[1:-1]
    if len(text.encode("utf-8")) < MIN_WORD_BYTES:
        return Query(None, {}, exact_only)
    exact = word_hash(text)
    if exact_only:
        return Query(exact, {}, True)
    keywords = text_keywords(text)
    if exact is not None:
        keywords.pop(exact[0], None)
    return Query(exact, keywords, False)
