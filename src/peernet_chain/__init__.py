"""peernet_chain: every user's signed, versioned blockchain, its storage, merkle trees and files."""

from ._block import BLOCK_HEADER_SIZE, ZERO_HASH, Block, block_hash, decode_block, encode_block
from ._cache import ChainCache
from ._cache_policy import CachedChain, CacheLimits, RefreshPlan, plan_refresh
from ._codes import FileFormat, FileType, ProfileFieldType
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
from ._integrity import check_lmdb_file
from ._merkle import MINIMUM_FRAGMENT_SIZE, MerkleBuilder, MerkleTree, fragment_size, verify_fragment
from ._merkle_wire import (
    EXTENSION_MERKLE,
    FEATURE_MERKLE_TREES,
    MAX_LEAVES_PER_PAGE,
    MerkleTreePage,
    MerkleTreeRequest,
    MerkleUnavailable,
    MerkleWireError,
    TreeAssembler,
    answer_merkle_request,
    decode_merkle_message,
    encode_merkle_message,
    tree_page,
)
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

__version__ = "0.1.0"

__all__ = [
    "BLOCK_HEADER_SIZE",
    "DEFAULT_MAX_BLOCK_SIZE",
    "EXTENSION_MERKLE",
    "FEATURE_MERKLE_TREES",
    "MAX_LEAVES_PER_PAGE",
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
    "FileFormat",
    "FileRecord",
    "FileTag",
    "FileType",
    "LocalChain",
    "MerkleBuilder",
    "MerkleDecodeError",
    "MerkleTree",
    "MerkleTreePage",
    "MerkleTreeRequest",
    "MerkleUnavailable",
    "MerkleWireError",
    "ProfileField",
    "ProfileFieldType",
    "Record",
    "RecordType",
    "RefreshPlan",
    "StoredFile",
    "TagType",
    "TreeAssembler",
    "Warehouse",
    "WarehouseError",
    "WarehouseFileNotFoundError",
    "__version__",
    "answer_merkle_request",
    "block_hash",
    "check_file_records",
    "check_lmdb_file",
    "decode_block",
    "decode_file_records",
    "decode_merkle_message",
    "decode_profile_fields",
    "encode_block",
    "encode_file_records",
    "encode_merkle_message",
    "fetch_chain",
    "fragment_size",
    "group_files",
    "pack_files",
    "pack_profile",
    "plan_refresh",
    "refactor",
    "tree_page",
    "validate_chain",
    "verify_fragment",
]
