"""The sending half of a UDT connection: send buffer, unacknowledged packets, losses, congestion."""

from __future__ import annotations

from collections.abc import Iterable

from ._config import UdtConfig

__all__ = ["SendWindow"]

_INCREASE_PER_WINDOW = 4.0  # packets added to the congestion window per window acknowledged (after slow start)


class SendWindow:
    """Sequence numbers here are absolute (never wrap); the connection maps them to 31 bits.

    Memory: ``pending`` ≤ ``config.send_buffer`` bytes; ``unacked`` ≤ the flow window in packets.
    """

    def __init__(self, config: UdtConfig, initial_sequence: int, flow_window: int) -> None:
        self.config = config
        self.pending = bytearray()
        self.unacked: dict[int, bytes] = {}
        self.losses: set[int] = set()
        self.acked = initial_sequence  # everything before it is acknowledged
        self.next = initial_sequence  # the next new sequence number
        self.flow_window = max(2, min(flow_window, config.flow_window))
        self.congestion_window = config.initial_congestion_window
        self.slow_start_threshold = float(config.flow_window)
        self.slow_start = True
        self._last_decrease = initial_sequence
        self.retransmitted = 0

    @property
    def in_flight(self) -> int:
        """Packets sent and not yet acknowledged."""
        return self.next - self.acked

    @property
    def capacity(self) -> int:
        """Bytes ``send`` accepts now."""
        return max(0, self.config.send_buffer - len(self.pending))

    @property
    def idle(self) -> bool:
        """Nothing buffered and everything acknowledged."""
        return not self.pending and not self.unacked

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer as much of ``data`` as fits; returns how many bytes were taken."""
        taken = min(len(data), self.capacity)
        if taken:
            self.pending += data[:taken]
        return taken

    def window(self) -> int:
        """How many packets may be in flight now."""
        return max(1, min(int(self.congestion_window), self.flow_window))

    def take_retransmissions(self) -> list[tuple[int, bytes]]:
        """Lost packets to send again, lowest first; clears the loss list."""
        if not self.losses:
            return []
        out = [(seq, self.unacked[seq]) for seq in sorted(self.losses) if seq in self.unacked]
        self.losses.clear()
        self.retransmitted += len(out)
        return out

    def take_new(self) -> list[tuple[int, bytes]]:
        """New packets the windows allow, each up to the payload size."""
        room = self.window() - self.in_flight
        if room <= 0 or not self.pending:
            return []
        size = self.config.payload_size
        pending = self.pending
        out: list[tuple[int, bytes]] = []
        seq = self.next
        unacked = self.unacked
        while room > 0 and pending:
            chunk = bytes(pending[:size])
            del pending[:size]
            unacked[seq] = chunk
            out.append((seq, chunk))
            seq += 1
            room -= 1
        self.next = seq
        return out

    def on_ack(self, sequence: int, available: int) -> int:
        """The peer has everything before ``sequence``; returns how many packets that newly acknowledged."""
        self.flow_window = max(2, min(available, self.config.flow_window))
        if sequence <= self.acked or sequence > self.next:
            return 0
        newly = sequence - self.acked
        unacked = self.unacked
        for seq in range(self.acked, sequence):
            unacked.pop(seq, None)
        if self.losses:
            self.losses = {s for s in self.losses if s >= sequence}
        self.acked = sequence
        if self.slow_start:
            self.congestion_window += newly
            if self.congestion_window >= min(self.flow_window, self.slow_start_threshold):
                self.slow_start = False
        else:
            self.congestion_window += _INCREASE_PER_WINDOW * newly / max(self.congestion_window, 1.0)
        self.congestion_window = min(self.congestion_window, float(self.config.flow_window))
        return newly

    def on_nak(self, losses: Iterable[int]) -> None:
        """The peer misses these packets (absolute sequences)."""
        first = None
        for seq in losses:
            if self.acked <= seq < self.next and seq in self.unacked:
                self.losses.add(seq)
                if first is None or seq < first:
                    first = seq
        if first is not None and first >= self._last_decrease:
            self.slow_start = False
            self.congestion_window = max(self.config.min_congestion_window, self.congestion_window * 0.875)
            self.slow_start_threshold = self.congestion_window
            self._last_decrease = self.next

    def on_timeout(self) -> None:
        """No answer for a while: send every unacknowledged packet again, from a small window that
        grows back in slow start to half the window of before (a stalled receiver process costs a
        few round trips, not a slow climb from the minimum)."""
        self.losses.update(self.unacked)
        if self.next > self._last_decrease:  # one halving per window of data, however many timeouts
            self.slow_start_threshold = max(self.config.min_congestion_window, self.congestion_window / 2)
        self.slow_start = True
        self.congestion_window = self.config.min_congestion_window
        self._last_decrease = self.next
