"""A sans-IO UDT connection in STREAM mode, as Peernet runs it over lite packets (spec wire.md §12.4–§12.5).

Feed every received frame to :meth:`UdtConnection.receive_frame`, send what
:meth:`UdtConnection.frames_to_send` returns (one frame per lite packet) and call it again at
:meth:`UdtConnection.next_deadline`. Application bytes go in with :meth:`send` and come out with
:meth:`read`; :meth:`events` reports the connection's progress.
"""

from __future__ import annotations

import logging
import struct

from .._errors import DecodeError
from .._udt import (
    UdtCongestionWarning,
    UdtControlType,
    UdtFrame,
    UdtHandshake,
    UdtNak,
    UdtShutdown,
    decode_udt_frame,
    encode_udt_frame,
)
from ._config import UDT_HEADER_SIZE, UdtConfig
from ._events import UdtBroken, UdtConnected, UdtDataReceived, UdtEvent, UdtState, UdtStreamEnded
from ._receiver import ReceiveWindow
from ._sender import SendWindow

__all__ = ["UDT_SOCKET_TYPE_STREAM", "UDT_VERSION", "UdtConnection"]

log = logging.getLogger(__name__)

UDT_VERSION = 4
UDT_SOCKET_TYPE_STREAM = 1
_REQUEST = 1
_RESPONSE = -1
_REFUSED = 1002
_MASK31 = 0x7FFFFFFF
_MASK29 = 0x1FFFFFFF
_HALF = 1 << 30
_FULL = 1 << 31
_DATA_HEAD = struct.Struct(">IIII")
_CONTROL_HEAD = struct.Struct(">HHIII")
_ACK_FRAME = struct.Struct(">HHIIIIIII")  # control header, then next sequence, RTT, RTT variance, free buffer
_LINK_INFO = struct.Struct(">II")  # packet receive rate, estimated link capacity (packets per second)
_DATA_WORD1 = 0xE0000000  # boundary 3 (whole message) and in order, as Go sends in stream mode
_MIN_RTO = 0.1  # a receiver process that was not scheduled for a while is not a lost window
_MIN_RTO_SHUTDOWN = 0.02  # a lost Shutdown is re-sent soon: the sender lingers only so long
_MAX_ACK_BACKOFF = 1.0
_ACK_HISTORY = 64


def _unwrap(wire: int, reference: int) -> int:
    """The absolute sequence nearest to ``reference`` whose low 31 bits are ``wire``."""
    delta = (wire - reference) & _MASK31
    if delta >= _HALF:
        delta -= _FULL
    return reference + delta


def _stats(tx: SendWindow | None, rx: ReceiveWindow | None, first: int, rejected: int) -> dict[str, int]:
    return {
        "sent_packets": 0 if tx is None else tx.next - first,
        "retransmitted": 0 if tx is None else tx.retransmitted,
        "received_packets": 0 if rx is None else rx.next - first,
        "duplicates": 0 if rx is None else rx.duplicates,
        "dropped": 0 if rx is None else rx.dropped,
        "rejected": rejected,
    }


def _expand_losses(entries: tuple[int, ...], acked: int, end: int, limit: int) -> list[int]:
    """Absolute sequences from a NAK loss list (ranges inclusive, as UDT means them), at most ``limit``."""
    losses: list[int] = []
    index = 0
    while index < len(entries) and len(losses) <= limit:
        entry = entries[index]
        first = _unwrap(entry & _MASK31, acked)
        if entry & 0x80000000 and index + 1 < len(entries):
            last = _unwrap(entries[index + 1] & _MASK31, acked)
            losses.extend(range(max(first, acked), min(last + 1, end, acked + limit)))
            index += 2
        else:
            losses.append(first)
            index += 1
    return losses


def _reject(conn: UdtConnection, why: str) -> None:
    conn.frames_rejected += 1
    log.debug("UDT %08x: %s", conn.socket_id, why)


def _waiting_for_peer(conn: UdtConnection) -> bool:
    tx = conn._tx
    return (tx is not None and bool(tx.unacked)) or (
        conn._shutdown_sent_at is not None and conn.config.send_shutdown and not conn._shutdown_acked
    )


