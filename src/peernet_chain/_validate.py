"""Validation of chains received from other peers (sans-IO).

Stricter than the reference: every block must be signed by the chain owner, carry the announced
version and the expected consecutive number, and link to the hash of the block before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from peernet_proto import PublicKey

from ._block import ZERO_HASH, Block, block_hash, decode_block
from ._errors import BlockDecodeError, ChainValidationError

__all__ = ["DEFAULT_MAX_BLOCK_SIZE", "ChainValidator", "validate_chain"]

# The reference's CacheMaxBlockSize: the largest block a reference node downloads.
DEFAULT_MAX_BLOCK_SIZE: Final = 50_096


class ChainValidator:
    """Checks blocks one after another. ``next_number`` and ``previous_hash`` let validation continue
    a chain whose first blocks were validated before (``previous_hash`` is the hash of block
    ``next_number - 1``)."""

    def __init__(
        self,
        owner: PublicKey,
        version: int,
        *,
        next_number: int = 0,
        previous_hash: bytes | None = None,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    ) -> None:
        if next_number == 0:
            previous_hash = ZERO_HASH
        elif previous_hash is None:
            raise ValueError("continuing a chain needs the previous block's hash")
        self.owner = owner
        self.version = version
        self.next_number = next_number
        self.previous_hash = previous_hash
        self.max_block_size = max_block_size

    def check(self, raw: bytes) -> Block:
        """Validate the next block and advance; raises :class:`ChainValidationError`."""
        number = self.next_number
        if len(raw) > self.max_block_size:
            raise ChainValidationError(
                "size", f"block of {len(raw)} bytes exceeds {self.max_block_size}", number
            )
        try:
            block = decode_block(raw)
        except BlockDecodeError as exc:
            raise ChainValidationError("decode", str(exc), number) from exc
        if block.owner != self.owner:
            raise ChainValidationError(
                "owner", f"block signed by {block.owner.hex()}, not the chain owner", number
            )
        if block.number != number:
            raise ChainValidationError("number", f"block number {block.number}, expected {number}", number)
        if block.version != self.version:
            raise ChainValidationError(
                "version", f"block version {block.version}, expected {self.version}", number
            )
        if block.previous_hash != self.previous_hash:
            raise ChainValidationError("link", "previous block hash does not match", number)
        self.previous_hash = block_hash(raw)
        self.next_number = number + 1
        return block


def validate_chain(
    owner: PublicKey,
    version: int,
    raws: Iterable[bytes],
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    expected_height: int | None = None,
) -> list[Block]:
    """Validate a whole chain from block 0; with ``expected_height`` a short chain is rejected too."""
    validator = ChainValidator(owner, version, max_block_size=max_block_size)
    blocks = [validator.check(raw) for raw in raws]
    if expected_height is not None and len(blocks) != expected_height:
        raise ChainValidationError("height", f"{len(blocks)} blocks, expected {expected_height}", len(blocks))
    return blocks
