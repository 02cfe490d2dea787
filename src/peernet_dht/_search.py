"""Network keyword search: data structures and the payload codec. Sans-IO.

No Peernet implementation searches the network: the reference indexes downloaded blockchains
locally (spec dht.md §10). This is our addition, invisible to Go peers.

Negotiation: a node that serves it sets :data:`FEATURE_KEYWORD_SEARCH` (feature bit 3, reserved in
the reference and preserved in peer records) next to the EXTENSIONS bit (4). The payload travels
as item type 1 (``ExtensionType.KEYWORD_SEARCH``) of the extension container that follows the last
block of an Announcement or Response, where Go decoders stop reading (spec wire.md §16). Search
payloads are only ever sent to peers announcing both bits, so Go peers never see one.

Publishing: for each keyword hash of an own file, a :class:`KeywordEntry` is sent (PUBLISH) to
the k closest peers of that hash, which keep it in a :class:`KeywordStore` until it expires and
acknowledge with STORED. Querying: a QUERY for keyword hashes goes to the closest peers of each
hash; they answer with RESULTS. Results are merged per (owner, file ID) like the local index.

Payload layout (little-endian, like the rest of the protocol)::

    magic "PNS" | version u8 (1) | kind u8 | count u16 | items
    kind 1 PUBLISH, 3 RESULTS: count × entry
        keyword 32 | file ID 16 | owner key 33 | file hash 32 | size u64 | name length u8 | name UTF-8
    kind 2 QUERY: max results u16 | count × keyword hash 32
    kind 4 STORED: no items; count = entries of the PUBLISH that were accepted

Bounded: at most :data:`MAX_ITEMS` items and :data:`MAX_PAYLOAD` bytes; every malformed input
raises a :class:`SearchPayloadError` / :class:`SearchPayloadTruncatedError` (both DecodeErrors).
"""

from __future__ import annotations

import enum
import struct
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from peernet_proto import EncodeError, Feature, TruncatedError

from ._errors import SearchPayloadError
from ._index import FILE_ID_SIZE, OWNER_SIZE, IndexedFile
from ._keywords import file_keywords, parse_query

__all__ = [
    "FEATURE_KEYWORD_SEARCH",
    "MAX_ITEMS",
    "MAX_PAYLOAD",
    "KeywordEntry",
    "KeywordStore",
    "PayloadKind",
    "SearchPayload",
    "SearchPayloadTruncatedError",
    "decode_search_payload",
    "encode_search_payload",
    "entries_for_file",
    "fit_entries",
    "query_keywords",
]

FEATURE_KEYWORD_SEARCH: Final = Feature.KEYWORD_SEARCH  # bit 3, defined once in peernet_proto
MAGIC: Final = b"PNS"
VERSION: Final = 1
MAX_ITEMS: Final = 128
MAX_NAME: Final = 255
MAX_PAYLOAD: Final = 32_768  # leaves room for the Announcement/Response blocks in one packet
_HEADER = struct.Struct("<3sBBH")
_ENTRY_FIXED = struct.Struct(f"<32s{FILE_ID_SIZE}s{OWNER_SIZE}s32sQB")


class SearchPayloadTruncatedError(TruncatedError, SearchPayloadError):
    """The payload ends before the items it announces."""


class PayloadKind(enum.IntEnum):
    """What a search payload carries: PUBLISH entries, a QUERY, its RESULTS, or how many entries were STORED."""
    PUBLISH = 1
    QUERY = 2
    RESULTS = 3
    STORED = 4


@attrs.frozen
class KeywordEntry:
    """One keyword hash pointing at one file: what is published and returned by network search."""
    keyword: bytes  # keyword hash (32)
    file_id: bytes  # 16
    owner: bytes  # compressed public key (33)
    file_hash: bytes  # 32
    size: int
    name: str = ""

    def __attrs_post_init__(self) -> None:
        sizes = ((self.keyword, 32), (self.file_id, FILE_ID_SIZE), (self.owner, OWNER_SIZE), (self.file_hash, 32))
        if any(len(value) != size for value, size in sizes) or not 0 <= self.size < 2**64:
            raise ValueError("keyword entry field out of range")
        if len(self.name.encode("utf-8")) > MAX_NAME:
            raise ValueError(f"name longer than {MAX_NAME} UTF-8 bytes")

    @property
    def ref(self) -> tuple[bytes, bytes]:
        return (self.owner, self.file_id)