def _rto(conn: UdtConnection) -> float:
    """Backed off, but several tries fit in the peer timeout (or in the linger time for a Shutdown)."""
    data = conn._tx is not None and conn._tx.unacked
    floor = _MIN_RTO if data else _MIN_RTO_SHUTDOWN
    rto = max(floor, conn._srtt + 4 * conn._rttvar + conn.config.syn_interval) * (1 << min(conn._exp_count, 5))
    return min(rto, conn.config.peer_timeout / 8 if data else conn.config.linger / 8)


class UdtConnection:
    """One end of a UDT connection. Create with :meth:`dial` (the data owner) or :meth:`listen`."""

    def __init__(self, config: UdtConfig, socket_id: int, now: float, *, dialer: bool, initial_sequence: int) -> None:
        self.config = config
        self.socket_id = socket_id & 0xFFFFFFFF
        self.dialer = dialer
        self.state = UdtState.CONNECTING if dialer else UdtState.LISTENING
        self.peer_socket_id = 0
        self.initial_sequence = initial_sequence & _MASK31
        self.frames_rejected = 0
        self._created = now
        self._events: list[UdtEvent] = []
        self._control: list[bytes] = []
        self._tx: SendWindow | None = None
        self._rx: ReceiveWindow | None = None
        self._last_heard = now
        self._last_response = now
        self._exp_count = 0
        self._srtt = 0.1
        self._rttvar = 0.05
        self._handshake_stage = 1
        self._handshake_next = now
        self._connect_deadline = now + config.connect_timeout
        self._ack_number = 0
        self._ack_times: dict[int, float] = {}
        self._ack_sent_at = now
        self._ack_sent_sequence = self.initial_sequence
        self._ack_confirmed = True
        self._ack_backoff = config.syn_interval
        self._advertised = config.flow_window
        self._window = config.flow_window  # what we announce: never more than the peer's own (Go: 64)
        self._link_sent_at = now
        self._link_arrivals = 0
        self._capacity = 0
        self._nak_deadline: float | None = None
        self._closing = False
        self._shutdown_sent_at: float | None = None
        self._shutdown_acked = False
        self._shutdown_resent = False
        self._peer_ended = False

    @classmethod
    def dial(cls, socket_id: int, initial_sequence: int, now: float, config: UdtConfig | None = None) -> UdtConnection:
        """The dialer (Peernet's data owner): it starts the handshake with sequence ``initial_sequence``."""
        return cls(config or UdtConfig(), socket_id, now, dialer=True, initial_sequence=initial_sequence)

    @classmethod
    def listen(cls, socket_id: int, now: float, config: UdtConfig | None = None) -> UdtConnection:
        """The listener (Peernet's requester): it accepts one dialer."""
        return cls(config or UdtConfig(), socket_id, now, dialer=False, initial_sequence=0)

    # ----------------------------------------------------------------- application side

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Queue bytes for sending; returns how many fit in the send buffer (0 when full or closed)."""
        if self._closing or self.state in (UdtState.CLOSED, UdtState.BROKEN):
            return 0
        if self._tx is None:
            return 0
        return self._tx.write(data)

    @property
    def send_capacity(self) -> int:
        """Bytes :meth:`send` would accept now."""
        if self._tx is None or self._closing or self.state in (UdtState.CLOSED, UdtState.BROKEN):
            return 0
        return self._tx.capacity

    def read(self, max_bytes: int = 1 << 20) -> bytes:
        """Received in-order bytes, at most ``max_bytes``; empty when none are ready."""
        rx = self._rx
        if rx is None or not rx.readable:
            return b""
        data = rx.read(max_bytes)
        if self._advertised < self.config.flow_window // 2 and rx.free >= self.config.flow_window // 2:
            rx.ack_now = True  # the window reopened: tell the sender now
        return data

    @property
    def readable(self) -> int:
        """Bytes :meth:`read` can return now."""
        return 0 if self._rx is None else self._rx.readable

    @property
    def peer_ended(self) -> bool:
        """The peer sent Shutdown: no more bytes come after what is readable."""
        return self._peer_ended

    @property
    def send_finished(self) -> bool:
        """:meth:`close` was called and every byte is acknowledged (and Shutdown sent, if configured)."""
        return self._shutdown_sent_at is not None and (
            self._shutdown_acked or not self.config.send_shutdown or self.state is not UdtState.CONNECTED
        )

    @property
    def quiescent(self) -> bool:
        """Nothing left to send or confirm: a finished receiver may go."""
        tx_idle = self._tx is None or self._tx.idle
        rx = self._rx
        rx_acked = rx is None or (rx.next == self._ack_sent_sequence and not rx.ack_now)
        return tx_idle and rx_acked and self._ack_confirmed and not self._control

    @property
    def has_output(self) -> bool:
        """Control frames, retransmissions or events wait (False after most data frames)."""
        return bool(self._control or self._events or (self._tx is not None and self._tx.losses))

    @property
    def stats(self) -> dict[str, int]:
        """Counters for logs and tests."""
        return _stats(self._tx, self._rx, self.initial_sequence, self.frames_rejected)

    def close(self) -> None:
        """Finish sending: buffered bytes still go out, then (if configured) a Shutdown."""
        self._closing = True

    def abort(self, reason: str = "closed locally") -> None:
        """Stop at once; nothing more is sent (as Go: its Close sends nothing)."""
        if self.state not in (UdtState.CLOSED, UdtState.BROKEN):
            self.state = UdtState.CLOSED
            self._control.clear()
            log.debug("UDT %08x aborted: %s", self.socket_id, reason)

    def events(self) -> list[UdtEvent]:
        """Events since the last call."""
        events, self._events = self._events, []
        return events

    # ----------------------------------------------------------------- network side

    def receive_frame(self, data: bytes | bytearray | memoryview, now: float) -> None:
        """Process one UDT frame from the peer. Undecodable or misaddressed frames are counted and ignored."""
        if self.state in (UdtState.CLOSED, UdtState.BROKEN):
            return
        if len(data) >= UDT_HEADER_SIZE and not data[0] & 0x80:
            self._receive_data(data, now)
            return
        if self.state is UdtState.CONNECTED and data[:2] in (b"\x80\x02", b"\x80\x06") and len(data) >= 16:
            self._receive_ack_fast(data, now)  # the frequent control frames, without building frame objects
            return
        try:
            frame = decode_udt_frame(bytes(data))
        except DecodeError as exc:
            _reject(self, f"undecodable frame: {exc}")
            return
        if isinstance(frame, UdtHandshake):
            self._receive_handshake(frame, now)
            return
        if self.state is not UdtState.CONNECTED or frame.destination_socket_id != self.socket_id:
            _reject(self, "control frame for another socket or before the handshake")
            return
        self._last_heard = now
        self._receive_control(frame, now)


    def _receive_data(self, data: bytes | bytearray | memoryview, now: float) -> None:
        word0, _word1, _timestamp, destination = _DATA_HEAD.unpack_from(data)
        rx = self._rx
        if rx is None or self.state is not UdtState.CONNECTED or destination != self.socket_id:
            _reject(self, "data frame for another socket or before the handshake")
            return
        self._last_heard = now
        before = rx.readable
        if rx.on_data(_unwrap(word0, rx.next), bytes(data[UDT_HEADER_SIZE:])) and not before:
            self._events.append(UdtDataReceived(rx.readable))
        if rx.new_losses:
            self._send_nak(rx.take_nak(everything=False), now)
        if rx.unacked_packets >= rx.ack_interval or rx.ack_now:
            self._send_ack(now)

    def _receive_ack_fast(self, data: bytes | bytearray | memoryview, now: float) -> None:
        _, _, number, _, destination = _CONTROL_HEAD.unpack_from(data)
        if destination != self.socket_id or (data[1] == 2 and len(data) < _ACK_FRAME.size):
            _reject(self, "ACK or ACK2 for another socket, or a short ACK")
            return
        self._last_heard = now
        if data[1] == 2:
            _, _, _, _, _, next_sequence, rtt, _, available = _ACK_FRAME.unpack_from(data)
            self._receive_ack(number, next_sequence, rtt, available, now)
            return
        sent = self._ack_times.pop(number, None)
        if sent is not None:
            self._rtt_sample(now - sent)
        if number == self._ack_number:
            self._ack_confirmed = True
            self._ack_backoff = self.config.syn_interval

    def _receive_control(self, frame: UdtFrame, now: float) -> None:
        if isinstance(frame, UdtNak):
            self._receive_nak(frame, now)
        elif isinstance(frame, UdtShutdown):
            if not self._peer_ended:
                self._peer_ended = True
                self._events.append(UdtStreamEnded())
                self._check_closed()
            if self._rx is not None:
                self._rx.ack_now = True
                self._send_ack(now)
        elif isinstance(frame, UdtCongestionWarning) and self._tx is not None:
            self._tx.on_nak(())
        # keep-alive, message drop requests (stream mode), errors and user-defined frames: nothing to do

    def _receive_ack(self, number: int, next_sequence: int, rtt: int, available: int, now: float) -> None:
        tx = self._tx
        if tx is None:
            return
        self._control.append(
            _CONTROL_HEAD.pack(0x8000 | UdtControlType.ACK2, 0, number, self._timestamp(now), self.peer_socket_id)
        )
        sequence = _unwrap(next_sequence & _MASK31, tx.acked)
        if tx.on_ack(sequence, available):
            self._exp_count = 0
        self._last_response = now
        if 0 < rtt < 60_000_000:
            self._rtt_sample(rtt / 1e6)
        # The first Shutdown is confirmed only by an ACK after a repeat: an ACK on its way when it
        # left (or a repeated one) says nothing about a lost Shutdown.
        if self._shutdown_sent_at is not None and sequence >= tx.next and self._shutdown_resent:
            self._shutdown_acked = True
            self._check_closed()

    def _receive_nak(self, frame: UdtNak, now: float) -> None:
        tx = self._tx
        if tx is not None:
            tx.on_nak(_expand_losses(frame.losses, tx.acked, tx.next, self.config.flow_window))
            self._last_response = now

    def _rtt_sample(self, rtt: float) -> None:
        self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
        self._srtt = 0.875 * self._srtt + 0.125 * rtt

    # ----------------------------------------------------------------- handshake

    def _handshake(self, now: float, destination: int, request: int, *, reply_to: UdtHandshake | None = None) -> None:
        if reply_to is not None and request == _REQUEST:  # the listener's stateless first answer
            frame = UdtHandshake(0, destination, reply_to.udt_version, reply_to.socket_type,
                                 reply_to.initial_sequence, 0, 0, _REQUEST, 0)
        else:
            frame = UdtHandshake(self._timestamp(now), destination, UDT_VERSION, UDT_SOCKET_TYPE_STREAM,
                                 self.initial_sequence, 0, self._window, request, self.socket_id)
        self._control.append(encode_udt_frame(frame))

    def _receive_handshake(self, frame: UdtHandshake, now: float) -> None:
        if self.dialer:
            self._dialer_handshake(frame, now)
            return
        if frame.destination_socket_id not in (0, self.socket_id):
            _reject(self, "handshake for another socket")
            return
        if frame.socket_type != UDT_SOCKET_TYPE_STREAM or frame.udt_version != UDT_VERSION or not frame.socket_id:
            _reject(self, "handshake for an unsupported socket type or version, or from socket 0")
            return
        if self.state is UdtState.CONNECTED and frame.socket_id != self.peer_socket_id:
            _reject(self, "handshake from a second dialer")
            return
        self._last_heard = now
        if frame.request_type == _REQUEST:
            self._handshake(now, frame.socket_id, _REQUEST, reply_to=frame)
        elif frame.request_type == _RESPONSE:
            if self.state is UdtState.LISTENING:
                self.peer_socket_id = frame.socket_id
                self.initial_sequence = frame.initial_sequence & _MASK31
                self._connected(frame.max_flow_window, now)
            self._handshake(now, self.peer_socket_id, _RESPONSE)

    def _dialer_handshake(self, frame: UdtHandshake, now: float) -> None:
        if frame.destination_socket_id != self.socket_id or frame.initial_sequence != self.initial_sequence:
            _reject(self, "handshake answer that does not match ours")
            return
        self._last_heard = now
        if self.state is not UdtState.CONNECTING:
            return
        if frame.request_type == _REQUEST and self._handshake_stage == 1:
            self._handshake_stage = 3
            self._handshake(now, 0, _RESPONSE)
            self._handshake_next = now + self.config.handshake_retry
        elif frame.request_type == _RESPONSE and frame.socket_id:
            self.peer_socket_id = frame.socket_id
            self._connected(frame.max_flow_window, now)
        elif frame.request_type == _REFUSED:
            self._break("handshake refused")

    def _connected(self, flow_window: int, now: float) -> None:
        self._window = max(2, min(self.config.flow_window, flow_window))
        self.state = UdtState.CONNECTED
        self._tx = SendWindow(self.config, self.initial_sequence, flow_window)
        self._rx = ReceiveWindow(self.config, self.initial_sequence, flow_window)
        self._ack_sent_sequence = self.initial_sequence
        self._last_response = now
        self._events.append(UdtConnected(self.peer_socket_id))

    # ----------------------------------------------------------------- output and timers

    def _timestamp(self, now: float) -> int:
        return int((now - self._created) * 1e6) & 0xFFFFFFFF

    def _send_ack(self, now: float) -> None:
        rx = self._rx
        if rx is None:
            return
        self._ack_number = (self._ack_number % 0x7FFFFFFF) + 1
        self._ack_times[self._ack_number] = now
        if len(self._ack_times) > _ACK_HISTORY:
            del self._ack_times[next(iter(self._ack_times))]
        self._advertised = max(2, min(rx.free, self._window))
        frame = _ACK_FRAME.pack(
            0x8000 | UdtControlType.ACK, 0, self._ack_number, self._timestamp(now), self.peer_socket_id,
            rx.next & _MASK31, min(int(self._srtt * 1e6), _MASK31), min(int(self._rttvar * 1e6), _MASK31),
            self._advertised,
        )
        elapsed = now - self._link_sent_at
        if elapsed >= self.config.syn_interval:  # link info at most once per SYN time, as Go does
            # Go's congestion control sizes its window from these (zero would pin it to 16 packets).
            rate = min(int((rx.arrivals - self._link_arrivals) / elapsed), _MASK31)
            self._capacity = max(rate, self._capacity - self._capacity // 8)
            frame += _LINK_INFO.pack(rate, self._capacity)
            self._link_sent_at = now
            self._link_arrivals = rx.arrivals
        self._control.append(frame)
        self._ack_sent_at = now
        self._ack_sent_sequence = rx.next
        self._ack_confirmed = False
        rx.unacked_packets = 0
        rx.ack_now = False

    def _send_nak(self, losses: list[int], now: float) -> None:
        if losses:  # one entry per sequence: Go expands ranges wrongly (bug B11)
            head = _CONTROL_HEAD.pack(0x8000 | UdtControlType.NAK, 0, 0, self._timestamp(now), self.peer_socket_id)
            self._control.append(head + struct.pack(f">{len(losses)}I", *(s & _MASK31 for s in losses)))
        self._nak_deadline = now + max(self._srtt + 4 * self._rttvar, self.config.syn_interval / 4)

    def fail(self, reason: str) -> None:
        """The carrier is gone: mark the connection broken (a :class:`UdtBroken` event follows)."""
        if self.state not in (UdtState.CLOSED, UdtState.BROKEN):
            self._break(reason)

    def _break(self, reason: str) -> None:
        self.state = UdtState.BROKEN
        self._control.clear()
        self._events.append(UdtBroken(reason))
        log.debug("UDT %08x broken: %s", self.socket_id, reason)

    def _check_closed(self) -> None:
        if self.state is UdtState.CONNECTED and self._peer_ended and self.send_finished:
            self.state = UdtState.CLOSED

    def frames_to_send(self, now: float) -> list[bytes]:
        """Run due timers and return the frames to send now, in order (each one lite packet)."""
        self._run_timers(now)
        out, self._control = self._control, []
        tx = self._tx
        if tx is None or self.state is not UdtState.CONNECTED:
            return out
        packets = tx.take_retransmissions()
        packets += tx.take_new()
        if packets:
            timestamp = self._timestamp(now)
            destination = self.peer_socket_id
            first = self.initial_sequence
            pack = _DATA_HEAD.pack
            for seq, payload in packets:
                word1 = _DATA_WORD1 | ((seq - first) & _MASK29)
                out.append(pack(seq & _MASK31, word1, timestamp, destination) + payload)
        if self._closing and self._shutdown_sent_at is None and tx.idle:
            self._shutdown_sent_at = now
            self._last_response = now
            if self.config.send_shutdown:
                out.append(encode_udt_frame(UdtShutdown(self._timestamp(now), self.peer_socket_id)))
            self._check_closed()
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`frames_to_send` must be called again if nothing arrives before."""
        state = self.state
        if state is UdtState.CONNECTING:
            return min(self._handshake_next, self._connect_deadline)
        if state is not UdtState.CONNECTED:
            return self._last_heard + self.config.idle_timeout if state is UdtState.LISTENING else None
        deadline = self._last_heard + self.config.idle_timeout
        if _waiting_for_peer(self):
            deadline = min(deadline, self._last_response + _rto(self), self._last_heard + self.config.peer_timeout)
            if self._shutdown_sent_at is not None:
                deadline = min(deadline, self._shutdown_sent_at + self.config.linger)
        rx = self._rx
        if rx is not None:
            if rx.next != self._ack_sent_sequence or rx.ack_now:
                deadline = min(deadline, self._ack_sent_at + self.config.syn_interval)
            elif not self._ack_confirmed:
                deadline = min(deadline, self._ack_sent_at + self._ack_backoff)
            if rx.losses and self._nak_deadline is not None:
                deadline = min(deadline, self._nak_deadline)
        return deadline

    def _run_timers(self, now: float) -> None:
        state = self.state
        if state is UdtState.CONNECTING:
            if now >= self._connect_deadline:
                self._break("handshake timed out")
            elif now >= self._handshake_next:
                self._handshake(now, 0, _REQUEST if self._handshake_stage == 1 else _RESPONSE)
                self._handshake_next = now + self.config.handshake_retry
            return
        if state is UdtState.LISTENING and now >= self._last_heard + self.config.idle_timeout:
            self._break("no dialer came")
        if state is not UdtState.CONNECTED:
            return
        if now >= self._last_heard + self.config.idle_timeout:
            self._break("peer silent (idle timeout)")
            return
        if _waiting_for_peer(self):
            self._sender_timers(now)
            if self.state is not UdtState.CONNECTED:
                return
        self._receiver_timers(now)

    def _sender_timers(self, now: float) -> None:
        if now >= self._last_heard + self.config.peer_timeout:
            self._break("peer stopped acknowledging")
            return
        if self._shutdown_sent_at is not None and now >= self._shutdown_sent_at + self.config.linger:
            self._shutdown_acked = True  # gave up waiting; the data itself was acknowledged
            self._check_closed()
            return
        if now >= self._last_response + _rto(self):
            tx = self._tx
            if tx is not None and tx.unacked:
                tx.on_timeout()
            elif self._shutdown_sent_at is not None:
                self._control.append(encode_udt_frame(UdtShutdown(self._timestamp(now), self.peer_socket_id)))
                self._shutdown_resent = True
            self._exp_count += 1
            self._last_response = now

    def _receiver_timers(self, now: float) -> None:
        rx = self._rx
        if rx is None:
            return
        if rx.next != self._ack_sent_sequence or rx.ack_now:
            if now >= self._ack_sent_at + self.config.syn_interval:
                self._send_ack(now)
        elif not self._ack_confirmed and now >= self._ack_sent_at + self._ack_backoff:
            self._ack_backoff = min(self._ack_backoff * 2, _MAX_ACK_BACKOFF)
            self._send_ack(now)
        if rx.losses and self._nak_deadline is not None and now >= self._nak_deadline:
            self._send_nak(rx.take_nak(everything=True), now)
