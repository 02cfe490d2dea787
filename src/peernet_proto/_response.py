"""Response (command 1) payloads: peer records, embedded files, keys not found (spec wire.md §6.4).

Splitting follows the reference byte for byte wherever the reference terminates. Where the reference
loops forever (one key's records, or the not-found list, larger than a packet; an embedded file that
can never fit) we split the list across packets, or refuse with :class:`MessageTooLargeError`.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Sequence
from typing import ClassVar

import attrs

from ._constants import (
    EMBEDDED_FILE_HEADER_SIZE,
    EMBEDDED_FILE_SIZE_MAX,
    HASH2PEER_HEADER_SIZE,
    KEY_SIZE,
    MAX_PAYLOAD_SIZE,
    PEER_RECORD_SIZE,
    Command,
    ResponseAction,
)
from ._errors import EncodeError, InvalidFieldError, MessageTooLargeError
from ._header import decode_header, encode_header, key_tuple, user_agent_bytes
from ._keys import PublicKey, hash_data
from ._reader import Reader

__all__ = ["EmbeddedFile", "Hash2Peer", "PeerRecord", "Response"]

_COUNTS = struct.Struct("<HHH")
_U16 = struct.Struct("<H")
_RECORD = struct.Struct("<33s4sHHH16sHHHIB")
_IS_LAST = 0x8000
_NO_IPV4 = ipaddress.IPv4Address(0)
_NO_IPV6 = ipaddress.IPv6Address(0)
_REASON_STORING = 0x80


@functools.lru_cache(maxsize=1 << 16)
def _parse_ipv4(value: str | bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value)


@functools.lru_cache(maxsize=1 << 16)
def _parse_ipv6(value: str | bytes) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(value)


def _ipv4(value: ipaddress.IPv4Address | str | bytes | None) -> ipaddress.IPv4Address:
    if value is None or value == "" or value == b"":
        return _NO_IPV4
    if isinstance(value, ipaddress.IPv4Address):
        return value
    return _parse_ipv4(value)  # addresses repeat: parse each once (a bounded cache)


def _ipv6(value: ipaddress.IPv6Address | str | bytes | None) -> ipaddress.IPv6Address:
    if value is None or value == "" or value == b"":
        return _NO_IPV6
    if isinstance(value, ipaddress.IPv6Address):
        return value
    return _parse_ipv6(value)


@attrs.frozen
class PeerRecord:
    """What a peer tells about another peer: its key, addresses and self-reported ports.

    An unset address is 0.0.0.0 / ::. ``ipv4_port`` is the source port the reporting peer sees;
    ``*_port_internal`` and ``*_port_external`` are what the described peer reported itself.
    """

    public_key: PublicKey
    ipv4: ipaddress.IPv4Address = attrs.field(default=_NO_IPV4, converter=_ipv4)
    ipv4_port: int = 0
    ipv4_port_internal: int = 0
    ipv4_port_external: int = 0
    ipv6: ipaddress.IPv6Address = attrs.field(default=_NO_IPV6, converter=_ipv6)
    ipv6_port: int = 0
    ipv6_port_internal: int = 0
    ipv6_port_external: int = 0
    last_contact: int = 0  # seconds ago; the reference always sends 0
    features: int = 0  # bits 0..6

    @property
    def node_id(self) -> bytes:
        return self.public_key.node_id

    def encode(self, storing: bool) -> bytes:
        try:
            return _RECORD.pack(
                self.public_key.to_bytes(),
                self.ipv4.packed,
                self.ipv4_port,
                self.ipv4_port_internal,
                self.ipv4_port_external,
                self.ipv6.packed,
                self.ipv6_port,
                self.ipv6_port_internal,
                self.ipv6_port_external,
                self.last_contact,
                (self.features & 0x7F) | (_REASON_STORING if storing else 0),
            )
        except struct.error as exc:
            raise EncodeError(f"peer record field out of range: {exc}") from exc

    @classmethod
    def decode(cls, data: bytes, offset: int) -> tuple[PeerRecord, bool]:
        """Decode a 70-byte record; returns it and whether it was listed as storing the data."""
        (key, v4, v4_port, v4_internal, v4_external, v6, v6_port, v6_internal, v6_external, last, flags) = (
            _RECORD.unpack_from(data, offset)
        )
        address6 = _parse_ipv6(v6)
        if address6.ipv4_mapped is not None:
            raise InvalidFieldError("response: peer record holds an IPv4-mapped IPv6 address")
        record = cls(
            PublicKey.from_bytes(key),
            _parse_ipv4(v4),
            v4_port,
            v4_internal,
            v4_external,
            address6,
            v6_port,
            v6_internal,
            v6_external,
            last,
            flags & 0x7F,
        )
        return record, bool(flags & _REASON_STORING)


def _records(values: Sequence[PeerRecord]) -> tuple[PeerRecord, ...]:
    return tuple(values)


@attrs.frozen
class Hash2Peer:
    """Peers for one requested key: those storing the data and those closest to the key.

    ``is_last`` is False on a chunk whose list continues in a later packet of the same sequence.
    """

    key: bytes
    storing: tuple[PeerRecord, ...] = attrs.field(default=(), converter=_records)
    closest: tuple[PeerRecord, ...] = attrs.field(default=(), converter=_records)
    is_last: bool = True


@attrs.frozen
class EmbeddedFile:
    """Small data returned in place (FIND_VALUE); ``key`` must be BLAKE3 of ``data``."""

    key: bytes
    data: bytes

    @classmethod
    def of(cls, data: bytes) -> EmbeddedFile:
        return cls(hash_data(data), bytes(data))


def _hash2peers(values: Sequence[Hash2Peer]) -> tuple[Hash2Peer, ...]:
    return tuple(values)


def _embedded_files(values: Sequence[EmbeddedFile]) -> tuple[EmbeddedFile, ...]:
    return tuple(values)


@attrs.frozen
class Response:
    """The answer to an Announcement. Several packets may answer one sequence; the last one has
    ``sequence_last`` set."""

    COMMAND: ClassVar[Command] = Command.RESPONSE

    features: int = 0
    blockchain_height: int = 0
    blockchain_version: int = 0
    user_agent: str = ""
    hash2peers: tuple[Hash2Peer, ...] = attrs.field(default=(), converter=_hash2peers)
    embedded_files: tuple[EmbeddedFile, ...] = attrs.field(default=(), converter=_embedded_files)
    hashes_not_found: tuple[bytes, ...] = attrs.field(default=(), converter=key_tuple)
    sequence_last: bool = True
    port_internal: int = 0
    port_external: int = 0
    protocol: int = 0
    reserved_actions: int = 0  # action bits 1..7
    # Bytes after the last block, ignored by the reference: room for extensions (spec wire.md §16).
    extension: bytes = attrs.field(default=b"", converter=bytes)

    @property
    def actions(self) -> int:
        bits = self.reserved_actions & 0xFE
        return bits | (ResponseAction.SEQUENCE_LAST if self.sequence_last else 0)

    def encode(self) -> list[bytes]:
        return _ResponseEncoder(self).run()

    @classmethod
    def decode(cls, payload: bytes) -> Response:
        header, offset = decode_header(payload, "response")
        reader = Reader(payload, "response", offset)
        # The reference reads these counts without a length check and crashes (bug B1).
        reader.require(6, "counts")
        count_hash2peer = reader.u16("hash2peer count")
        count_files = reader.u16("embedded file count")
        count_not_found = reader.u16("not-found count")
        hash2peers = tuple(_decode_hash2peer(payload, reader) for _ in range(count_hash2peer))
        files = tuple(_decode_embedded_file(reader) for _ in range(count_files))
        not_found = reader.take(count_not_found * KEY_SIZE, "not-found keys")
        extension = reader.rest()
        return cls(
            features=header.features,
            blockchain_height=header.blockchain_height,
            blockchain_version=header.blockchain_version,
            user_agent=header.user_agent,
            hash2peers=hash2peers,
            embedded_files=files,
            hashes_not_found=tuple(not_found[i : i + KEY_SIZE] for i in range(0, len(not_found), KEY_SIZE)),
            sequence_last=bool(header.actions & ResponseAction.SEQUENCE_LAST),
            port_internal=header.port_internal,
            port_external=header.port_external,
            protocol=header.protocol,
            reserved_actions=header.actions & 0xFE,
            extension=extension,
        )


def _decode_hash2peer(payload: bytes, reader: Reader) -> Hash2Peer:
    key = reader.take(KEY_SIZE, "hash2peer key")
    count_field = reader.u16("hash2peer record count")
    count = count_field & 0x7FFF
    start = reader.position
    reader.take(count * PEER_RECORD_SIZE, "peer records")
    storing: list[PeerRecord] = []
    closest: list[PeerRecord] = []
    for index in range(count):
        record, is_storing = PeerRecord.decode(payload, start + index * PEER_RECORD_SIZE)
        (storing if is_storing else closest).append(record)
    return Hash2Peer(key, tuple(storing), tuple(closest), bool(count_field & _IS_LAST))


def _decode_embedded_file(reader: Reader) -> EmbeddedFile:
    key = reader.take(KEY_SIZE, "embedded file key")
    size = reader.u16("embedded file size")
    data = reader.take(size, "embedded file data")
    if hash_data(data) != key:
        raise InvalidFieldError("response: embedded file does not match its key")
    return EmbeddedFile(key, data)


class _ResponseEncoder:
    """Packs a Response into payloads of at most 65 410 bytes."""

    def __init__(self, response: Response) -> None:
        self._response = response
        self._header = encode_header(
            response.protocol,
            response.features,
            0,
            response.blockchain_height,
            response.blockchain_version,
            response.port_internal,
            response.port_external,
            user_agent_bytes(response.user_agent),
        )
        self._check(len(self._header))

    def _check(self, header_size: int) -> None:
        response = self._response
        for entry in response.hash2peers:
            if len(entry.key) != KEY_SIZE:
                raise EncodeError(f"hash2peer keys must be {KEY_SIZE} bytes")
            if len(entry.storing) + len(entry.closest) > 0x7FFF:
                raise MessageTooLargeError("more than 32767 records for one key")
        for key in response.hashes_not_found:
            if len(key) != KEY_SIZE:
                raise EncodeError(f"not-found keys must be {KEY_SIZE} bytes")
        if len(response.extension) > MAX_PAYLOAD_SIZE - header_size - 6:
            raise MessageTooLargeError(f"extension of {len(response.extension)} bytes cannot fit into a packet")
        room = MAX_PAYLOAD_SIZE - header_size - 6 - EMBEDDED_FILE_HEADER_SIZE
        for file in response.embedded_files:
            if len(file.key) != KEY_SIZE:
                raise EncodeError(f"embedded file keys must be {KEY_SIZE} bytes")
            if len(file.data) > min(EMBEDDED_FILE_SIZE_MAX, room):
                raise MessageTooLargeError(
                    f"embedded file of {len(file.data)} bytes cannot fit into a packet (at most {room})"
                )

    def run(self) -> list[bytes]:
        response = self._response
        # Each pending entry: (key, encoded records, is_last flag); the indexes say where the next payload starts.
        self._entries = [
            (
                entry.key,
                [r.encode(True) for r in entry.storing] + [r.encode(False) for r in entry.closest],
                entry.is_last,
            )
            for entry in response.hash2peers
        ]
        self._entry_index = self._record_index = self._file_index = self._not_found_index = 0
        payloads: list[bytes] = []
        while True:
            payload, done = self._next_payload()
            payloads.append(payload)
            if done:
                return payloads

    def _next_payload(self) -> tuple[bytes, bool]:
        """The next payload, and whether it is the last one."""
        response = self._response
        payload = bytearray(self._header)
        payload += bytes(6)
        count_hash2peer, full = self._add_hash2peers(payload)
        count_files = count_not_found = 0
        if not full:
            count_files, full = self._add_files(payload)
        if not full:
            count_not_found, full = self._add_not_found(payload)
        _COUNTS.pack_into(payload, len(self._header), count_hash2peer, count_files, count_not_found)
        done = not full
        if done and response.extension:
            if len(payload) + len(response.extension) <= MAX_PAYLOAD_SIZE:
                payload += response.extension
            else:
                done = False  # one more payload carries only the extension
        actions = response.reserved_actions & 0xFE
        if done and response.sequence_last:
            actions |= ResponseAction.SEQUENCE_LAST
        payload[2] = actions
        return bytes(payload), done

    def _add_hash2peers(self, payload: bytearray) -> tuple[int, bool]:
        """Appends the hash2peer entries that fit; returns how many are counted and whether the payload is full."""
        entries = self._entries
        count_hash2peer = 0
        while self._entry_index < len(entries):
            key, records, entry_is_last = entries[self._entry_index]
            if len(payload) + HASH2PEER_HEADER_SIZE + PEER_RECORD_SIZE > MAX_PAYLOAD_SIZE:
                return count_hash2peer, True
            count_offset = len(payload) + KEY_SIZE
            payload += key
            payload += bytes(2)
            record_index = self._record_index
            written = 0
            while record_index + written < len(records):
                if len(payload) + PEER_RECORD_SIZE > MAX_PAYLOAD_SIZE:
                    break
                payload += records[record_index + written]
                written += 1
                _U16.pack_into(payload, count_offset, written)
            if record_index + written < len(records):
                if count_hash2peer == 0:
                    # The entry alone does not fit into a packet: close this chunk without the
                    # last-record bit and continue the list in the next packet.
                    count_hash2peer += 1
                    self._record_index += written
                # Otherwise the reference leaves the partial entry uncounted in this packet and
                # repeats it whole in the next one.
                return count_hash2peer, True
            _U16.pack_into(payload, count_offset, written | (_IS_LAST if entry_is_last else 0))
            count_hash2peer += 1
            self._entry_index += 1
            self._record_index = 0
        return count_hash2peer, False

    def _add_files(self, payload: bytearray) -> tuple[int, bool]:
        """Appends the embedded files that fit; returns how many and whether the payload is full."""
        files = self._response.embedded_files
        count_files = 0
        while self._file_index < len(files):
            data = files[self._file_index].data
            if len(payload) + EMBEDDED_FILE_HEADER_SIZE + len(data) > MAX_PAYLOAD_SIZE:
                return count_files, True
            payload += files[self._file_index].key
            payload += _U16.pack(len(data))
            payload += data
            count_files += 1
            self._file_index += 1
        return count_files, False

    def _add_not_found(self, payload: bytearray) -> tuple[int, bool]:
        """Appends the not-found keys that fit; returns how many and whether the payload is full."""
        not_found = self._response.hashes_not_found
        count_not_found = 0
        while self._not_found_index < len(not_found):
            if len(payload) + KEY_SIZE > MAX_PAYLOAD_SIZE:
                return count_not_found, True
            payload += not_found[self._not_found_index]
            count_not_found += 1
            self._not_found_index += 1
        return count_not_found, False


