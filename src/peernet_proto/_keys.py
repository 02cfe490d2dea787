"""secp256k1 identities: private keys, compressed public keys, node IDs and compact signatures."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Final

import blake3
import coincurve
from coincurve._libsecp256k1 import ffi as _ffi
from coincurve._libsecp256k1 import lib as _lib
from coincurve.context import GLOBAL_CONTEXT

from ._errors import InvalidKeyError, SignatureError

__all__ = [
    "COMPACT_SIGNATURE_SIZE",
    "PUBLIC_KEY_SIZE",
    "PrivateKey",
    "PublicKey",
    "hash_data",
    "recover_compact",
]

PUBLIC_KEY_SIZE: Final = 33
PRIVATE_KEY_SIZE: Final = 32
HASH_SIZE: Final = 32
COMPACT_SIGNATURE_SIZE: Final = 65

_CURVE_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# Header byte of a compact signature: 27 + recovery id, +4 when the key is compressed.
_HEADER_COMPRESSED: Final = 31
_CONTEXT = GLOBAL_CONTEXT.ctx


def hash_data(data: bytes) -> bytes:
    """BLAKE3 with a 256-bit output: the hash used for node IDs, data keys and signatures."""
    return blake3.blake3(data).digest()


class PublicKey:
    """A secp256k1 public key in its 33-byte compressed form (a Peernet peer ID)."""

    __slots__ = ("_bytes", "_hash", "_node_id", "_point")

    def __init__(self, compressed: bytes, *, _checked: bool = False) -> None:
        if not _checked:
            _validate_public_key(compressed)
        self._bytes = bytes(compressed)
        self._node_id: bytes | None = None
        self._point: object = None  # libsecp256k1's parsed form, made when first verifying
        self._hash = hash(self._bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        """Parse a 33-byte compressed key; raises :class:`InvalidKeyError` if it is not on the curve.

        Keys parsed recently are shared: the same bytes give the same (immutable) object."""
        if cls is PublicKey and type(data) is bytes:
            return _parse_public_key(data)
        return cls(data)

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidKeyError(f"public key is not hex: {text!r}") from exc
        return cls(raw)

    def to_bytes(self) -> bytes:
        return self._bytes

    def hex(self) -> str:
        return self._bytes.hex()

    @property
    def node_id(self) -> bytes:
        """The Kademlia node ID: BLAKE3 of the compressed key."""
        if self._node_id is None:
            self._node_id = hash_data(self._bytes)
        return self._node_id

    @property
    def salsa20_key(self) -> bytes:
        """The packet encryption key for packets sent to this peer: the X coordinate."""
        return self._bytes[1:]

    def verify_compact(self, signature: bytes, digest: bytes) -> bool:
        """True if ``signature`` (compact, 65 bytes) over ``digest`` recovers to this key."""
        try:
            return recover_compact(signature, digest) == self
        except SignatureError:
            return False

    def signed(self, signature: bytes, digest: bytes) -> bool:
        """True if this key made the compact ``signature`` over ``digest``: plain ECDSA
        verification of (r, s), about a fifth cheaper than recovering the signer. The header byte
        must be a valid one (27..34) but its recovery id is not consulted: it only guides recovery,
        and the signer's key is known here. Any s in 1..n-1 is accepted, as by recovery."""
        if len(signature) != COMPACT_SIGNATURE_SIZE or not 27 <= signature[0] <= 34:
            return False
        parsed = _ffi.new("secp256k1_ecdsa_signature *")
        if not _lib.secp256k1_ecdsa_signature_parse_compact(_CONTEXT, parsed, signature[1:]):
            return False  # r or s not below the curve order
        _lib.secp256k1_ecdsa_signature_normalize(_CONTEXT, parsed, parsed)  # verify wants the low s
        point = self._point
        if point is None:
            point = self._point = coincurve.PublicKey(self._bytes).public_key
        return bool(_lib.secp256k1_ecdsa_verify(_CONTEXT, parsed, digest, point))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PublicKey):
            return self._bytes == other._bytes
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"PublicKey({self._bytes.hex()})"


