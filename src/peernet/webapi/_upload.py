"""Streaming uploads into the warehouse: the ``File`` part of a multipart body (or a raw body)
goes straight into the warehouse's import, with a size limit and a free-space check, never
through a spooled copy (spec webapi.md §2.8, §6 S6). Upload progress by tracking ID."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO, Final, cast

import attrs
import trio
from python_multipart.multipart import MultipartParser, parse_options_header

from peernet_chain import StoredFile, Warehouse, WarehouseError

from ._encoding import BadRequestError, BodyTooLargeError

__all__ = ["UploadError", "UploadRecord", "UploadTracker", "receive_upload"]

_SPACE_CHECK_EVERY: Final = 16 << 20
_ID_PART_LIMIT: Final = 128
STATUS_ACTIVE, STATUS_FINISHED = 2, 5


class UploadError(Exception):
    """The upload could not be stored (disk full, write error); ``status`` is a warehouse code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Aborted(OSError):
    """Raised inside the import thread when the request side gives up (the temp file is removed)."""


@attrs.define
class UploadRecord:
    """Progress of one tracked upload."""

    id: uuid.UUID
    total: int = 0
    uploaded: int = 0
    status: int = 0
    created: float = attrs.field(factory=time.monotonic)

    def to_api(self) -> dict[str, Any]:
        """UploadStatus JSON (apistatus 0)."""
        percentage = round(100 * self.uploaded / self.total, 2) if self.total else (100.0 if self.status == 5 else 0.0)
        return {"apistatus": 0, "id": str(self.id), "uploadstatus": self.status,
                "progress": {"totalsize": self.total, "uploadedsize": self.uploaded, "percentage": percentage}}


@attrs.define
class UploadTracker:
    """A bounded, expiring map of tracking IDs; ``receiving`` counts uploads still arriving."""

    limit: int = 1024
    ttl: float = 3600.0
    records: OrderedDict[uuid.UUID, UploadRecord] = attrs.field(factory=OrderedDict)
    receiving: int = 0

    def get(self, upload_id: uuid.UUID) -> UploadRecord | None:
        """The record, if known and not expired."""
        self._expire()
        return self.records.get(upload_id)

    def create(self, upload_id: uuid.UUID | None = None) -> UploadRecord:
        """Register (or return) a record; the oldest go when the map is full."""
        self._expire()
        upload_id = upload_id or uuid.uuid4()
        record = self.records.get(upload_id)
        if record is None:
            record = self.records[upload_id] = UploadRecord(upload_id)
            while len(self.records) > self.limit:
                self.records.popitem(last=False)
        return record

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl
        while self.records and next(iter(self.records.values())).created < cutoff:
            self.records.popitem(last=False)


class _ChannelReader(io.RawIOBase):
    """A blocking file object for the import thread, fed from the trio side chunk by chunk."""

    def __init__(self, receive: Callable[[], bytes | None]) -> None:
        self._receive = receive
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._done:
            chunk = self._receive()
            if chunk is None:
                raise _Aborted("upload aborted")
            self._pending = chunk
            self._done = not chunk
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Sink:
    """Runs ``Warehouse.import_stream`` in a worker thread and feeds it, counting bytes."""

    def __init__(self, warehouse: Warehouse, limit: int, reserve: int, size_hint: int,
                 on_progress: Callable[[int], None]) -> None:
        self.warehouse, self.limit, self.reserve, self.size_hint = warehouse, limit, reserve, size_hint
        self.on_progress = on_progress
        self.send, self._receive = trio.open_memory_channel[bytes | None](4)
        self.size = 0
        self.result: StoredFile | None = None
        self.error: Exception | None = None
        self._next_check = 0

    async def run(self) -> None:
        token = trio.lowlevel.current_trio_token()

        def receive() -> bytes | None:
            try:
                return trio.from_thread.run(self._receive.receive, trio_token=token)
            except (trio.EndOfChannel, trio.Cancelled, trio.RunFinishedError):
                return None

        reader = _ChannelReader(receive)
        async with self._receive:
            try:
                self.result = await trio.to_thread.run_sync(
                    self.warehouse.import_stream, cast(BinaryIO, reader), self.size_hint)
            except WarehouseError as exc:
                self.error = exc

    async def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise BodyTooLargeError
        if self.size >= self._next_check:
            self._next_check = self.size + _SPACE_CHECK_EVERY
            free = shutil.disk_usage(self.warehouse.root).free
            if free - self.reserve < min(self.limit, max(self.size_hint, self.size)) - self.size:
                raise UploadError(2, "not enough free disk space")
        await self.send.send(chunk)
        self.on_progress(self.size)


