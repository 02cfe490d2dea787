"""Traverse (command 5): a signed, expiring packet relayed for hole punching (spec wire.md §6.7, §11)."""

from __future__ import annotations

import ipaddress
import struct
from typing import ClassVar

import attrs

from ._constants import MAX_PAYLOAD_SIZE, SIGNATURE_SIZE, TRAVERSE_HEADER_SIZE, Command
from ._errors import EncodeError, InvalidFieldError, MessageTooLargeError, TruncatedError
from ._keys import PrivateKey, PublicKey, hash_data, recover_compact

__all__ = ["Traverse"]

_FIXED = struct.Struct("<33s33sQH")
_ADDRESSES = struct.Struct("<4sHH16sHH")
_SIGNED_HEADER_SIZE = _FIXED.size  # 76
_ADDRESSES_SIZE = _ADDRESSES.size  # 28
_NO_IPV4 = ipaddress.IPv4Address(0)
_NO_IPV6 = ipaddress.IPv6Address(0)


@attrs.frozen
class Traverse:
    """A packet from ``signer`` to ``target``, relayed by ``relay``.

    The address fields describe the signer as the relay sees it; the relay fills them in, and they
    are not covered by the signature. Build new ones with :meth:`create`.
    """

    COMMAND: ClassVar[Command] = Command.TRAVERSE

    target: PublicKey
    relay: PublicKey
    expires: int  # Unix time in seconds
    embedded_packet: bytes
    signature: bytes
    signer: PublicKey
    ipv4: ipaddress.IPv4Address = _NO_IPV4
    ipv4_port: int = 0
    ipv4_port_external: int = 0
    ipv6: ipaddress.IPv6Address = _NO_IPV6
    ipv6_port: int = 0
    ipv6_port_external: int = 0

    @classmethod
    def create(
        cls,
        sender: PrivateKey,
        target: PublicKey,
        relay: PublicKey,
        expires: int,
        embedded_packet: bytes,
    ) -> Traverse:
        signed = _signed_part(target, relay, expires, embedded_packet)
        return cls(
            target, relay, expires, bytes(embedded_packet), sender.sign_compact(hash_data(signed)), sender.public_key
        )

    def with_addresses(
        self,
        *,
        ipv4: ipaddress.IPv4Address = _NO_IPV4,
        ipv4_port: int = 0,
        ipv4_port_external: int = 0,
        ipv6: ipaddress.IPv6Address = _NO_IPV6,
        ipv6_port: int = 0,
        ipv6_port_external: int = 0,
    ) -> Traverse:
        """The relay's copy: the signer's addresses filled in, everything else unchanged."""
        return attrs.evolve(
            self,
            ipv4=ipv4,
            ipv4_port=ipv4_port,
            ipv4_port_external=ipv4_port_external,
            ipv6=ipv6,
            ipv6_port=ipv6_port,
            ipv6_port_external=ipv6_port_external,
        )

    def encode(self) -> list[bytes]:
        if len(self.signature) != SIGNATURE_SIZE:
            raise EncodeError("traverse signature must be 65 bytes")
        signed = _signed_part(self.target, self.relay, self.expires, self.embedded_packet)
        try:
            addresses = _ADDRESSES.pack(
                self.ipv4.packed,
                self.ipv4_port,
                self.ipv4_port_external,
                self.ipv6.packed,
                self.ipv6_port,
                self.ipv6_port_external,
            )
        except struct.error as exc:
            raise EncodeError(f"traverse address field out of range: {exc}") from exc
        return [signed + self.signature + addresses]

    @classmethod
    def decode(cls, payload: bytes) -> Traverse:
        if len(payload) < TRAVERSE_HEADER_SIZE:
            raise TruncatedError(f"traverse: {len(payload)} bytes is shorter than {TRAVERSE_HEADER_SIZE}")
        target_raw, relay_raw, expires, size = _FIXED.unpack_from(payload)
        if size != len(payload) - TRAVERSE_HEADER_SIZE:
            raise InvalidFieldError("traverse: embedded packet size does not match the payload")
        target = PublicKey.from_bytes(target_raw)
        relay = PublicKey.from_bytes(relay_raw)
        if target == relay:
            raise InvalidFieldError("traverse: target and relay are the same peer")
        signed_end = _SIGNED_HEADER_SIZE + size
        signature = bytes(payload[signed_end : signed_end + SIGNATURE_SIZE])
        signer = recover_compact(signature, hash_data(payload[:signed_end]))
        v4, v4_port, v4_external, v6, v6_port, v6_external = _ADDRESSES.unpack_from(
            payload, signed_end + SIGNATURE_SIZE
        )
        address6 = ipaddress.IPv6Address(v6)
        if address6.ipv4_mapped is not None:
            raise InvalidFieldError("traverse: IPv6 field holds an IPv4-mapped address")
        return cls(
            target,
            relay,
            expires,
            bytes(payload[_SIGNED_HEADER_SIZE:signed_end]),
            signature,
            signer,
            ipaddress.IPv4Address(v4),
            v4_port,
            v4_external,
            address6,
            v6_port,
            v6_external,
        )


def _signed_part(target: PublicKey, relay: PublicKey, expires: int, embedded: bytes) -> bytes:
    if TRAVERSE_HEADER_SIZE + len(embedded) > MAX_PAYLOAD_SIZE:
        raise MessageTooLargeError(f"traverse with a {len(embedded)}-byte embedded packet exceeds the payload limit")
    try:
        return _FIXED.pack(target.to_bytes(), relay.to_bytes(), expires, len(embedded)) + embedded
    except struct.error as exc:
        raise EncodeError(f"traverse field out of range: {exc}") from exc