@attrs.frozen
class SearchPayload:
    """A network search payload (extension item ``ExtensionType.KEYWORD_SEARCH``).

    Which fields count depends on ``kind``.
    """
    kind: PayloadKind
    entries: tuple[KeywordEntry, ...] = ()
    keywords: tuple[bytes, ...] = ()  # QUERY only
    max_results: int = 0  # QUERY only
    stored: int = 0  # STORED only: how many entries of a PUBLISH were accepted


def encode_search_payload(payload: SearchPayload) -> bytes:
    """The bytes of ``payload``: at most ``MAX_ITEMS`` items and ``MAX_PAYLOAD`` bytes, else :class:`EncodeError`."""
    if payload.kind is PayloadKind.STORED:
        if not 0 <= payload.stored <= MAX_ITEMS:
            raise EncodeError(f"a STORED count is at most {MAX_ITEMS}")
        return _HEADER.pack(MAGIC, VERSION, payload.kind, payload.stored)
    items: Sequence[object] = payload.keywords if payload.kind is PayloadKind.QUERY else payload.entries
    if len(items) > MAX_ITEMS:
        raise EncodeError(f"at most {MAX_ITEMS} items per search payload, got {len(items)}")
    out = bytearray(_HEADER.pack(MAGIC, VERSION, payload.kind, len(items)))
    if payload.kind is PayloadKind.QUERY:
        if not 0 <= payload.max_results < 2**16 or any(len(k) != 32 for k in payload.keywords):
            raise EncodeError("query needs 32-byte keyword hashes and max results < 65536")
        out += struct.pack("<H", payload.max_results) + b"".join(payload.keywords)
    else:
        for e in payload.entries:
            name = e.name.encode("utf-8")
            out += _ENTRY_FIXED.pack(e.keyword, e.file_id, e.owner, e.file_hash, e.size, len(name)) + name
    if len(out) > MAX_PAYLOAD:
        raise EncodeError(f"search payload of {len(out)} bytes exceeds {MAX_PAYLOAD}")
    return bytes(out)


def decode_search_payload(data: bytes) -> SearchPayload:
    """Decode the extension bytes that follow the last reference block. Raises DecodeErrors only."""
    if len(data) > MAX_PAYLOAD:
        raise SearchPayloadError(f"search payload of {len(data)} bytes exceeds {MAX_PAYLOAD}")
    if len(data) < _HEADER.size:
        raise SearchPayloadTruncatedError("search payload shorter than its header")
    magic, version, kind_value, count = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise SearchPayloadError("not a version 1 search payload")
    try:
        kind = PayloadKind(kind_value)
    except ValueError:
        raise SearchPayloadError(f"unknown search payload kind {kind_value}") from None
    if count > MAX_ITEMS:
        raise SearchPayloadError(f"{count} items exceed the limit of {MAX_ITEMS}")
    offset = _HEADER.size
    if kind is PayloadKind.STORED:
        return SearchPayload(kind, stored=count)
    if kind is PayloadKind.QUERY:
        end = offset + 2 + 32 * count
        if len(data) < end:
            raise SearchPayloadTruncatedError("query keywords truncated")
        (max_results,) = struct.unpack_from("<H", data, offset)
        keywords = tuple(data[i : i + 32] for i in range(offset + 2, end, 32))
        return SearchPayload(kind, keywords=keywords, max_results=max_results)
    entries = []
    for _ in range(count):
        if len(data) < offset + _ENTRY_FIXED.size:
            raise SearchPayloadTruncatedError("keyword entry truncated")
        keyword, file_id, owner, file_hash, size, name_length = _ENTRY_FIXED.unpack_from(data, offset)
        offset += _ENTRY_FIXED.size
        if len(data) < offset + name_length:
            raise SearchPayloadTruncatedError("keyword entry name truncated")
        try:
            name = data[offset : offset + name_length].decode("utf-8")
        except UnicodeDecodeError:
            raise SearchPayloadError("keyword entry name is not valid UTF-8") from None
        offset += name_length
        if owner[0] not in (2, 3):
            raise SearchPayloadError("owner is not a compressed public key")
        entries.append(KeywordEntry(keyword, file_id, owner, file_hash, size, name))
    return SearchPayload(kind, entries=tuple(entries))


def entry_size(entry: KeywordEntry) -> int:
    """Encoded size of one entry."""
    return _ENTRY_FIXED.size + len(entry.name.encode("utf-8"))


