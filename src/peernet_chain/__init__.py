"""peernet_chain: every user's signed, versioned blockchain, its storage, merkle trees and files."""

from ._block import BLOCK_HEADER_SIZE, ZERO_HASH, Block, block_hash, decode_block, encode_block
from ._merkle import MINIMUM_FRAGMENT_SIZE, MerkleBuilder, MerkleTree, fragment_size, verify_fragment
from ._packing import TARGET_BLOCK_SIZE, pack_files, pack_profile, refactor
from ._store import ChainState, LocalChain
from ._validate import DEFAULT_MAX_BLOCK_SIZE, ChainValidator, validate_chain
from ._cache import ChainCache
from ._cache_policy import CachedChain, CacheLimits, RefreshPlan, plan_refresh
from ._fetch import BlockRange, BlockSource, FetchResult, fetch_chain
from ._warehouse import StoredFile, Warehouse
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
from ._records import (
    FileRecord,
    FileTag,
    ProfileField,
    Record,
    RecordType,
    TagType,
    decode_file_records,
    decode_profile_fields,
    encode_file_records,
)

__all__ = [
    "StoredFile",
    "Warehouse",
    "ChainCache",
    "CachedChain",
    "CacheLimits",
    "RefreshPlan",
    "plan_refresh",
    "BlockRange",
    "BlockSource",
    "FetchResult",
    "fetch_chain",
    "TARGET_BLOCK_SIZE",
    "pack_files",
    "pack_profile",
    "refactor",
    "ChainState",
    "LocalChain",
    "DEFAULT_MAX_BLOCK_SIZE",
    "ChainValidator",
    "validate_chain",
    "MINIMUM_FRAGMENT_SIZE",
    "MerkleBuilder",
    "MerkleTree",
    "fragment_size",
    "verify_fragment",
    "BLOCK_HEADER_SIZE",
    "ZERO_HASH",
    "Block",
    "BlockDecodeError",
    "BlockNotFoundError",
    "BlockSignatureError",
    "ChainCorruptError",
    "ChainValidationError",
    "FetchError",
    "FileRecord",
    "FileTag",
    "MerkleDecodeError",
    "ProfileField",
    "Record",
    "RecordType",
    "TagType",
    "WarehouseError",
    "WarehouseFileNotFoundError",
    "block_hash",
    "decode_block",
    "decode_file_records",
    "decode_profile_fields",
    "encode_block",
    "encode_file_records",
]
