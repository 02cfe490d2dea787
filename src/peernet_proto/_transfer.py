"""Transfer (command 8) and GetBlock (command 6) control messages and the stream headers carried
inside transfers (spec wire.md §6.8–§6.10)."""

from __future__ import annotations

import enum
import struct
import uuid
from collections.abc import Sequence
from typing import ClassVar

import attrs

from ._constants import (
    GET_BLOCK_HEADER_SIZE,
    GET_BLOCK_REQUEST_HEADER_SIZE,
    KEY_SIZE,
    MAX_PAYLOAD_SIZE,
    TRANSFER_HEADER_SIZE,
    TRANSFER_REQUEST_SIZE,
    Command,
)
from ._errors import EncodeError, InvalidFieldError, MessageTooLargeError, TruncatedError
from ._keys import PublicKey
from ._reader import Reader

__all__ = [
    "BlockAvailability",
    "BlockRange",
    "BlockTransferHeader",
    "FileTransferHeader",
    "GetBlock",
    "GetBlockControl",
    "Transfer",
    "TransferControl",
]

_NIL_UUID = uuid.UUID(int=0)
_U64_PAIR = struct.Struct("<QQ")
_U16 = struct.Struct("<H")


class TransferControl(enum.IntEnum):
    """The control byte of a Transfer message."""

    REQUEST_START = 0
    NOT_AVAILABLE = 1
    ACTIVE = 2
    TERMINATE = 3


class GetBlockControl(enum.IntEnum):
    """The control byte of a GetBlock message."""

    REQUEST_START = 0
    NOT_AVAILABLE = 1
    ACTIVE = 2
    TERMINATE = 3
    EMPTY = 4


def _check_size(payload: bytes, what: str) -> bytes:
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise MessageTooLargeError(f"{what} of {len(payload)} bytes exceeds {MAX_PAYLOAD_SIZE}")
    return payload


@attrs.frozen
class Transfer:
    """File transfer control. REQUEST_START carries offset, limit and the transfer ID; ACTIVE carries
    one UDT frame in ``data``; other controls carry only the file hash."""

    COMMAND: ClassVar[Command] = Command.TRANSFER

    control: int
    file_hash: bytes
    transfer_protocol: int = 0
    offset: int = 0
    limit: int = 0
    transfer_id: uuid.UUID = _NIL_UUID
    data: bytes = b""

    @property
    def ends_transfer(self) -> bool:
        """NOT_AVAILABLE and TERMINATE end the transfer and free its sequence."""
        return self.control in (TransferControl.NOT_AVAILABLE, TransferControl.TERMINATE)

    def encode(self) -> list[bytes]:
        """The message's payload (a one-element list, like ``encode_message``)."""
        if len(self.file_hash) != KEY_SIZE:
            raise EncodeError(f"transfer file hash must be {KEY_SIZE} bytes")
        try:
            head = bytes((self.control, self.transfer_protocol)) + self.file_hash
        except ValueError as exc:
            raise EncodeError(f"transfer control or protocol out of range: {exc}") from exc
        if self.control == TransferControl.REQUEST_START:
            if self.data:
                raise EncodeError("transfer: REQUEST_START carries no data")
            try:
                return [head + _U64_PAIR.pack(self.offset, self.limit) + self.transfer_id.bytes]
            except struct.error as exc:
                raise EncodeError(f"transfer offset or limit out of range: {exc}") from exc
        if self.control == TransferControl.ACTIVE:
            return [_check_size(head + self.data, "transfer")]
        return [head]

    @classmethod
    def decode(cls, payload: bytes) -> Transfer:
        if len(payload) < TRANSFER_HEADER_SIZE:
            raise TruncatedError(f"transfer: {len(payload)} bytes is shorter than {TRANSFER_HEADER_SIZE}")
        control, protocol = payload[0], payload[1]
        file_hash = bytes(payload[2:TRANSFER_HEADER_SIZE])
        if control == TransferControl.REQUEST_START:
            # The reference checks for 50 bytes but reads 66 and crashes in between (bug B2).
            if len(payload) < TRANSFER_REQUEST_SIZE:
                raise TruncatedError(f"transfer: REQUEST_START of {len(payload)} bytes, needs {TRANSFER_REQUEST_SIZE}")
            offset, limit = _U64_PAIR.unpack_from(payload, TRANSFER_HEADER_SIZE)
            transfer_id = uuid.UUID(bytes=bytes(payload[50:66]))
            return cls(control, file_hash, protocol, offset, limit, transfer_id)
        if control == TransferControl.ACTIVE:
            return cls(control, file_hash, protocol, data=bytes(payload[TRANSFER_HEADER_SIZE:]))
        return cls(control, file_hash, protocol)


@attrs.frozen
class BlockRange:
    """``limit`` blocks starting at block number ``offset`` (0-based)."""

    offset: int
    limit: int


def _ranges(values: Sequence[BlockRange]) -> tuple[BlockRange, ...]:
    return tuple(values)