def fit_entries(entries: Iterable[KeywordEntry], max_items: int = MAX_ITEMS) -> list[KeywordEntry]:
    """The leading entries that fit into one PUBLISH / RESULTS payload."""
    fitted: list[KeywordEntry] = []
    size = _HEADER.size
    for entry in entries:
        size += entry_size(entry)
        if len(fitted) >= min(max_items, MAX_ITEMS) or size > MAX_PAYLOAD:
            break
        fitted.append(entry)
    return fitted


def _clip(text: str, limit: int) -> str:
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return encoded.decode("utf-8", "ignore")
    return encoded[:limit].decode("utf-8", "ignore")  # a cut character is dropped whole


def entries_for_file(file: IndexedFile, *, max_keywords: int = 128) -> list[KeywordEntry]:
    """One entry per keyword hash of ``file`` (the local index's rules, at most ``max_keywords``);
    the name is sanitised and cut to :data:`MAX_NAME` UTF-8 bytes on a character boundary."""
    name = file.name.decode("utf-8", "ignore") if isinstance(file.name, bytes) else file.name
    name = _clip(name, MAX_NAME)
    keywords = list(file_keywords(file.name, file.folder, file.description))[:max_keywords]
    return [KeywordEntry(keyword, file.file_id, file.owner, file.file_hash, file.size, name) for keyword in keywords]


def query_keywords(term: str | bytes) -> list[bytes]:
    """The keyword hashes a network search for ``term`` looks up (same rules as the local index)."""
    return list(parse_query(term).hashes())


class KeywordStore:
    """Keyword entries this node holds for others (it is among the k closest to the keyword).

    Bounded in total, per keyword and per owner; entries expire after ``ttl`` unless published
    again. The oldest entry of a keyword makes room for a new one.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        max_per_keyword: int = 1_000,
        max_per_owner: int = 5_000,
        ttl: float = 24 * 3600.0,
    ) -> None:
        self.max_entries, self.max_per_keyword, self.max_per_owner = max_entries, max_per_keyword, max_per_owner
        self.ttl = ttl
        self._by_keyword: dict[bytes, OrderedDict[tuple[bytes, bytes], tuple[KeywordEntry, float]]] = {}
        self._per_owner: dict[bytes, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def publish(self, entries: Iterable[KeywordEntry], now: float, *, source: bytes | None = None) -> int:
        """Store entries received in a PUBLISH; returns how many were accepted (``source``, the
        sender's address prefix, is used by :class:`~peernet_dht.FairKeywordStore`)."""
        accepted = 0
        for entry in entries:
            bucket = self._by_keyword.setdefault(entry.keyword, OrderedDict())
            if entry.ref in bucket:
                bucket.pop(entry.ref)
                self._forget(entry.owner)
            elif len(bucket) >= self.max_per_keyword:
                _, (oldest, _) = bucket.popitem(last=False)
                self._forget(oldest.owner)
            if self._count >= self.max_entries or self._per_owner.get(entry.owner, 0) >= self.max_per_owner:
                if not bucket:
                    del self._by_keyword[entry.keyword]
                continue
            bucket[entry.ref] = (entry, now + self.ttl)
            self._per_owner[entry.owner] = self._per_owner.get(entry.owner, 0) + 1
            self._count += 1
            accepted += 1
        return accepted

    def query(self, keywords: Iterable[bytes], now: float, max_results: int = MAX_ITEMS) -> list[KeywordEntry]:
        """Unexpired entries for the keywords, newest first per keyword, at most ``max_results``."""
        found: list[KeywordEntry] = []
        for keyword in keywords:
            for entry, expires in reversed(self._by_keyword.get(keyword, OrderedDict()).values()):
                if len(found) >= min(max_results, MAX_ITEMS):
                    return found
                if expires > now:
                    found.append(entry)
        return found

    def expire(self, now: float) -> int:
        dropped = 0
        for keyword in list(self._by_keyword):
            bucket = self._by_keyword[keyword]
            for ref in [ref for ref, (_, expires) in bucket.items() if expires <= now]:
                entry, _ = bucket.pop(ref)
                self._forget(entry.owner)
                dropped += 1
            if not bucket:
                del self._by_keyword[keyword]
        return dropped

    def _forget(self, owner: bytes) -> None:
        self._count -= 1
        left = self._per_owner[owner] - 1
        if left:
            self._per_owner[owner] = left
        else:
            del self._per_owner[owner]
