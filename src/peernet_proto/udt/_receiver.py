"""The receiving half of a UDT connection: reordering, the read queue, losses and ACK bookkeeping."""

from __future__ import annotations

from collections import deque

from ._config import UdtConfig

__all__ = ["ReceiveWindow"]

_MAX_NAK_ENTRIES = 128  # far below the 299 that fit in one frame


class ReceiveWindow:
    """Absolute sequence numbers. Packets held (read queue + out of order) never exceed the flow window."""

    def __init__(self, config: UdtConfig, initial_sequence: int, peer_window: int | None = None) -> None:
        self.config = config
        # What the sender announced it keeps in flight at most (Go: 64, and Go retransmits everything
        # unacknowledged after 10 ms): a sender with less than our window is ACKed every 4 packets.
        self.peer_window = config.flow_window if peer_window is None else max(2, peer_window)
        self.next = initial_sequence  # everything before it arrived
        self.highest = initial_sequence - 1
        self.out_of_order: dict[int, bytes] = {}
        self.queue: deque[bytes] = deque()
        self.queue_offset = 0  # bytes of queue[0] already read
        self.readable = 0
        self.losses: set[int] = set()
        self.new_losses: list[int] = []
        self.unacked_packets = 0  # data packets since the last ACK
        self.ack_now = False
        self.duplicates = 0
        self.dropped = 0
        self.arrivals = 0  # data packets that arrived (for the receive rate in ACKs)
        self.last_loss = 0  # ``arrivals`` when a gap was last seen (the start counts: the sender's window is small)

    @property
    def free(self) -> int:
        """Free packet slots, as advertised in ACKs."""
        return max(0, self.config.flow_window - len(self.queue) - len(self.out_of_order))

    def on_data(self, seq: int, payload: bytes) -> bool:
        """Store one data packet; True when in-order bytes became readable."""
        nxt = self.next
        self.arrivals += 1
        if seq < nxt or seq in self.out_of_order:
            self.duplicates += 1
            self.ack_now = True
            return False
        if seq >= nxt + self.config.flow_window - len(self.queue):
            self.dropped += 1
            self.ack_now = True  # a probe while our buffer is full: answer with the window
            return False
        self.unacked_packets += 1
        if seq > self.highest:
            if seq > self.highest + 1:
                gap = range(self.highest + 1, seq)
                self.losses.update(gap)
                self.new_losses.extend(gap)
                self.last_loss = self.arrivals
            self.highest = seq
        elif seq in self.losses:
            self.losses.discard(seq)
            self.ack_now = True
        if seq != nxt:
            self.out_of_order[seq] = payload
            return False
        queue = self.queue
        queue.append(payload)
        added = len(payload)
        nxt += 1
        ooo = self.out_of_order
        while ooo and nxt in ooo:
            chunk = ooo.pop(nxt)
            queue.append(chunk)
            added += len(chunk)
            nxt += 1
        self.next = nxt
        if self.losses and min(self.losses) < nxt:
            self.losses = {s for s in self.losses if s >= nxt}
        self.readable += added
        return True

    @property
    def ack_interval(self) -> int:
        """Data packets per ACK: few ACKs while nothing is lost, more at the start and soon after a
        loss (the sender's congestion window is small then and must not wait for the ACK timer),
        Go-like senders as Go's receiver does, and at least four per free window while the reader lags."""
        config = self.config
        if self.losses or self.arrivals - self.last_loss < config.flow_window or self.peer_window < config.flow_window:
            return config.ack_every_after_loss  # a sender with a smaller window (Go: 64) gets Go's ACK rate
        return min(config.ack_every, max(config.ack_every_after_loss, self.free // 4))

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` in-order bytes (fewer when fewer are readable)."""
        parts: list[bytes] = []
        want = max_bytes
        queue = self.queue
        while want > 0 and queue:
            head = queue[0]
            start = self.queue_offset
            left = len(head) - start
            if left <= want:
                parts.append(head[start:] if start else head)
                queue.popleft()
                self.queue_offset = 0
                want -= left
            else:
                parts.append(head[start : start + want])
                self.queue_offset = start + want
                want = 0
        data = b"".join(parts)
        self.readable -= len(data)
        return data

    def take_nak(self, everything: bool) -> list[int]:
        """Losses to report: the new ones, or (on the timer) all known ones; at most 128 entries."""
        if everything:
            self.new_losses.clear()
            return sorted(self.losses)[:_MAX_NAK_ENTRIES]
        out = [s for s in self.new_losses if s in self.losses][:_MAX_NAK_ENTRIES]
        self.new_losses.clear()
        return out
