"""peernet_dht: Kademlia routing, iterative lookups, the value store and keyword search.

Sans-IO throughout: every object takes values and ``now`` and returns what to send; the trio
driver lives in the engine. Imports no Peernet layer but :mod:`peernet_proto`.

``DhtResult`` is the result of any :class:`DhtService` operation (a union of the ``...Result`` classes).

Limits of :class:`DhtService` on what one peer's request may cost: ``INFO_STORE_PER_REQUEST`` (INFO_STORE
entries taken from one request) and ``QUERY_KEYWORDS_SERVED`` (keyword hashes of one QUERY that are answered).
"""

from ._behaviours import BucketRefresh, DhtBehaviour, RefreshHost, RoutingDirectory, TableUpkeep
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
from ._routing import AddOutcome, AddResult, EvictionPolicy, K, RoutingTable, evict_slower_or_farther
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
    INFO_STORE_PER_REQUEST,
    QUERY_KEYWORDS_SERVED,
    SEARCH_FEATURES,
    DhtEngine,
    DhtResult,
    DhtService,
    DhtStatistics,
    NetworkHit,
    PeerResult,
    PublishResult,
    SearchResult,
    StoreResult,
    ValueResult,
)
from ._store import (
    EMBEDDED_VALUE_MAX,
    VALUE_SIZE_MAX,
    Embedded,
    FairKeywordStore,
    FairShare,
    Miss,
    Providers,
    StoreFullError,
    ValueStore,
    near_by_rank,
)

__version__ = "0.1.0"

__all__ = [
    "ALPHA",
    "BITS",
    "EMBEDDED_VALUE_MAX",
    "FEATURE_KEYWORD_SEARCH",
    "ID_SIZE",
    "INFO_STORE_PER_REQUEST",
    "MIN_WORD_BYTES",
    "QUERY_KEYWORDS_SERVED",
    "SEARCH_FEATURES",
    "VALUE_SIZE_MAX",
    "AddOutcome",
    "AddResult",
    "BucketRefresh",
    "Contact",
    "DhtBehaviour",
    "DhtEngine",
    "DhtResult",
    "DhtService",
    "DhtStatistics",
    "Embedded",
    "EvictionPolicy",
    "FairKeywordStore",
    "FairShare",
    "HasNodeId",
    "IndexedFile",
    "InvalidKeySizeError",
    "K",
    "KeySizeError",
    "KeywordEntry",
    "KeywordStore",
    "LocalIndex",
    "Lookup",
    "LookupDone",
    "LookupDriver",
    "LookupResult",
    "LookupStatus",
    "LookupStep",
    "Miss",
    "NetworkHit",
    "PayloadKind",
    "PeerResult",
    "Providers",
    "PublishResult",
    "Query",
    "RefreshHost",
    "Remote",
    "Request",
    "RequestSender",
    "RoutingDirectory",
    "RoutingTable",
    "SearchHit",
    "SearchPayload",
    "SearchPayloadError",
    "SearchPayloadTruncatedError",
    "SearchResult",
    "StoreFullError",
    "StoreResult",
    "TableUpkeep",
    "ValueResult",
    "ValueStore",
    "__version__",
    "bucket_index",
    "camel_case_split",
    "decode_search_payload",
    "distance",
    "encode_search_payload",
    "entries_for_file",
    "evict_slower_or_farther",
    "file_keywords",
    "fit_entries",
    "near_by_rank",
    "parse_query",
    "query_keywords",
    "random_id_in_bucket",
    "remote_from_record",
    "sanitize",
    "text_keywords",
    "word_hash",
]
