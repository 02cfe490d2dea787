"""The sans-IO core of one download: which piece to fetch from whom, verification, progress.

A file is fetched in pieces. With a merkle tree (offered by a source and matching the merkle
root of the file record) a piece is one fragment and every fragment is checked with
``peernet_chain.verify_fragment`` as it arrives; a bad fragment is fetched again, from another
source when there is one, and a source that sends three bad fragments is dropped. Without a tree,
pieces are :data:`PIECE_SIZE` bytes and only the whole-file BLAKE3 hash (always checked at the
end) protects the download.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from typing import Final

import attrs

from peernet_chain import MINIMUM_FRAGMENT_SIZE, MerkleTree, verify_fragment
from peernet_proto import PublicKey

__all__ = ["PIECE_SIZE", "DownloadCore", "DownloadStatus", "Progress"]

PIECE_SIZE: Final = MINIMUM_FRAGMENT_SIZE
MAX_STRIKES: Final = 3
_RATE_WINDOW: Final = 5.0


class DownloadStatus(enum.IntEnum):
    """Download status codes of the local API (spec webapi.md §3.9)."""

    WAIT_METADATA = 0
    WAIT_SWARM = 1
    ACTIVE = 2
    PAUSE = 3
    CANCELED = 4  # also every failure, as in the reference
    FINISHED = 5


@attrs.frozen
class Progress:
    """Bytes verified so far, the recent rate (bytes/s) and the estimated seconds left (None: unknown)."""

    total: int
    done: int
    rate: float
    eta: float | None

    @property
    def percentage(self) -> float:
        """round(100 · done / total, 2); 100 for an empty file."""
        return 100.0 if self.total == 0 else round(100 * self.done / self.total, 2)


class DownloadCore:
    """Piece bookkeeping for one file of ``size`` bytes and BLAKE3 ``file_hash``."""

    def __init__(
        self,
        download_id: uuid.UUID,
        file_hash: bytes,
        size: int,
        sources: Iterable[PublicKey],
        *,
        merkle_root: bytes | None = None,
    ) -> None:
        self.id, self.file_hash, self.size, self.merkle_root = download_id, file_hash, size, merkle_root
        self.sources: list[PublicKey] = list(dict.fromkeys(sources))
        self.tree: MerkleTree | None = None
        self.piece_size = PIECE_SIZE
        self.done: set[int] = set()
        self.in_flight: dict[int, PublicKey] = {}
        self.bad: dict[int, set[PublicKey]] = {}
        self.strikes: dict[PublicKey, int] = {}
        self.rejected = 0
        self._next_source = 0
        self._samples: list[tuple[float, int]] = []

    # --- pieces ---------------------------------------------------------------------------

    @property
    def piece_count(self) -> int:
        """Pieces of the file (1 for an empty file)."""
        return max(1, -(-self.size // self.piece_size))

    def piece_range(self, index: int) -> tuple[int, int]:
        """(offset, length) of piece ``index``."""
        offset = index * self.piece_size
        return offset, max(0, min(self.piece_size, self.size - offset))

    def use_tree(self, tree: MerkleTree) -> bool:
        """Adopt a source's tree if it matches the expected root and size; pieces become
        fragments (only before anything is done, or when the piece size does not change)."""
        if self.merkle_root is None or tree.root_hash != self.merkle_root or tree.file_size != self.size:
            return False
        if tree.fragment_count > 1 and len(tree.fragment_hashes) != tree.fragment_count:
            return False
        if self.done and tree.fragment_size != self.piece_size:
            return False
        self.tree, self.piece_size = tree, tree.fragment_size
        return True

    def next_piece(self) -> tuple[int, PublicKey] | None:
        """A missing piece nobody is fetching and a source to ask (round robin, skipping sources
        that sent a bad copy of it); None when nothing can be started now."""
        if not self.sources:
            return None
        for index in range(self.piece_count):
            if index in self.done or index in self.in_flight:
                continue
            peer = self._pick_source(self.bad.get(index, set()))
            if peer is not None:
                self.in_flight[index] = peer
                return index, peer
        return None

    def next_run(self, max_pieces: int) -> tuple[list[int], PublicKey] | None:
        """Like :meth:`next_piece`, extended by up to ``max_pieces - 1`` following pieces that are
        missing, not in flight and not bad from the same source: one request fetches them all
        (each piece is still checked on its own)."""
        planned = self.next_piece()
        if planned is None:
            return None
        first, peer = planned
        run = [first]
        index = first + 1
        while len(run) < max_pieces and index < self.piece_count:
            if index in self.done or index in self.in_flight or peer in self.bad.get(index, ()):
                break
            self.in_flight[index] = peer
            run.append(index)
            index += 1
        return run, peer

    def _pick_source(self, avoid: set[PublicKey]) -> PublicKey | None:
        candidates = [peer for peer in self.sources if peer not in avoid] or list(self.sources)
        fewest = min(self.strikes.get(peer, 0) for peer in candidates)
        candidates = [peer for peer in candidates if self.strikes.get(peer, 0) == fewest]
        peer = candidates[self._next_source % len(candidates)]
        self._next_source += 1
        return peer

    def piece_arrived(self, index: int, peer: PublicKey, data: bytes, now: float) -> bool:
        """Check a piece; True if it may be written. A bad one is counted against ``peer``."""
        self.in_flight.pop(index, None)
        if index in self.done:
            return False
        if len(data) != self.piece_range(index)[1] or not self.verify_piece(index, data):
            self._strike(index, peer)
            return False
        self.done.add(index)
        self._samples.append((now, len(data)))
        self._samples = [(t, n) for t, n in self._samples if t > now - _RATE_WINDOW]
        return True

    def verify_piece(self, index: int, data: bytes) -> bool:
        """True if ``data`` is fragment ``index`` under the tree (always True without a tree)."""
        if self.tree is None:
            return True
        count = self.tree.fragment_count
        return verify_fragment(
            self.tree.root_hash, data, self.tree.proof(index), index=index, fragment_count=max(1, count)
        )

    def _strike(self, index: int, peer: PublicKey) -> None:
        self.rejected += 1
        self.bad.setdefault(index, set()).add(peer)
        self.strikes[peer] = self.strikes.get(peer, 0) + 1
        if self.strikes[peer] >= MAX_STRIKES and peer in self.sources:
            self.sources.remove(peer)

    def piece_failed(self, index: int, peer: PublicKey, *, drop_source: bool = False) -> None:
        """The source could not deliver the piece."""
        self.in_flight.pop(index, None)
        if drop_source and peer in self.sources:
            self.sources.remove(peer)

    def add_sources(self, peers: Iterable[PublicKey]) -> int:
        """Add sources (peers that dropped out for bad fragments stay out); returns how many are new."""
        new = [peer for peer in dict.fromkeys(peers) if peer not in self.sources and peer not in self.strikes]
        self.sources.extend(new)
        return len(new)

    def restore(self, done: Iterable[int]) -> None:
        """Pieces already on disk (after a restart, once re-verified)."""
        self.done = {index for index in done if 0 <= index < self.piece_count}

    def reset(self) -> None:
        """Forget every piece (the whole-file hash did not match)."""
        self.done.clear()
        self.in_flight.clear()

    # --- state ----------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """True when every piece is done."""
        return len(self.done) >= self.piece_count

    @property
    def done_bytes(self) -> int:
        """Bytes of the pieces done."""
        return sum(self.piece_range(index)[1] for index in self.done)

    def progress(self, now: float) -> Progress:
        """Bytes done, the rate over the last few seconds and the time left at that rate."""
        recent = [(t, n) for t, n in self._samples if t > now - _RATE_WINDOW]
        rate = sum(n for _, n in recent) / _RATE_WINDOW if recent else 0.0
        left = self.size - self.done_bytes
        eta = 0.0 if left <= 0 else (left / rate if rate > 0 else None)
        return Progress(self.size, self.done_bytes, rate, eta)