@attrs.frozen
class GetBlock:
    """Blockchain transfer control: REQUEST_START asks the owner of ``blockchain_key`` for block
    ranges; ACTIVE carries one UDT frame in ``data``."""

    COMMAND: ClassVar[Command] = Command.GET_BLOCK

    control: int
    blockchain_key: PublicKey
    limit_block_count: int = 0
    max_block_size: int = 0
    transfer_id: uuid.UUID = _NIL_UUID
    ranges: tuple[BlockRange, ...] = attrs.field(default=(), converter=_ranges)
    data: bytes = b""

    @property
    def ends_transfer(self) -> bool:
        """NOT_AVAILABLE, TERMINATE and EMPTY end the transfer and free its sequence."""
        return self.control in (GetBlockControl.NOT_AVAILABLE, GetBlockControl.TERMINATE, GetBlockControl.EMPTY)

    def encode(self) -> list[bytes]:
        """The message's payload (a one-element list, like ``encode_message``)."""
        try:
            head = bytes((self.control,)) + self.blockchain_key.to_bytes()
        except ValueError as exc:
            raise EncodeError(f"get block control out of range: {exc}") from exc
        if self.control == GetBlockControl.REQUEST_START:
            if self.data:
                raise EncodeError("get block: REQUEST_START carries no data")
            if len(self.ranges) > 0xFFFF:
                raise MessageTooLargeError("get block: more than 65535 ranges")
            try:
                body = [
                    head,
                    _U64_PAIR.pack(self.limit_block_count, self.max_block_size),
                    self.transfer_id.bytes,
                    _U16.pack(len(self.ranges)),
                ]
                body += [_U64_PAIR.pack(r.offset, r.limit) for r in self.ranges]
            except struct.error as exc:
                raise EncodeError(f"get block field out of range: {exc}") from exc
            return [_check_size(b"".join(body), "get block")]
        if self.control == GetBlockControl.ACTIVE:
            return [_check_size(head + self.data, "get block")]
        return [head]

    @classmethod
    def decode(cls, payload: bytes) -> GetBlock:
        if len(payload) < GET_BLOCK_HEADER_SIZE:
            raise TruncatedError(f"get block: {len(payload)} bytes is shorter than {GET_BLOCK_HEADER_SIZE}")
        control = payload[0]
        key = PublicKey.from_bytes(bytes(payload[1:GET_BLOCK_HEADER_SIZE]))
        if control == GetBlockControl.REQUEST_START:
            reader = Reader(payload, "get block", GET_BLOCK_HEADER_SIZE)
            reader.require(GET_BLOCK_REQUEST_HEADER_SIZE - GET_BLOCK_HEADER_SIZE, "request header")
            limit_count = reader.u64("limit block count")
            max_size = reader.u64("max block size")
            transfer_id = uuid.UUID(bytes=reader.take(16, "transfer ID"))
            count = reader.u16("range count")
            if count == 0:
                raise InvalidFieldError("get block: REQUEST_START without block ranges")
            data = reader.take(count * 16, "block ranges")
            ranges = tuple(BlockRange(*_U64_PAIR.unpack_from(data, i)) for i in range(0, len(data), 16))
            return cls(control, key, limit_count, max_size, transfer_id, ranges)
        if control == GetBlockControl.ACTIVE:
            return cls(control, key, data=bytes(payload[GET_BLOCK_HEADER_SIZE:]))
        return cls(control, key)


_FILE_HEADER = struct.Struct("<QQ")
_BLOCK_HEADER = struct.Struct("<BQQQ")


@attrs.frozen
class FileTransferHeader:
    """The first 16 bytes of a file transfer stream: file size, then the number of bytes that follow."""

    SIZE: ClassVar[int] = _FILE_HEADER.size

    file_size: int
    transfer_size: int

    def encode(self) -> bytes:
        """The header's bytes; raises :class:`EncodeError` when a field is out of range."""
        try:
            return _FILE_HEADER.pack(self.file_size, self.transfer_size)
        except struct.error as exc:
            raise EncodeError(f"file transfer header out of range: {exc}") from exc

    @classmethod
    def decode(cls, data: bytes) -> FileTransferHeader:
        if len(data) < cls.SIZE:
            raise TruncatedError(f"file transfer header needs {cls.SIZE} bytes, got {len(data)}")
        return cls(*_FILE_HEADER.unpack_from(data))


class BlockAvailability(enum.IntEnum):
    """Whether a requested block follows its header in a block transfer stream."""

    AVAILABLE = 0
    NOT_AVAILABLE = 1
    TOO_LARGE = 2


@attrs.frozen
class BlockTransferHeader:
    """The 25-byte header before each block in a block transfer stream."""

    SIZE: ClassVar[int] = _BLOCK_HEADER.size

    availability: int
    block_number: int
    count: int = 1
    block_size: int = 0

    def encode(self) -> bytes:
        """The header's bytes; raises :class:`EncodeError` when a field is out of range."""
        try:
            return _BLOCK_HEADER.pack(self.availability, self.block_number, self.count, self.block_size)
        except struct.error as exc:
            raise EncodeError(f"block transfer header out of range: {exc}") from exc

    @classmethod
    def decode(cls, data: bytes) -> BlockTransferHeader:
        if len(data) < cls.SIZE:
            raise TruncatedError(f"block transfer header needs {cls.SIZE} bytes, got {len(data)}")
        return cls(*_BLOCK_HEADER.unpack_from(data))
