"""A plain-socket shell around the sans-IO engine, for programs without an event loop.

:class:`SocketRunner` drives a :class:`PeerEngine` from UDP sockets in the calling thread: it
waits (``select``) for a datagram or the engine's next deadline, hands what arrived to the
engine, sends what the engine queued and passes events to a callback. It owns no thread and no
clock beyond ``clock`` (``time.monotonic``). The node and everything concurrent use
:class:`EngineRunner` on trio; this shell is for scripts, synchronous programs (one thread per
runner: the engine is not thread-safe) and for measuring the engine without an event loop's costs.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Callable, Sequence

from ._engine import PeerEngine
from ._events import EngineEvent
from ._outbox import Outgoing
from ._transport import Endpoint

__all__ = ["SocketRunner"]

log = logging.getLogger(__name__)

_RECEIVE_SIZE = 65_536
_NONE: tuple[socket.socket, ...] = ()
_IDLE = 60.0  # longest wait when nothing is scheduled


class SocketRunner:
    """Runs ``engine`` on bound UDP ``sockets`` (made non-blocking) in the calling thread.

    ``on_event`` is called for every engine event. After calling the engine directly (``ping``,
    ``contact``, ...) call :meth:`flush` to send what it queued. Close the sockets yourself.
    """

    def __init__(
        self,
        engine: PeerEngine,
        sockets: Sequence[socket.socket],
        on_event: Callable[[EngineEvent], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.on_event = on_event
        self.clock = clock
        self.send_errors = 0
        self._sockets = list(sockets)
        self._by_local: dict[Endpoint, socket.socket] = {}
        self._local_of: dict[socket.socket, Endpoint] = {}
        self._backlog: list[Outgoing] = []
        for sock in self._sockets:
            sock.setblocking(False)
            name = sock.getsockname()
            local = (str(name[0]), int(name[1]))
            self._by_local[local] = sock
            self._local_of[sock] = local
        engine.unix_offset = time.time() - clock()
        engine.set_local_endpoints(list(self._by_local), clock())
        self._deadline = engine.next_deadline()

    def local_endpoints(self) -> list[Endpoint]:
        """The sockets' endpoints."""
        return list(self._by_local)

    def run_once(self, timeout: float | None = None) -> None:
        """Wait for a datagram or the next deadline (at most ``timeout`` seconds), then handle
        what is ready: one datagram per ready socket (more are reported ready at once next time)."""
        engine, clock = self.engine, self.clock
        deadline = self._deadline
        wait = _IDLE if deadline is None else max(0.0, deadline - clock())
        if timeout is not None and timeout < wait:
            wait = timeout
        readable, _, _ = select.select(self._sockets, self._sockets if self._backlog else _NONE, _NONE, wait)
        now = clock()
        for sock in readable:
            try:
                data, address = sock.recvfrom(_RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as error:  # e.g. ICMP port unreachable reported on the socket
                log.debug("receiving on %s: %s", self._local_of[sock], error)
                continue
            source = address if len(address) == 2 else (address[0], address[1])  # IPv6: no flow or scope
            engine.receive_datagram(data, source, self._local_of[sock], now)
        if deadline is not None and now >= deadline:
            engine.handle_timer(now)
        self.flush(now)

    def run_for(self, seconds: float) -> None:
        """:meth:`run_once` until ``seconds`` have passed."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            self.run_once(left)

    def flush(self, now: float | None = None) -> None:
        """Send what the engine queued and pass its events on (what the handler queues in answer
        is sent before this returns)."""
        engine = self.engine
        while True:
            outgoing = engine.datagrams_to_send(self.clock() if now is None else now)
            now = None  # after the handler ran: the time its datagrams leave
            if self._backlog:
                outgoing = self._backlog + outgoing
                self._backlog = []
            for item in outgoing:
                self._send(item)
            events = engine.events()
            if not events or self.on_event is None:
                break
            for event in events:
                try:
                    self.on_event(event)
                except Exception:  # an application bug must not stop the network
                    log.exception("event handler failed for %r", event)
        self._deadline = engine.next_deadline()

    def close(self) -> None:
        """Forget the sockets (they stay open)."""
        self._sockets = []
        self._by_local.clear()
        self._local_of.clear()

    def _send(self, item: Outgoing) -> None:
        sock = self._by_local.get(item.local)
        if sock is None:
            self.send_errors += 1
            return
        try:
            sock.sendto(item.data, item.destination)
        except BlockingIOError:
            self._backlog.append(item)  # sent when the socket is writable again
        except OSError as error:
            self.send_errors += 1
            log.debug("sending from %s to %s failed: %s", item.local, item.destination, error)
