"""Packet codecs: how an engine turns a :class:`Packet` into a datagram and back.

:class:`SignedPacketCodec` is the wire format (Salsa20 obfuscation and a recoverable signature,
see :mod:`peernet_proto._packet`); every real engine uses it. :class:`TrustedPacketCodec` is for
simulations whose peers trust each other: the same header and payload, the sender's compressed
public key in clear where the signature would be, no encryption, no padding. Every message
codec and engine path still runs; only the cryptography is skipped. It must never face a real
network: anyone can claim any key.
"""

from __future__ import annotations

import struct
from typing import Protocol

from ._constants import PACKET_HEADER_SIZE, PACKET_LENGTH_MIN, SIGNATURE_SIZE
from ._errors import InvalidFieldError, TruncatedError
from ._keys import PUBLIC_KEY_SIZE, PrivateKey, PublicKey
from ._packet import Packet, decode_packet, encode_packet, packet_header

__all__ = ["PacketCodec", "SignedPacketCodec", "TrustedPacketCodec"]

_HEADER = struct.Struct("<4xBBIH")  # the nonce is all zero in trusted packets
_NONCE = bytes(4)  # where signed packets carry their nonce
_PADDING = bytes(SIGNATURE_SIZE - PUBLIC_KEY_SIZE)


class PacketCodec(Protocol):
    """Encodes packets for a receiver and decodes them, naming the sender."""

    def encode(self, packet: Packet, sender: PrivateKey, receiver: PublicKey) -> bytes:
        """The datagram carrying ``packet`` from ``sender`` to ``receiver``."""
        ...

    def decode(self, raw: bytes, receiver: PublicKey, expected: PublicKey | None = None) -> tuple[Packet, PublicKey]:
        """The packet in ``raw`` and its sender; raises a ``DecodeError`` subclass on bad input.
        ``expected`` is the sender the caller believes it is (the peer at its source), a hint that
        may make decoding cheaper; the sender returned is always the packet's true signer."""
        ...


class SignedPacketCodec:
    """The Peernet wire format: :func:`encode_packet` and :func:`decode_packet`."""

    def encode(self, packet: Packet, sender: PrivateKey, receiver: PublicKey) -> bytes:
        """Encrypt and sign ``packet`` for ``receiver``."""
        return encode_packet(packet, sender=sender, receiver=receiver)

    def decode(self, raw: bytes, receiver: PublicKey, expected: PublicKey | None = None) -> tuple[Packet, PublicKey]:
        """Decrypt a packet for ``receiver`` and recover its signer (verified against ``expected`` first)."""
        return decode_packet(raw, receiver=receiver, expected=expected)


class TrustedPacketCodec:
    """Packets without cryptography for simulations: the sender's key travels in clear.

    Layout: four zero bytes (the nonce's place) | protocol, command, sequence, payload size |
    payload | sender's 33-byte key | 32 zero bytes (the signature's length). Sender keys are
    interned: one :class:`PublicKey` object per key for every engine sharing this codec, at most
    ``max_keys`` of them.
    """

    def __init__(self, max_keys: int = 1 << 21) -> None:
        self._keys: dict[bytes, PublicKey] = {}
        self._max_keys = max_keys

    def intern(self, key: PublicKey) -> PublicKey:
        """The shared object for ``key`` (registering it if there is room)."""
        raw = key.to_bytes()
        known = self._keys.get(raw)
        if known is not None:
            return known
        if len(self._keys) < self._max_keys:
            self._keys[raw] = key
        return key

    def encode(self, packet: Packet, sender: PrivateKey, receiver: PublicKey) -> bytes:
        """``packet`` in clear with the sender's key."""
        return b"".join((_NONCE, packet_header(packet), packet.payload, sender.public_key.to_bytes(), _PADDING))

    def decode(self, raw: bytes, receiver: PublicKey, expected: PublicKey | None = None) -> tuple[Packet, PublicKey]:
        """The packet and its claimed sender (validated once per key, then interned)."""
        length = len(raw)
        if length < PACKET_LENGTH_MIN:
            raise TruncatedError(f"packet of {length} bytes is shorter than {PACKET_LENGTH_MIN}")
        protocol, command, sequence, payload_size = _HEADER.unpack_from(raw)
        key_at = length - SIGNATURE_SIZE
        if payload_size > key_at - PACKET_HEADER_SIZE:
            raise InvalidFieldError(f"payload size field {payload_size} exceeds the packet")
        raw_key = bytes(raw[key_at : key_at + PUBLIC_KEY_SIZE])
        sender = self._keys.get(raw_key)
        if sender is None:
            sender = self.intern(PublicKey.from_bytes(raw_key))
        payload = bytes(raw[PACKET_HEADER_SIZE : PACKET_HEADER_SIZE + payload_size])
        return Packet(protocol, command, sequence, payload), sender
