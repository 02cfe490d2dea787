"""Full packets: Salsa20 obfuscation and recoverable secp256k1 signatures (spec wire.md §3).

Layout: nonce (4, clear) | Salsa20(protocol, command, sequence, payload size, payload, garbage) |
Salsa20(compact signature over BLAKE3(everything before it)). The Salsa20 key is the receiver's
public key X coordinate, the 8-byte nonce is the clear nonce twice, and both the body and the
signature are encrypted from keystream offset 0.
"""

from __future__ import annotations

import os
import random
import struct

import attrs
from Crypto.Cipher import Salsa20

from ._constants import (
    INTERNET_SAFE_MTU,
    MAX_PAYLOAD_SIZE,
    MAX_RANDOM_GARBAGE,
    NO_FRAGMENT_SIZE,
    PACKET_HEADER_SIZE,
    PACKET_LENGTH_MIN,
    SIGNATURE_SIZE,
)
from ._errors import EncodeError, InvalidFieldError, MessageTooLargeError, TruncatedError
from ._keys import PrivateKey, PublicKey, hash_data, recover_compact

__all__ = ["Packet", "decode_packet", "encode_packet", "garbage_length_bound"]

_HEADER = struct.Struct("<BBIH")
_NONCE_SIZE = 4
_garbage_random = random.SystemRandom()


@attrs.frozen
class Packet:
    """The decrypted content of a full packet."""

    protocol: int
    command: int
    sequence: int
    payload: bytes


def garbage_length_bound(length_without_garbage: int) -> int:
    """Exclusive upper bound of the random garbage length for a packet of that length.

    Padding never lifts a packet below 508 or 1232 bytes to that size or beyond.
    """
    n = length_without_garbage
    if n in (NO_FRAGMENT_SIZE, INTERNET_SAFE_MTU):
        return 0
    if n < NO_FRAGMENT_SIZE and NO_FRAGMENT_SIZE - n < MAX_RANDOM_GARBAGE:
        return NO_FRAGMENT_SIZE - n
    if n < INTERNET_SAFE_MTU and INTERNET_SAFE_MTU - n < MAX_RANDOM_GARBAGE:
        return INTERNET_SAFE_MTU - n
    return MAX_RANDOM_GARBAGE


def _keystream(key: bytes, nonce4: bytes, length: int) -> bytes:
    """The first ``length`` bytes of the packet's Salsa20 keystream: one cipher per packet serves
    the body and the signature, both encrypted from offset 0."""
    result: bytes = Salsa20.new(key=key, nonce=nonce4 + nonce4).encrypt(bytes(length))
    return result


def _xor(data: bytes, keystream: bytes) -> bytes:
    """``data`` XOR the start of ``keystream`` (at least as long as ``data``)."""
    length = len(data)
    if not length:
        return b""
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(keystream[:length], "little")
    return mixed.to_bytes(length, "little")


def packet_header(packet: Packet) -> bytes:
    """The 8-byte header after the nonce (protocol, command, sequence, payload size); raises
    :class:`MessageTooLargeError` or :class:`EncodeError` when a field does not fit."""
    size = len(packet.payload)
    if size > MAX_PAYLOAD_SIZE:
        raise MessageTooLargeError(f"payload of {size} bytes exceeds {MAX_PAYLOAD_SIZE}")
    try:
        return _HEADER.pack(packet.protocol, packet.command, packet.sequence, size)
    except struct.error as exc:
        raise EncodeError(f"packet header field out of range: {exc}") from exc


def encode_packet(
    packet: Packet,
    *,
    sender: PrivateKey,
    receiver: PublicKey,
    nonce: bytes | None = None,
    garbage: bytes | None = None,
) -> bytes:
    """Encrypt and sign ``packet`` for ``receiver``.

    With ``nonce`` (4 bytes) and ``garbage`` given the result is deterministic; otherwise both are
    random, the garbage length following the reference's padding rule.
    """
    payload = packet.payload
    header = packet_header(packet)
    if garbage is None:
        bound = garbage_length_bound(PACKET_LENGTH_MIN + len(payload))
        garbage = os.urandom(_garbage_random.randrange(bound)) if bound else b""
    if nonce is None:
        nonce = os.urandom(_NONCE_SIZE)
    elif len(nonce) != _NONCE_SIZE:
        raise EncodeError("nonce must be 4 bytes")
    plain = header + payload + garbage
    keystream = _keystream(receiver.salsa20_key, nonce, max(len(plain), SIGNATURE_SIZE))
    body = nonce + _xor(plain, keystream)
    signature = sender.sign_compact(hash_data(body))
    return body + _xor(signature, keystream)


def decode_packet(raw: bytes, *, receiver: PublicKey, expected: PublicKey | None = None) -> tuple[Packet, PublicKey]:
    """Decrypt a full packet addressed to ``receiver`` and recover its sender.

    With ``expected`` (the peer known at the packet's source) the signature is first verified
    against that key, which is cheaper than recovery; recovery follows only when it fails.
    Raises :class:`TruncatedError` below 77 bytes, :class:`SignatureError` when no sender can be
    recovered, :class:`InvalidFieldError` when the payload size field exceeds the packet.
    The protocol byte is returned as found; callers drop packets whose protocol is not 0.
    """
    length = len(raw)
    if length < PACKET_LENGTH_MIN:
        raise TruncatedError(f"packet of {length} bytes is shorter than {PACKET_LENGTH_MIN}")
    raw = bytes(raw)
    nonce = raw[:_NONCE_SIZE]
    signed_end = length - SIGNATURE_SIZE
    keystream = _keystream(receiver.salsa20_key, nonce, max(signed_end - _NONCE_SIZE, SIGNATURE_SIZE))
    signature = _xor(raw[signed_end:], keystream)
    digest = hash_data(raw[:signed_end])
    if expected is not None and expected.signed(signature, digest):
        sender = expected
    else:
        sender = recover_compact(signature, digest)
    plain = _xor(raw[_NONCE_SIZE:signed_end], keystream)
    protocol, command, sequence, payload_size = _HEADER.unpack_from(plain)
    if payload_size > len(plain) - (PACKET_HEADER_SIZE - _NONCE_SIZE):
        raise InvalidFieldError(f"payload size field {payload_size} exceeds the packet")
    start = PACKET_HEADER_SIZE - _NONCE_SIZE
    return Packet(protocol, command, sequence, plain[start : start + payload_size]), sender
