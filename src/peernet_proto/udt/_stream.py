"""A trio byte stream over one UDT connection: the thin shell around :class:`UdtConnection`.

Frames from the peer go in with :meth:`UdtStream.feed`; frames to the peer leave through the
``transmit`` callable (e.g. one lite packet each). :meth:`UdtStream.run` must run in a nursery for
the stream's life: it drives timers and keeps flushing after a graceful :meth:`aclose`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import trio

from ._connection import UdtConnection
from ._events import UdtState

__all__ = ["UdtStream"]

_DEFAULT_RECEIVE = 65536


class UdtStream(trio.abc.HalfCloseableStream):
    """``send_eof`` sends a UDT Shutdown once every byte is acknowledged (needs ``send_shutdown``);
    ``aclose`` does the same, then stops answering the peer. A silent peer makes the stream broken."""

    def __init__(
        self, conn: UdtConnection, transmit: Callable[[bytes], object], clock: Callable[[], float] = trio.current_time
    ) -> None:
        self.conn = conn
        self._transmit = transmit
        self._clock = clock
        self._lot = trio.lowlevel.ParkingLot()
        self._wakeup = trio.Event()
        self._closed = False
        self._eof_sent = False
        self._send_busy = False
        self._receive_busy = False
        self._stopped = False

    # ----------------------------------------------------------------- plumbing

    def feed(self, frame: bytes) -> None:
        """One frame from the peer."""
        if not self._stopped:
            self.conn.receive_frame(frame, self._clock())
            self._kick()

    def break_off(self, reason: str) -> None:
        """The transport is gone (e.g. the peer was removed): readers and writers get BrokenResourceError."""
        self.conn.fail(reason)
        self._kick()

    def _kick(self) -> None:
        self._wakeup.set()
        self._lot.unpark_all()

    def _finished(self) -> bool:
        conn = self.conn
        return conn.state in (UdtState.BROKEN, UdtState.CLOSED) or (self._closed and conn.send_finished)

    async def run(self) -> None:
        """Drive the connection until it ends (after ``aclose``: once flushed, or broken)."""
        conn = self.conn
        try:
            while True:
                for frame in conn.frames_to_send(self._clock()):
                    self._transmit(frame)
                conn.events()
                self._lot.unpark_all()
                if self._finished():
                    return
                deadline = conn.next_deadline()
                with trio.move_on_at(math.inf if deadline is None else deadline):
                    await self._wakeup.wait()
                self._wakeup = trio.Event()
        finally:
            self._stopped = True
            if conn.state is not UdtState.BROKEN:
                conn.abort("stream finished")
            self._lot.unpark_all()

    def _broken(self) -> bool:
        return self.conn.state is UdtState.BROKEN or (self._stopped and not self._closed)

    # ----------------------------------------------------------------- trio stream API

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Queue all of ``data``; waits while the send buffer is full."""
        if self._send_busy:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._send_busy = True
        try:
            if self._closed or self._eof_sent:
                raise trio.ClosedResourceError("the stream is closed for sending")
            view = memoryview(data).cast("B")
            parked = False
            while True:
                if self._broken():
                    raise trio.BrokenResourceError(f"UDT connection {self.conn.state.value}")
                if view:
                    taken = self.conn.send(view)
                    view = view[taken:]
                    if taken:
                        self._kick()
                if not view:
                    break
                parked = True
                await self._lot.park()
                if self._closed:
                    raise trio.ClosedResourceError("the stream was closed")
            if not parked:
                await trio.lowlevel.checkpoint()
        finally:
            self._send_busy = False

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the send buffer has room."""
        if self._send_busy:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._send_busy = True
        try:
            await trio.lowlevel.checkpoint()
            while not self._closed and not self._broken() and self.conn.send_capacity == 0 and not self._eof_sent:
                await self._lot.park()
            if self._closed or self._eof_sent:
                raise trio.ClosedResourceError("the stream is closed for sending")
        finally:
            self._send_busy = False

    async def send_eof(self) -> None:
        """Finish sending; the peer reads what was sent, then end of stream."""
        if self._send_busy:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._send_busy = True
        try:
            if self._closed:
                raise trio.ClosedResourceError("the stream is closed")
            if not self._eof_sent:
                self._eof_sent = True
                self.conn.close()
                self._kick()
            await trio.lowlevel.checkpoint()
        finally:
            self._send_busy = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to ``max_bytes`` bytes; b"" at the end of the stream."""
        if max_bytes is None:
            max_bytes = _DEFAULT_RECEIVE
        if not isinstance(max_bytes, int):
            raise TypeError("max_bytes must be an integer or None")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if self._receive_busy:
            raise trio.BusyResourceError("another task is receiving on this stream")
        self._receive_busy = True
        try:
            parked = False
            while True:
                if self._closed:
                    raise trio.ClosedResourceError("the stream is closed")
                data = self.conn.read(max_bytes)
                if data:
                    self._kick()  # the window may have reopened
                    break
                if self.conn.peer_ended:
                    break
                if self._broken():
                    raise trio.BrokenResourceError(f"UDT connection {self.conn.state.value}")
                parked = True
                await self._lot.park()
            if not parked:
                await trio.lowlevel.checkpoint()
            return data
        finally:
            self._receive_busy = False

    async def aclose(self) -> None:
        """Close both directions: buffered bytes are still delivered (by :meth:`run`), then it stops."""
        if not self._closed:
            self._closed = True
            self.conn.close()
            self._kick()
        await trio.lowlevel.checkpoint()
