"""Bounds on what peers can make the transfer layer do."""

from __future__ import annotations

from collections import deque

import attrs

from ..udt import UdtConfig

__all__ = ["RateLimiter", "TransferError", "TransferLimits"]

from .._errors import RemoteProtocolError


class TransferError(RemoteProtocolError):
    """A transfer failed: the peer refused, sent something invalid, vanished or timed out."""


@attrs.frozen
class TransferLimits:
    """Per-peer and total limits; bytes in flight per session are bounded by ``udt``'s windows."""

    max_sessions: int = 256  # every session, lingering ones included
    max_sessions_per_peer: int = 8  # sessions in progress (not finished) with one peer
    # Downloads fetch 256 KiB pieces, one request each: 1200 a minute lets one peer take 5 MiB/s
    # from us in the worst case of requests that are not pipelined.
    requests_per_peer_per_minute: int = 1200
    max_blocks_per_request: int = 4096
    max_block_size: int = 1 << 20
    max_ranges: int = 64
    buffered_blocks: int = 16  # parsed blocks a requester holds before it stops reading
    file_timeout: float = 60.0
    block_timeout: float = 10.0
    linger: float = 1.0
    request_retry: float = 1.0  # repeat REQUEST_START when no UDT handshake came within this time
    request_retries: int = 3
    udt: UdtConfig = attrs.field(factory=lambda: UdtConfig(send_shutdown=False))


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key; memory bounded by ``max_keys``."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 4096) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: dict[object, deque[float]] = {}

    def allow(self, key: object, now: float) -> bool:
        """Record one event for ``key`` if allowed."""
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self.max_keys:
                self._prune(now)
                if len(self._events) >= self.max_keys:
                    return False
            events = self._events[key] = deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]