@attrs.define
class _Multipart:
    """Events of one multipart body: which part is open, its name, and the collected ``id``."""

    boundary: bytes
    events: list[tuple[str, bytes]] = attrs.field(factory=list)
    header_field: bytes = b""
    headers: dict[bytes, bytes] = attrs.field(factory=dict)

    def parser(self) -> MultipartParser:
        def field(data: bytes, start: int, end: int) -> None:
            self.header_field += data[start:end]

        def value(data: bytes, start: int, end: int) -> None:
            name = self.header_field.lower()
            self.headers[name] = self.headers.get(name, b"") + data[start:end]

        def header_end() -> None:
            self.header_field = b""

        def headers_done() -> None:
            _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
            self.events.append(("begin", options.get(b"name", b"")))
            self.headers = {}

        callbacks: Any = {
            "on_header_field": field, "on_header_value": value, "on_header_end": header_end,
            "on_headers_finished": headers_done,
            "on_part_data": lambda data, start, end: self.events.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self.events.append(("end", b"")),
        }
        return MultipartParser(self.boundary, callbacks, max_header_size=4096)


async def _multipart_parts(stream: AsyncIterator[bytes], boundary: bytes) -> AsyncIterator[tuple[str, bytes]]:
    state = _Multipart(boundary)
    parser = state.parser()
    async for chunk in stream:
        try:
            parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own error classes and ValueError
            raise BadRequestError("malformed multipart body") from exc
        events, state.events = state.events, []
        for event in events:
            yield event
    try:
        parser.finalize()
    except Exception as exc:
        raise BadRequestError("malformed multipart body") from exc


def multipart_boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` type (quoted or not), else None."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequestError("multipart body without boundary")
    return boundary


async def _feed_multipart(sink: _Sink, start: Callable[[], None], stream: AsyncIterator[bytes], boundary: bytes,
                          on_id: Callable[[bytes], None]) -> bool:
    part, found, id_text = b"", False, b""
    async for kind, data in _multipart_parts(stream, boundary):
        if kind == "begin":
            part = data
            if part == b"File" and not found:
                found = True
                start()
        elif kind == "data" and part == b"File" and found:
            await sink.feed(data)
        elif kind == "data" and part == b"id":
            id_text = (id_text + data)[:_ID_PART_LIMIT]
        elif kind == "end" and part == b"id":
            on_id(id_text)
        if kind == "end":
            part = b""
    return found


async def receive_upload(
    warehouse: Warehouse, stream: AsyncIterator[bytes], *, boundary: bytes | None, size_hint: int, limit: int,
    reserve: int, on_id: Callable[[bytes], None], on_progress: Callable[[int], None],
) -> StoredFile:
    """Store the upload; raises :class:`BadRequestError`, :class:`BodyTooLargeError` or :class:`UploadError`."""
    if size_hint > limit:
        raise BodyTooLargeError
    sink = _Sink(warehouse, limit, reserve, size_hint, on_progress)
    try:
        found = await _store(sink, stream, boundary, on_id)
    except BaseExceptionGroup as group:  # the nursery wraps the one error the request side raised
        errors = group.exceptions
        if len(errors) == 1 and isinstance(errors[0], BadRequestError | BodyTooLargeError | UploadError):
            raise errors[0] from None
        raise
    if not found:
        raise BadRequestError("no File part")
    if sink.error is not None or sink.result is None:
        raise UploadError(2, str(sink.error))
    return sink.result


async def _store(sink: _Sink, stream: AsyncIterator[bytes], boundary: bytes | None,
                 on_id: Callable[[bytes], None]) -> bool:
    async with trio.open_nursery() as nursery:
        try:
            if boundary is None:
                nursery.start_soon(sink.run)
                async for chunk in stream:
                    await sink.feed(chunk)
                found = True
            else:
                found = await _feed_multipart(sink, lambda: nursery.start_soon(sink.run), stream, boundary, on_id)
            if found:
                await sink.send.send(b"")
        except BaseException:
            with trio.CancelScope(shield=True):
                await _abort(sink)
            raise
        finally:
            await sink.send.aclose()
    return found


async def _abort(sink: _Sink) -> None:
    with contextlib.suppress(trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        sink.send.send_nowait(None)
