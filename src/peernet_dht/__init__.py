"""peernet_dht: Kademlia routing, iterative lookups, the value store and keyword search.

Sans-IO throughout: every object takes values and ``now`` and returns what to send; the trio
driver lives in the engine. Imports no Peernet layer but :mod:`peernet_proto`.
"""

from ._contact import Contact, HasNodeId
from ._distance import BITS, ID_SIZE, bucket_index, distance, random_id_in_bucket
from ._errors import InvalidKeySizeError, KeySizeError, SearchPayloadError
from ._index import IndexedFile, LocalIndex, SearchHit
from ._keywords import (
    MIN_WORD_BYTES,
    Query,
    camel_case_split,
    file_keywords,
    parse_query,
    sanitize,
    text_keywords,
    word_hash,
)
from ._lookup import ALPHA, Lookup, LookupResult, LookupStatus, LookupStep, Request
from ._network import LookupDone, LookupDriver, Remote, RequestSender, remote_from_record
from ._search import (
    FEATURE_KEYWORD_SEARCH,
    KeywordEntry,
    KeywordStore,
    PayloadKind,
    SearchPayload,
    SearchPayloadTruncatedError,
    decode_search_payload,
    encode_search_payload,
    entries_for_file,
    fit_entries,
    query_keywords,
)
from ._service import (
    SEARCH_FEATURES,
    DhtEngine,
    DhtResult,
    DhtService,
    NetworkHit,
    PeerResult,
    PublishResult,
    SearchResult,
    StoreResult,
    ValueResult,
)
from ._store import EMBEDDED_VALUE_MAX, VALUE_SIZE_MAX, Embedded, Miss, Providers, StoreFullError, ValueStore
from ._routing import K, AddOutcome, AddResult, EvictionPolicy, RoutingTable, evict_slower_or_farther

__all__ = [
    "SEARCH_FEATURES",
    "VALUE_SIZE_MAX",
    "DhtEngine",
    "DhtResult",
    "DhtService",
    "NetworkHit",
    "PeerResult",
    "PublishResult",
    "SearchResult",
    "StoreResult",
    "ValueResult",
    "entries_for_file",
    "fit_entries",
    "LookupDone",
    "LookupDriver",
    "Remote",
    "RequestSender",
    "remote_from_record",
    "EMBEDDED_VALUE_MAX",
    "FEATURE_KEYWORD_SEARCH",
    "Embedded",
    "KeywordEntry",
    "KeywordStore",
    "Miss",
    "PayloadKind",
    "Providers",
    "SearchPayload",
    "SearchPayloadTruncatedError",
    "StoreFullError",
    "ValueStore",
    "decode_search_payload",
    "encode_search_payload",
    "query_keywords",
    "MIN_WORD_BYTES",
    "IndexedFile",
    "LocalIndex",
    "Query",
    "SearchHit",
    "camel_case_split",
    "file_keywords",
    "parse_query",
    "sanitize",
    "text_keywords",
    "word_hash",
    "ALPHA",
    "Lookup",
    "LookupResult",
    "LookupStatus",
    "LookupStep",
    "Request",
    "BITS",
    "ID_SIZE",
    "K",
    "AddOutcome",
    "AddResult",
    "Contact",
    "EvictionPolicy",
    "HasNodeId",
    "InvalidKeySizeError",
    "KeySizeError",
    "RoutingTable",
    "SearchPayloadError",
    "bucket_index",
    "distance",
    "evict_slower_or_farther",
    "random_id_in_bucket",
]
