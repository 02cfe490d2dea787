"""The data owner's sessions (UDT dialer): serve a file byte range or blocks of the own chain
(spec wire.md §6.10, §12.2–§12.3)."""

from __future__ import annotations

from collections.abc import Iterator

from .._transfer import BlockAvailability, BlockRange, BlockTransferHeader, FileTransferHeader
from ..udt import UdtState
from ._session import SessionState, TransferSession
from ._sources import BlockProvider, FileSource

__all__ = ["BlockUpload", "FileUpload", "planned_blocks"]

_READ_CHUNK = 64 * 1024


class _Upload(TransferSession):
    """Writes a byte stream into the connection as its send buffer allows."""

    _item: memoryview | None = None

    def next_item(self) -> bytes | None:
        """The next piece of the stream, or None at its end."""
        raise NotImplementedError

    def progress(self, now: float) -> None:
        """Fill the send buffer from the stream; close the connection at its end."""
        conn = self.conn
        if conn.state is not UdtState.CONNECTED:
            if conn.state is UdtState.CLOSED and conn.send_finished:
                self.succeed(now)
            return
        self.state = SessionState.ACTIVE if self.state is SessionState.WAITING else self.state
        while conn.send_capacity > 0:
            if self._item is None or not len(self._item):
                item = self.next_item()
                if item is None:
                    conn.close()
                    break
                self._item = memoryview(item)
            taken = conn.send(self._item)
            self._item = self._item[taken:]
        if conn.send_finished:
            self.succeed(now)


class FileUpload(_Upload):
    """Sends the 16-byte header, then ``limit`` bytes of the file from ``offset``."""

    def setup(self, source: FileSource, file_size: int, offset: int, limit: int) -> None:
        """Where the bytes come from (called right after construction)."""
        self.source = source
        self.position = offset
        self.remaining = limit
        self._header: bytes | None = FileTransferHeader(file_size, limit).encode()

    def next_item(self) -> bytes | None:
        """The header first, then file chunks of up to 64 KiB."""
        if self._header is not None:  # goes into the first data frame whole, as Go's reader needs
            header, self._header = self._header, None
            return header
        if self.remaining <= 0:
            return None
        try:
            data = self.source.read_file(self.subject, self.position, min(self.remaining, _READ_CHUNK))
        except OSError as exc:
            self.fail(f"file source failed: {exc}", self.last_activity)
            return None
        if not data:
            self.fail("file source returned nothing", self.last_activity)
            return None
        self.position += len(data)
        self.remaining -= len(data)
        return data


def planned_blocks(ranges: tuple[BlockRange, ...], limit: int) -> Iterator[int]:
    """Block numbers in request order, at most ``limit`` in all (Go's limit only breaks one range, bug B12)."""
    sent = 0
    for block_range in ranges:
        for number in range(block_range.offset, block_range.offset + block_range.limit):
            if sent >= limit:
                return
            sent += 1
            yield number


class BlockUpload(_Upload):
    """Sends a 25-byte header per requested block, followed by the block when it is available."""

    def setup(self, provider: BlockProvider, ranges: tuple[BlockRange, ...], limit: int, max_size: int) -> None:
        """The chain and the request (called right after construction)."""
        self.provider = provider
        self.max_size = max_size
        self._numbers = planned_blocks(ranges, limit)

    def next_item(self) -> bytes | None:
        """The next block's header and bytes."""
        number = next(self._numbers, None)
        if number is None:
            return None
        raw = self.provider.block(number)
        if raw is None:
            return BlockTransferHeader(BlockAvailability.NOT_AVAILABLE, number, 1, 0).encode()
        if len(raw) > self.max_size:
            return BlockTransferHeader(BlockAvailability.TOO_LARGE, number, 1, len(raw)).encode()
        return BlockTransferHeader(BlockAvailability.AVAILABLE, number, 1, len(raw)).encode() + raw
