"""Announcement (command 0) and Local Discovery (command 4) payloads (spec wire.md §6.2, §6.3)."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import ClassVar

import attrs

from ._constants import (
    INFO_STORE_RECORD_SIZE,
    KEY_SIZE,
    MAX_PAYLOAD_SIZE,
    Action,
    Command,
)
from ._errors import EncodeError, MessageTooLargeError
from ._header import decode_header, encode_header, key_tuple, user_agent_bytes
from ._reader import Reader

__all__ = ["Announcement", "InfoStoreFile", "LocalDiscovery"]

_COUNT = struct.Struct("<H")
_INFO_STORE = struct.Struct("<32sQB")
_RESERVED_ACTIONS = 0xF0


@attrs.frozen
class InfoStoreFile:
    """An INFO_STORE record: the key of data the sender stores, its size and type (0 = file)."""

    key: bytes
    size: int
    type: int = 0


def _info_store(values: Sequence[InfoStoreFile]) -> tuple[InfoStoreFile, ...]:
    return tuple(values)


@attrs.frozen
class Announcement:
    """A request for information, answered with one or more Responses.

    ``port_internal`` and ``port_external`` are normally 0 here; the engine writes the values of the
    socket a packet leaves from just before encryption.
    """

    COMMAND: ClassVar[Command] = Command.ANNOUNCEMENT

    features: int = 0
    blockchain_height: int = 0
    blockchain_version: int = 0
    user_agent: str = ""
    find_self: bool = False
    find_peer: tuple[bytes, ...] = attrs.field(default=(), converter=key_tuple)
    find_value: tuple[bytes, ...] = attrs.field(default=(), converter=key_tuple)
    info_store: tuple[InfoStoreFile, ...] = attrs.field(default=(), converter=_info_store)
    port_internal: int = 0
    port_external: int = 0
    protocol: int = 0
    reserved_actions: int = 0  # action bits 4..7, kept so that a decoded value re-encodes alike
    # Bytes after the last block, which the reference ignores: room for extensions negotiated by
    # feature bits (spec wire.md §16). Sent at the end of the last payload.
    extension: bytes = attrs.field(default=b"", converter=bytes)

    @property
    def actions(self) -> int:
        """The action bits as they would be encoded in a single packet."""
        bits = self.reserved_actions & _RESERVED_ACTIONS
        if self.find_self:
            bits |= Action.FIND_SELF
        if self.find_peer:
            bits |= Action.FIND_PEER
        if self.find_value:
            bits |= Action.FIND_VALUE
        if self.info_store:
            bits |= Action.INFO_STORE
        return bits

    def encode(self) -> list[bytes]:
        """One payload per packet; lists that do not fit are continued in further payloads.

        Every payload repeats the header, the user agent and the FIND_SELF bit, as the reference does.
        """
        for key in (*self.find_peer, *self.find_value, *(f.key for f in self.info_store)):
            if len(key) != KEY_SIZE:
                raise EncodeError(f"keys must be {KEY_SIZE} bytes, got {len(key)}")
        header_template = encode_header(
            self.protocol,
            self.features,
            0,
            self.blockchain_height,
            self.blockchain_version,
            self.port_internal,
            self.port_external,
            user_agent_bytes(self.user_agent),
        )
        base_actions = (self.reserved_actions & _RESERVED_ACTIONS) | (Action.FIND_SELF if self.find_self else 0)
        blocks: list[tuple[int, int, Iterator[bytes], int]] = []
        if self.find_peer:
            blocks.append((Action.FIND_PEER, KEY_SIZE, iter(self.find_peer), len(self.find_peer)))
        if self.find_value:
            blocks.append((Action.FIND_VALUE, KEY_SIZE, iter(self.find_value), len(self.find_value)))
        if self.info_store:
            records: Iterator[bytes] = (_encode_info_store(f) for f in self.info_store)
            blocks.append((Action.INFO_STORE, INFO_STORE_RECORD_SIZE, records, len(self.info_store)))

        payloads: list[bytes] = []
        block_index = 0
        left = blocks[0][3] if blocks else 0
        while True:
            payload = bytearray(header_template)
            payload[2] = base_actions
            while block_index < len(blocks):
                bit, record_size, records, _ = blocks[block_index]
                if len(payload) + 2 + record_size > MAX_PAYLOAD_SIZE:
                    break
                fit = min(left, (MAX_PAYLOAD_SIZE - len(payload) - 2) // record_size)
                payload[2] |= bit
                payload += _COUNT.pack(fit)
                for _ in range(fit):
                    payload += next(records)
                left -= fit
                if left:
                    break
                block_index += 1
                if block_index < len(blocks):
                    left = blocks[block_index][3]
            payloads.append(bytes(payload))
            if block_index >= len(blocks):
                return _with_extension(payloads, self.extension, header_template, base_actions)

    @classmethod
    def decode(cls, payload: bytes) -> Announcement:
        header, offset = decode_header(payload, "announcement")
        reader = Reader(payload, "announcement", offset)
        find_peer: tuple[bytes, ...] = ()
        find_value: tuple[bytes, ...] = ()
        info_store: tuple[InfoStoreFile, ...] = ()
        if header.actions & Action.FIND_PEER:
            find_peer = _decode_keys(reader, "FIND_PEER")
        if header.actions & Action.FIND_VALUE:
            find_value = _decode_keys(reader, "FIND_VALUE")
        if header.actions & Action.INFO_STORE:
            info_store = _decode_info_store(reader)
        extension = reader.rest()
        return cls(
            features=header.features,
            blockchain_height=header.blockchain_height,
            blockchain_version=header.blockchain_version,
            user_agent=header.user_agent,
            find_self=bool(header.actions & Action.FIND_SELF),
            find_peer=find_peer,
            find_value=find_value,
            info_store=info_store,
            port_internal=header.port_internal,
            port_external=header.port_external,
            protocol=header.protocol,
            reserved_actions=header.actions & _RESERVED_ACTIONS,
            extension=extension,
        )


@attrs.frozen
class LocalDiscovery(Announcement):
    """A Local Discovery broadcast: an Announcement payload sent to the well-known discovery keys."""

    COMMAND: ClassVar[Command] = Command.LOCAL_DISCOVERY


def _with_extension(payloads: list[bytes], extension: bytes, header: bytes | bytearray, actions: int) -> list[bytes]:
    """Append ``extension`` to the last payload, or to one more payload when it does not fit."""
    if not extension:
        return payloads
    if len(header) + len(extension) > MAX_PAYLOAD_SIZE:
        raise MessageTooLargeError(f"extension of {len(extension)} bytes cannot fit into a packet")
    if len(payloads[-1]) + len(extension) <= MAX_PAYLOAD_SIZE:
        payloads[-1] += extension
    else:
        extra = bytearray(header)
        extra[2] = actions
        payloads.append(bytes(extra) + extension)
    return payloads


def _encode_info_store(record: InfoStoreFile) -> bytes:
    try:
        return _INFO_STORE.pack(record.key, record.size, record.type)
    except struct.error as exc:
        raise EncodeError(f"INFO_STORE record out of range: {exc}") from exc


def _decode_keys(reader: Reader, block: str) -> tuple[bytes, ...]:
    # The reference requires room for the count and one key even when the count is 0.
    reader.require(2 + KEY_SIZE, f"{block} block")
    count = reader.u16(f"{block} count")
    data = reader.take(count * KEY_SIZE, f"{block} keys")
    return tuple(data[i : i + KEY_SIZE] for i in range(0, len(data), KEY_SIZE))


def _decode_info_store(reader: Reader) -> tuple[InfoStoreFile, ...]:
    reader.require(2 + INFO_STORE_RECORD_SIZE, "INFO_STORE block")
    count = reader.u16("INFO_STORE count")
    data = reader.take(count * INFO_STORE_RECORD_SIZE, "INFO_STORE records")
    return tuple(
        InfoStoreFile(*_INFO_STORE.unpack_from(data, offset))
        for offset in range(0, len(data), INFO_STORE_RECORD_SIZE)
    )