class PrivateKey:
    """A secp256k1 private key (32-byte big-endian scalar)."""

    __slots__ = ("_key", "_public")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != PRIVATE_KEY_SIZE:
            raise InvalidKeyError(f"private key must be {PRIVATE_KEY_SIZE} bytes, got {len(secret)}")
        value = int.from_bytes(secret, "big")
        if not 0 < value < _CURVE_ORDER:
            raise InvalidKeyError("private key is out of range")
        self._key = coincurve.PrivateKey(bytes(secret))
        self._public = PublicKey(self._key.public_key.format(compressed=True), _checked=True)

    @classmethod
    def from_bytes(cls, secret: bytes) -> PrivateKey:
        return cls(secret)

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError as exc:
            raise InvalidKeyError("private key is not hex") from exc
        return cls(raw)

    @classmethod
    def generate(cls) -> PrivateKey:
        """A new random key from the operating system's CSPRNG."""
        while True:
            secret = os.urandom(PRIVATE_KEY_SIZE)
            if 0 < int.from_bytes(secret, "big") < _CURVE_ORDER:
                return cls(secret)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PrivateKey:
        """Read a key saved by :meth:`save` (64 hex characters)."""
        return cls.from_hex(Path(path).read_text(encoding="ascii"))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key as hex, readable by the owner only, atomically (write, fsync, rename)."""
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (self.to_bytes().hex() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)

    def to_bytes(self) -> bytes:
        secret: bytes = self._key.secret
        return secret

    @property
    def public_key(self) -> PublicKey:
        return self._public

    def sign_compact(self, digest: bytes) -> bytes:
        """Deterministic (RFC 6979), low-S compact signature of a 32-byte digest.

        Layout: header (31 + recovery id) || r (32) || s (32), as btcec's SignCompact.
        """
        rsv: bytes = self._key.sign_recoverable(digest, hasher=None)
        return bytes((_HEADER_COMPRESSED + rsv[64],)) + rsv[:64]

    def __repr__(self) -> str:
        return f"PrivateKey(<secret>, public={self._public.hex()})"


def recover_compact(signature: bytes, digest: bytes) -> PublicKey:
    """Recover the signer of a compact signature over a 32-byte digest.

    Accepts header bytes 27..34 and any s in 1..n-1, as the reference does.
    """
    if len(signature) != COMPACT_SIGNATURE_SIZE:
        raise SignatureError(f"compact signature must be 65 bytes, got {len(signature)}")
    header = signature[0]
    if not 27 <= header <= 34:
        raise SignatureError(f"invalid compact signature header byte {header}")
    recovery_id = (header - 27) & 3
    try:
        point = coincurve.PublicKey.from_signature_and_message(
            signature[1:] + bytes((recovery_id,)), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception/ValueError for invalid input
        raise SignatureError("no public key can be recovered from the signature") from exc
    return _recovered(point.format(compressed=True))


@functools.lru_cache(maxsize=1 << 14)
def _recovered(compressed: bytes) -> PublicKey:
    # The signers of recent packets, shared: dictionaries keyed by them then match by identity,
    # and each keeps its node ID once computed.
    return PublicKey(compressed, _checked=True)


@functools.lru_cache(maxsize=1 << 18)
def _parse_public_key(data: bytes) -> PublicKey:
    return PublicKey(data)


def _validate_public_key(data: bytes) -> None:
    if len(data) != PUBLIC_KEY_SIZE:
        raise InvalidKeyError(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(data)}")
    if data[0] not in (2, 3):
        raise InvalidKeyError(f"invalid compressed public key prefix 0x{data[0]:02x}")
    try:
        coincurve.PublicKey(bytes(data))
    except Exception as exc:  # coincurve raises ValueError for points off the curve
        raise InvalidKeyError("public key is not a point on secp256k1") from exc
