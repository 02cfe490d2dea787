"""The local chain of this node's own identity, stored in LMDB.

Layout as the reference (spec chain.md §5.1): key ``b"header blockchain"`` holds the signed 83-byte
header (height, version, format, signature); key ``u64 LE number`` holds each raw block. Every
logical change is a single LMDB write transaction, so a crash leaves the old or the new chain.
"""

from __future__ import annotations

import logging
import os
import struct
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Self

import attrs
import lmdb

from peernet_proto import MessageTooLargeError, PrivateKey, SignatureError, hash_data, recover_compact

from ._block import ZERO_HASH, Block, block_hash, decode_block, encode_block
from ._errors import BlockDecodeError, BlockNotFoundError, ChainCorruptError, ChainValidationError
from ._integrity import check_lmdb_file
from ._packing import TARGET_BLOCK_SIZE, pack_files, pack_profile, refactor
from ._records import FileRecord, ProfileField, Record
from ._validate import DEFAULT_MAX_BLOCK_SIZE, validate_chain

__all__ = ["ChainState", "LocalChain", "decode_local_header", "encode_local_header"]

log = logging.getLogger(__name__)

HEADER_KEY: Final = b"header blockchain"
_HEADER: Final = struct.Struct("<QQH")
HEADER_SIZE: Final = _HEADER.size + 65
_DEFAULT_MAP_SIZE: Final = 1 << 30


@attrs.frozen
class ChainState:
    """A chain's height (number of blocks) and version (changes when blocks are removed or rewritten)."""
    height: int
    version: int


def encode_local_header(state: ChainState, key: PrivateKey) -> bytes:
    body = _HEADER.pack(state.height, state.version, 0)
    return body + key.sign_compact(hash_data(body))


def decode_local_header(raw: bytes, key: PrivateKey) -> ChainState:
    if len(raw) != HEADER_SIZE:
        raise ChainCorruptError(f"chain header of {len(raw)} bytes, expected {HEADER_SIZE}")
    height, version, header_format = _HEADER.unpack_from(raw)
    if header_format != 0:
        raise ChainCorruptError(f"chain header format {header_format} is not supported")
    try:
        signer = recover_compact(raw[_HEADER.size :], hash_data(raw[: _HEADER.size]))
    except SignatureError as exc:
        raise ChainCorruptError("chain header signature is invalid") from exc
    if signer != key.public_key:
        raise ChainCorruptError("chain header is signed by another key")
    return ChainState(height, version)


def _block_key(number: int) -> bytes:
    return number.to_bytes(8, "little")


