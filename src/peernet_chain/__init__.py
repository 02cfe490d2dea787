"""peernet_chain: every user's signed, versioned blockchain, its storage, merkle trees and files."""

from ._block import BLOCK_HEADER_SIZE, ZERO_HASH, Block, block_hash, decode_block, encode_block
from ._cache import ChainCache
from ._cache_policy import CachedChain, CacheLimits, RefreshPlan, plan_refresh
from ._errors import (
    BlockDecodeError,
    BlockNotFoundError,
    BlockSignatureError,
    ChainCorruptError,
    ChainValidationError,
    FetchError,
    MerkleDecodeError,
    WarehouseError,
    WarehouseFileNotFoundError,
)
from ._fetch import BlockSource, FetchRange, FetchResult, fetch_chain
from ._merkle import MINIMUM_FRAGMENT_SIZE, MerkleBuilder, MerkleTree, fragment_size, verify_fragment
from ._packing import TARGET_BLOCK_SIZE, group_files, pack_files, pack_profile, refactor
from ._records import (
    FileRecord,
    FileTag,
    ProfileField,
    Record,
    RecordType,
    TagType,
    check_file_records,
    decode_file_records,
    decode_profile_fields,
    encode_file_records,
)
from ._store import ChainState, LocalChain
from ._validate import DEFAULT_MAX_BLOCK_SIZE, ChainValidator, validate_chain
from ._warehouse import StoredFile, Warehouse

__all__ = [
    "BLOCK_HEADER_SIZE",
    "DEFAULT_MAX_BLOCK_SIZE",
    "MINIMUM_FRAGMENT_SIZE",
    "TARGET_BLOCK_SIZE",
    "ZERO_HASH",
    "Block",
    "BlockDecodeError",
    "BlockNotFoundError",
    "BlockSignatureError",
    "BlockSource",
    "CacheLimits",
    "CachedChain",
    "ChainCache",
    "ChainCorruptError",
    "ChainState",
    "ChainValidationError",
    "ChainValidator",
    "FetchError",
    "FetchRange",
    "FetchResult",
    "FileRecord",
    "FileTag",
    "LocalChain",
    "MerkleBuilder",
    "MerkleDecodeError",
    "MerkleTree",
    "ProfileField",
    "Record",
    "RecordType",
    "RefreshPlan",
    "StoredFile",
    "TagType",
    "Warehouse",
    "WarehouseError",
    "WarehouseFileNotFoundError",
    "block_hash",
    "check_file_records",
    "decode_block",
    "decode_file_records",
    "decode_profile_fields",
    "encode_block",
    "encode_file_records",
    "fetch_chain",
    "fragment_size",
    "group_files",
    "pack_files",
    "pack_profile",
    "plan_refresh",
    "refactor",
    "validate_chain",
    "verify_fragment",
]
