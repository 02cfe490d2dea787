"""The trio shell around the sans-IO engine: one loop drives the engine and every behaviour
registered with it.

Datagrams are handled straight from the socket's receive task when the transport offers
:class:`DirectTransport` (the UDP transport does): no queue between the socket and the engine,
and what the engine queues in answer leaves with a non-blocking send, once per batch of
datagrams when the transport reports where its batches end (``set_batch_end``), else at once. A single timer
task sleeps until the earliest deadline of the engine and its behaviours; it is woken only when
a call moved that deadline earlier. Other transports (the in-memory network) go through
:meth:`DatagramTransport.receive`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import trio

from ._engine import PeerEngine
from ._events import EngineEvent
from ._outbox import Outgoing
from ._transport import DatagramTransport, Endpoint

__all__ = ["DirectTransport", "EngineRunner"]

log = logging.getLogger(__name__)

_IDLE = 60.0  # the timer task's sleep when nothing is scheduled


@runtime_checkable
class DirectTransport(Protocol):
    """A transport that hands datagrams to a callback from its socket tasks and can send
    without waiting."""

    def set_receiver(self, receiver: Callable[[bytes, Endpoint, Endpoint], None] | None) -> None:
        """Call ``receiver(data, source, local)`` for every datagram instead of queueing it."""
        ...

    def send_nowait(self, data: bytes, destination: Endpoint, local: Endpoint) -> bool:
        """Send at once; False when the socket would block (then use ``send``)."""
        ...


class EngineRunner:
    """Runs ``engine`` on ``transport`` until cancelled.

    ``on_event`` is called synchronously for every engine event; it must not block.
    """

    def __init__(
        self,
        engine: PeerEngine,
        transport: DatagramTransport,
        on_event: Callable[[EngineEvent], None] | None = None,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self._handlers: list[Callable[[EngineEvent], None]] = [on_event] if on_event else []
        self._wakeup = trio.Event()
        self._sleeping_until = float("inf")
        self._timer_awake = True  # until the timer task first sleeps
        self._direct = transport if isinstance(transport, DirectTransport) else None
        self._backlog: list[Outgoing] = []
        self._backlog_ready = trio.Event()
        self._unflushed = False  # datagrams handled since the last flush (batched direct path)
        self._flushing = False  # inside _flush_now: a poke() from an event handler joins it
        self._batched = False
        self._now: Callable[[], float] = trio.current_time  # the run's clock, read without trio's wrappers

    def add_event_handler(self, handler: Callable[[EngineEvent], None]) -> None:
        """Also call ``handler`` for every engine event."""
        self._handlers.append(handler)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drive the engine until cancelled."""
        self._now = trio.lowlevel.current_clock().current_time
        self.engine.unix_offset = time.time() - trio.current_time()
        self.engine.set_local_endpoints(self.transport.local_endpoints(), trio.current_time())
        set_batch_end = None
        async with trio.open_nursery() as nursery:
            if self._direct is not None:
                self._direct.set_receiver(self._on_datagram)
                set_batch_end = getattr(self._direct, "set_batch_end", None)  # optional: one flush per wake-up
                if set_batch_end is not None:
                    set_batch_end(self._on_batch_end)
                    self._batched = True
                nursery.start_soon(self._send_backlog)
            else:
                nursery.start_soon(self._receive_loop)
            nursery.start_soon(self._timer_loop)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                if self._direct is not None:
                    self._direct.set_receiver(None)
                    if set_batch_end is not None:
                        set_batch_end(None)

    def poke(self) -> None:
        """Call after using the engine directly (contact, send_announcement, ...): what it queued
        is sent now, and the timer is rescheduled if a deadline moved earlier."""
        if self._flushing:
            self._unflushed = True  # called from an event handler: the running flush sends it
        elif self._direct is not None:
            self._flush_now()
        else:
            self._wakeup.set()

    # ---- direct path ---------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, source: Endpoint, local: Endpoint) -> None:
        now = self._now()
        self.engine.receive_datagram(data, source, local, now)
        if self._batched:
            self._unflushed = True
        else:
            self._flush_now(now)

    def _on_batch_end(self) -> None:
        if self._unflushed:
            self._flush_now()

    def _flush_now(self, now: float | None = None) -> None:
        """Send what the engine queued and hand out its events, again while handlers queue more."""
        direct = self._direct
        assert direct is not None
        self._flushing = True
        try:
            while True:
                self._unflushed = False
                for outgoing in self.engine.datagrams_to_send(self._now() if now is None else now):
                    if self._backlog or not direct.send_nowait(outgoing.data, outgoing.destination, outgoing.local):
                        self._backlog.append(outgoing)
                        self._backlog_ready.set()
                self._dispatch_events()
                if not self._unflushed:
                    break
                now = None  # handlers ran: their datagrams leave now
        finally:
            self._flushing = False
        self._reschedule()

    async def _send_backlog(self) -> None:
        while True:
            await self._backlog_ready.wait()
            self._backlog_ready = trio.Event()
            while self._backlog:
                outgoing = self._backlog.pop(0)
                await self.transport.send(outgoing.data, outgoing.destination, outgoing.local)

    # ---- queued path and timers ------------------------------------------------------------

    async def _receive_loop(self) -> None:
        engine = self.engine
        while True:
            datagram = await self.transport.receive()
            engine.receive_datagram(datagram.data, datagram.source, datagram.local, trio.current_time())
            await self._flush()

    async def _timer_loop(self) -> None:
        engine = self.engine
        while True:
            self._timer_awake = False
            deadline = engine.next_deadline()
            self._sleeping_until = deadline if deadline is not None else trio.current_time() + _IDLE
            with trio.move_on_at(self._sleeping_until):
                await self._wakeup.wait()
            self._sleeping_until = float("inf")  # awake: it computes the next deadline itself
            self._wakeup = trio.Event()
            self._timer_awake = True
            engine.handle_timer(trio.current_time())
            if self._direct is not None:
                self._flush_now()
            else:
                await self._flush()

    async def _flush(self) -> None:
        for outgoing in self.engine.datagrams_to_send(trio.current_time()):
            await self.transport.send(outgoing.data, outgoing.destination, outgoing.local)
        self._dispatch_events()
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer_awake:
            return
        deadline = self.engine.next_deadline()
        if deadline is not None and deadline < self._sleeping_until:
            self._wakeup.set()

    def _dispatch_events(self) -> None:
        for event in self.engine.events():
            for handler in self._handlers:
                try:
                    handler(event)
                except Exception:  # an application bug must not stop the network
                    log.exception("event handler failed for %r", event)