class LocalChain:
    """The node's own chain. Not thread-safe; use from one thread (LMDB serialises writers anyway)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: PrivateKey,
        *,
        map_size: int = _DEFAULT_MAP_SIZE,
        target_block_size: int = TARGET_BLOCK_SIZE,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    ) -> None:
        os.makedirs(path, exist_ok=True)
        check_lmdb_file(path)  # LMDB itself would die of SIGBUS on a cut file, or start an empty one
        try:
            self._env = lmdb.open(os.fspath(path), map_size=map_size, max_dbs=0)
        except lmdb.Error as exc:
            raise ChainCorruptError(f"{os.fspath(path)}: cannot be opened: {exc}") from exc
        self._key = key
        self.target_block_size = target_block_size
        self.max_block_size = max_block_size
        self._watchers: list[Callable[[ChainState], None]] = []
        try:
            self._open_header(key)
        except BaseException:
            self._env.close()
            raise

    def _open_header(self, key: PrivateKey) -> None:
        """Write the header of a new chain, or check the stored one and its last block (cheap:
        one header and one block signature, whatever the height)."""
        with self._env.begin(write=True) as txn:
            raw = txn.get(HEADER_KEY)
            if raw is None:
                if txn.cursor().first():
                    raise ChainCorruptError("chain header is missing but blocks are stored")
                txn.put(HEADER_KEY, encode_local_header(ChainState(0, 0), key))
                return
            state = decode_local_header(bytes(raw), key)
            if state.height:
                self._check_last_block(txn, state)

    def _check_last_block(self, txn: Any, state: ChainState) -> None:
        number = state.height - 1
        try:
            block = decode_block(self._raw_block(txn, number, state.height))
        except BlockDecodeError as exc:
            raise ChainCorruptError(f"last block {number} does not decode: {exc}") from exc
        if block.owner != self._key.public_key or block.number != number or block.version != state.version:
            raise ChainCorruptError(f"last block {number} does not belong to this chain")

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch(self, watcher: Callable[[ChainState], None]) -> None:
        """Call ``watcher`` with the new state after every change (height or version)."""
        self._watchers.append(watcher)

    @property
    def owner(self) -> PrivateKey:
        return self._key

    # --- reading -------------------------------------------------------------------------

    @property
    def state(self) -> ChainState:
        with self._env.begin() as txn:
            return self._state(txn)

    @property
    def height(self) -> int:
        return self.state.height

    @property
    def version(self) -> int:
        return self.state.version

    def raw_block(self, number: int) -> bytes:
        with self._env.begin() as txn:
            return self._raw_block(txn, number, self._state(txn).height)

    def block(self, number: int) -> Block:
        return decode_block(self.raw_block(number))

    def snapshot(self) -> tuple[ChainState, list[bytes]]:
        """State and every raw block, read in one consistent transaction."""
        with self._env.begin() as txn:
            state = self._state(txn)
            return state, [self._raw_block(txn, n, state.height) for n in range(state.height)]

    def blocks(self) -> Iterator[Block]:
        for raw in self.snapshot()[1]:
            yield decode_block(raw)

    def files(self) -> list[FileRecord]:
        return [file for block in self.blocks() for file in block.files()]

    def profile(self) -> dict[int, bytes]:
        fields: dict[int, bytes] = {}
        for block in self.blocks():
            fields.update(block.profile())
        return fields

    def validate(self) -> list[Block]:
        """Check the stored chain as any peer would; raises :class:`ChainCorruptError`."""
        state, raws = self.snapshot()
        try:
            return validate_chain(self._key.public_key, state.version, raws, max_block_size=1 << 32)
        except ChainValidationError as exc:
            raise ChainCorruptError(f"stored chain is invalid: {exc}") from exc

    # --- appending -----------------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> ChainState:
        """Append one block holding ``records`` (dates as given). No records: nothing changes."""
        return self._write(
            lambda txn, state: self._append_blocks(txn, state, [list(records)] if records else [])
        )

    def add_files(self, files: Sequence[FileRecord], now: int) -> ChainState:
        """Publish files, packed into blocks of about ``target_block_size`` as the reference does."""
        groups = pack_files(files, now, self.target_block_size)
        return self._write(lambda txn, state: self._append_blocks(txn, state, groups))

    def write_profile(self, fields: Sequence[ProfileField], now: int) -> ChainState:
        groups = pack_profile(fields, now, self.target_block_size)
        return self._write(lambda txn, state: self._append_blocks(txn, state, groups))

    # --- refactoring ---------------------------------------------------------------------

    def delete_files(self, ids: Sequence[uuid.UUID]) -> ChainState:
        """Remove files; the chain is rewritten under version + 1 (original dates kept)."""
        return self._write(lambda txn, state: self._refactor(txn, state, drop_file_ids=frozenset(ids)))

    def delete_profile(self, types: Sequence[int]) -> ChainState:
        return self._write(lambda txn, state: self._refactor(txn, state, drop_profile_types=frozenset(types)))

    def replace_files(self, files: Sequence[FileRecord], now: int) -> ChainState:
        """Delete the files with these IDs and publish the new versions, in one transaction."""
        groups = pack_files(files, now, self.target_block_size)

        def change(txn: Any, state: ChainState) -> ChainState:
            state = self._refactor(txn, state, drop_file_ids=frozenset(f.id for f in files))
            return self._append_blocks(txn, state, groups)

        return self._write(change)

    def delete_chain(self) -> ChainState:
        """Delete every block; the chain restarts empty under version + 1."""

        def change(txn: Any, state: ChainState) -> ChainState:
            for number in range(state.height):
                txn.delete(_block_key(number))
            return ChainState(0, state.version + 1)

        return self._write(change)

    # --- internals -----------------------------------------------------------------------

    def _write(self, change: Callable[[Any, ChainState], ChainState]) -> ChainState:
        with self._env.begin(write=True) as txn:
            old = self._state(txn)
            new = change(txn, old)
            if new != old:
                txn.put(HEADER_KEY, encode_local_header(new, self._key))
                log.debug("chain changed from %s to %s", old, new)
        if new != old:
            for watcher in self._watchers:
                watcher(new)
        return new

    def _state(self, txn: Any) -> ChainState:
        raw = txn.get(HEADER_KEY)
        if raw is None:
            raise ChainCorruptError("chain header is missing")
        return decode_local_header(bytes(raw), self._key)

    def _raw_block(self, txn: Any, number: int, height: int) -> bytes:
        if not 0 <= number < height:
            raise BlockNotFoundError(f"block {number} does not exist (height {height})")
        raw = txn.get(_block_key(number))
        if raw is None:
            raise ChainCorruptError(f"block {number} is missing below height {height}")
        return bytes(raw)

    def _encode(self, number: int, version: int, previous: bytes, records: Sequence[Record]) -> bytes:
        block = Block(self._key.public_key, number, version, previous, records)
        return encode_block(block, self._key)

    def _append_blocks(self, txn: Any, state: ChainState, groups: Sequence[Sequence[Record]]) -> ChainState:
        height = state.height
        previous = ZERO_HASH if height == 0 else block_hash(self._raw_block(txn, height - 1, height))
        for records in groups:
            raw = self._encode(height, state.version, previous, records)
            if len(raw) > self.max_block_size:
                raise MessageTooLargeError(f"block of {len(raw)} bytes exceeds {self.max_block_size}")
            txn.put(_block_key(height), raw)
            previous = block_hash(raw)
            height += 1
        return ChainState(height, state.version)

    def _refactor(
        self,
        txn: Any,
        state: ChainState,
        *,
        drop_file_ids: frozenset[uuid.UUID] = frozenset(),
        drop_profile_types: frozenset[int] = frozenset(),
    ) -> ChainState:
        try:
            blocks = [decode_block(self._raw_block(txn, n, state.height)) for n in range(state.height)]
        except BlockDecodeError as exc:
            raise ChainCorruptError(f"stored block does not decode: {exc}") from exc
        result = refactor(blocks, drop_file_ids=drop_file_ids, drop_profile_types=drop_profile_types)
        if not result.changed:
            return state
        version = state.version + 1
        previous = ZERO_HASH
        for number, records in enumerate(result.blocks):
            raw = self._encode(number, version, previous, records)
            txn.put(_block_key(number), raw)
            previous = block_hash(raw)
        for number in range(len(result.blocks), state.height):
            txn.delete(_block_key(number))
        return ChainState(len(result.blocks), version)
