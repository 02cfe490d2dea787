"""The requester's sessions (UDT listener): read a file byte range or blocks from the stream
(spec wire.md §6.10, §12.2–§12.3). Both keep at most a bounded amount of parsed data; the rest
waits in the UDT receive window, so a reader that stops reading stops the sender."""

from __future__ import annotations

from collections import deque

from .._transfer import BlockAvailability, BlockRange, BlockTransferHeader, FileTransferHeader
from ..udt import UdtState
from ._owner import planned_blocks
from ._session import SessionState, TransferSession

__all__ = ["BlockDownload", "FileDownload"]


class FileDownload(TransferSession):
    """Downloads ``limit`` bytes (0: to the end) of a file from ``offset``."""

    def setup(self, offset: int, limit: int) -> None:
        """The request (called right after construction)."""
        self.offset = offset
        self.limit = limit
        self.header: FileTransferHeader | None = None
        self.received = 0
        self._head = bytearray()

    @property
    def remaining(self) -> int | None:
        """Bytes still to come (None until the header arrived)."""
        return None if self.header is None else self.header.transfer_size - self.received

    def progress(self, now: float) -> None:
        """Read and check the 16-byte header; the file bytes wait for :meth:`read`."""
        conn = self.conn
        if conn.state is UdtState.CONNECTED and self.state is SessionState.WAITING:
            self.state = SessionState.ACTIVE
        if self.header is None and conn.readable:
            self._head += conn.read(FileTransferHeader.SIZE - len(self._head))
            if len(self._head) == FileTransferHeader.SIZE:
                self._check_header(FileTransferHeader.decode(bytes(self._head)), now)
        if conn.readable:
            self._changed()
        if self.header is not None and self.received >= self.header.transfer_size:
            self.succeed(now)

    def _check_header(self, header: FileTransferHeader, now: float) -> None:
        self.header = header
        if self.offset > header.file_size:
            self.fail(f"offset {self.offset} beyond the file size {header.file_size}", now)
        elif self.limit and header.transfer_size != self.limit:
            self.fail(f"peer announces {header.transfer_size} bytes, {self.limit} were requested", now)
        elif not self.limit and header.transfer_size != header.file_size - self.offset:
            self.fail(f"peer announces {header.transfer_size} bytes of a {header.file_size}-byte file", now)
        else:
            self._changed()

    def read(self, max_bytes: int = 1 << 20) -> bytes:
        """File bytes that arrived, in order; empty when none are ready (see ``finished``)."""
        remaining = self.remaining
        if not remaining or self.state is SessionState.FAILED:
            return b""
        data = self.conn.read(min(max_bytes, remaining))
        self.received += len(data)
        return data


class BlockDownload(TransferSession):
    """Downloads blocks; :meth:`take` yields ``(number, raw or None)`` in request order."""

    def setup(self, ranges: tuple[BlockRange, ...], limit: int, max_size: int, buffered: int) -> None:
        """The request (called right after construction)."""
        self.max_size = max_size
        self.buffered = buffered
        self._expected = planned_blocks(ranges, limit)
        self._next_number = next(self._expected, None)
        self.blocks: deque[tuple[int, bytes | None]] = deque()
        self._head = bytearray()
        self._header: BlockTransferHeader | None = None
        self._body = bytearray()

    @property
    def complete(self) -> bool:
        """Every expected header (and block) arrived."""
        return self._next_number is None

    def progress(self, now: float) -> None:
        """Parse headers and blocks while fewer than ``buffered`` blocks wait to be taken."""
        conn = self.conn
        if conn.state is UdtState.CONNECTED and self.state is SessionState.WAITING:
            self.state = SessionState.ACTIVE
        before = len(self.blocks)
        while not self.finished and not self.complete and len(self.blocks) < self.buffered and conn.readable:
            if self._header is None:
                self._head += conn.read(BlockTransferHeader.SIZE - len(self._head))
                if len(self._head) == BlockTransferHeader.SIZE:
                    self._start_block(BlockTransferHeader.decode(bytes(self._head)), now)
                    self._head.clear()
            else:
                self._body += conn.read(self._header.block_size - len(self._body))
                if len(self._body) == self._header.block_size:
                    self._deliver(self._header.block_number, bytes(self._body))
                    self._body.clear()
        if len(self.blocks) != before:
            self._changed()
        if self.complete and not self.blocks:
            self.succeed(now)

    def _start_block(self, header: BlockTransferHeader, now: float) -> None:
        if header.count != 1 or header.block_number != self._next_number:
            self.fail(f"unexpected block header {header}", now)
        elif header.availability == BlockAvailability.AVAILABLE:
            if header.block_size > self.max_size:
                self.fail(f"block {header.block_number} of {header.block_size} bytes exceeds the maximum", now)
            elif header.block_size == 0:
                self._deliver(header.block_number, b"")
            else:
                self._header = header
        elif header.availability in (BlockAvailability.NOT_AVAILABLE, BlockAvailability.TOO_LARGE):
            self._deliver(header.block_number, None)
        else:
            self.fail(f"unknown block availability {header.availability}", now)

    def _deliver(self, number: int, raw: bytes | None) -> None:
        self.blocks.append((number, raw))
        self._header = None
        self._next_number = next(self._expected, None)

    def take(self) -> list[tuple[int, bytes | None]]:
        """Blocks parsed so far (then more are read from the connection on the next pump)."""
        out = list(self.blocks)
        self.blocks.clear()
        return out
