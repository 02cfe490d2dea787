"""One transfer: a UDT connection carried in a lite session, and its life cycle."""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable

from .._keys import PublicKey
from ..udt import UdtBroken, UdtConnection, UdtState

__all__ = ["SessionState", "TransferSession"]

log = logging.getLogger(__name__)


class SessionState(enum.Enum):
    """Life cycle of a transfer session."""

    WAITING = "waiting"  # requester: REQUEST_START sent, no data yet
    ACTIVE = "active"
    DONE = "done"
    FAILED = "failed"


class TransferSession:
    """Base of the four session kinds: requester/owner × file/blocks.

    ``notify`` (if set) is called whenever the session changed in a way its reader may care about.
    """

    def __init__(
        self, peer: PublicKey, transfer_id: uuid.UUID, subject: bytes, conn: UdtConnection, timeout: float, now: float
    ) -> None:
        self.peer = peer
        self.transfer_id = transfer_id
        self.subject = subject  # file hash or blockchain key: what Transfer/GetBlock answers name
        self.conn = conn
        self.timeout = timeout
        self.state = SessionState.WAITING
        self.failure: str | None = None
        self.notify: Callable[[], None] | None = None
        self.last_activity = now
        self.finished_at: float | None = None
        self.retry_at: float | None = None  # requester: when to repeat REQUEST_START if no handshake came
        self.retries_left = 0

    @property
    def finished(self) -> bool:
        """DONE or FAILED."""
        return self.state in (SessionState.DONE, SessionState.FAILED)

    def fail(self, reason: str, now: float) -> None:
        """End the session with ``reason`` (nothing is sent: as Go, the partner times out or was told)."""
        if not self.finished:
            self.state = SessionState.FAILED
            self.failure = reason
            self.finished_at = now
            self.conn.abort(reason)
            log.debug("transfer %s with %s failed: %s", self.transfer_id, self.peer.hex()[:16], reason)
            self._changed()

    def succeed(self, now: float) -> None:
        """Mark the session DONE."""
        if not self.finished:
            self.state = SessionState.DONE
            self.finished_at = now
            self._changed()

    def _changed(self) -> None:
        if self.notify is not None:
            self.notify()

    def receive_frame(self, data: bytes, now: float) -> None:
        """One UDT frame from the partner."""
        self.last_activity = now
        self.conn.receive_frame(data, now)

    def needs_pump(self) -> bool:
        """Whether :meth:`pump` has work after a frame arrived: something to send, a state change,
        or bytes that became readable (the reader was told already when some were readable before)."""
        return self.finished or self.conn.has_output or self.state is not SessionState.ACTIVE

    def pump(self, now: float) -> list[bytes]:
        """Advance the session; returns the UDT frames to send to the partner."""
        if not self.finished and now >= self.last_activity + self.timeout:
            self.fail("transfer timed out", now)
        if self.conn.state not in (UdtState.CLOSED, UdtState.BROKEN):
            self.progress(now)
        conn = self.conn
        frames = conn.frames_to_send(now)
        events = conn.events()
        for event in events:
            if isinstance(event, UdtBroken):
                self.fail(f"UDT: {event.reason}", now)
        # A second round when the connection changed state, finished sending, or ran its send buffer
        # dry while the window has room; not after each data packet that merely arrived (the
        # requester's usual case).
        if not self.finished and (events or conn.send_finished or (frames and conn.send_capacity)):
            self.progress(now)
            frames += conn.frames_to_send(now)
        return frames

    def progress(self, now: float) -> None:
        """Move application data in or out of the connection (per session kind)."""

    def deadline(self) -> float | None:
        """When :meth:`pump` must run again."""
        udt = self.conn.next_deadline()
        if self.finished:
            if self.finished_at is None:
                return None
            # Lingering: the connection still acknowledges what arrived last.
            return self.finished_at + 1.0 if udt is None else min(udt, self.finished_at + 1.0)
        deadline = self.last_activity + self.timeout
        if self.retry_at is not None:
            deadline = min(deadline, self.retry_at)
        return deadline if udt is None else min(udt, deadline)

    def due_retry(self, now: float, interval: float) -> bool:
        """True when the request should be sent again: no handshake arrived in time (the request or
        every handshake was lost). A partner that got the first request ignores the repeat."""
        if self.retry_at is None or now < self.retry_at:
            return False
        if self.conn.state is not UdtState.LISTENING or self.retries_left <= 0 or self.finished:
            self.retry_at = None
            return False
        self.retries_left -= 1
        self.retry_at = now + interval
        return True

    def closable(self, now: float, linger: float) -> bool:
        """Finished, and nothing more is owed to the partner (or the linger time passed)."""
        if not self.finished or self.finished_at is None:
            return False
        return self.state is SessionState.FAILED or self.conn.quiescent or now >= self.finished_at + linger
