"""The trio shell around the sans-IO engine: moves datagrams between a transport and the engine,
drives its timer, and hands its events to the application."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import trio

from ._engine import PeerEngine
from ._events import EngineEvent
from ._transport import DatagramTransport

__all__ = ["EngineRunner"]

log = logging.getLogger(__name__)


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

    def add_event_handler(self, handler: Callable[[EngineEvent], None]) -> None:
        self._handlers.append(handler)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.engine.unix_offset = time.time() - trio.current_time()
        self.engine.set_local_endpoints(self.transport.local_endpoints(), trio.current_time())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive_loop)
            nursery.start_soon(self._timer_loop)
            task_status.started()

    def poke(self) -> None:
        """Call after using the engine directly (contact, send_announcement, ...) so that what it
        queued is sent now rather than on the next timer tick."""
        self._wakeup.set()

    async def _receive_loop(self) -> None:
        engine = self.engine
        while True:
            datagram = await self.transport.receive()
            engine.receive_datagram(datagram.data, datagram.source, datagram.local, trio.current_time())
            await self._flush()

    async def _timer_loop(self) -> None:
        engine = self.engine
        while True:
            deadline = engine.next_deadline()
            with trio.move_on_at(deadline if deadline is not None else trio.current_time() + 1.0):
                await self._wakeup.wait()
            self._wakeup = trio.Event()
            engine.handle_timer(trio.current_time())
            await self._flush()

    async def _flush(self) -> None:
        for outgoing in self.engine.datagrams_to_send():
            await self.transport.send(outgoing.data, outgoing.destination, outgoing.local)
        for event in self.engine.events():
            for handler in self._handlers:
                try:
                    handler(event)
                except Exception:  # an application bug must not stop the network
                    log.exception("event handler failed for %r", event)
