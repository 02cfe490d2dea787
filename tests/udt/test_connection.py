"""UDT connections wired in memory: handshake, bulk data, loss, reordering, duplication, dead peers."""

from __future__ import annotations

import itertools
import os
import struct

from peernet_proto.udt import (
    UdtBroken,
    UdtConfig,
    UdtConnected,
    UdtConnection,
    UdtData,
    UdtHandshake,
    UdtNak,
    UdtShutdown,
    UdtState,
    UdtStreamEnded,
    decode_udt_frame,
    encode_udt_frame,
)

from .wire import Pair


def test_handshake_follows_peernet_variant() -> None:
    dialer = UdtConnection.dial(0x1111, 12345, 0.0)
    listener = UdtConnection.listen(0x2222, 0.0)
    step1 = dialer.frames_to_send(0.0)
    assert len(step1) == 1
    hs1 = decode_udt_frame(step1[0])
    assert isinstance(hs1, UdtHandshake)
    assert (hs1.request_type, hs1.socket_id, hs1.initial_sequence, hs1.destination_socket_id) == (1, 0x1111, 12345, 0)
    assert (hs1.max_flow_window, hs1.socket_type, hs1.udt_version, hs1.syn_cookie) == (UdtConfig().flow_window, 1, 4, 0)
    listener.receive_frame(step1[0], 0.001)
    (step2,) = listener.frames_to_send(0.001)
    hs2 = decode_udt_frame(step2)
    assert isinstance(hs2, UdtHandshake)
    assert (hs2.request_type, hs2.socket_id, hs2.destination_socket_id, hs2.timestamp, hs2.max_flow_window) == (
        1, 0, 0x1111, 0, 0)
    assert listener.state is UdtState.LISTENING
    dialer.receive_frame(step2, 0.002)
    (step3,) = dialer.frames_to_send(0.002)
    hs3 = decode_udt_frame(step3)
    assert isinstance(hs3, UdtHandshake)
    assert (hs3.request_type, hs3.socket_id, hs3.initial_sequence, hs3.destination_socket_id) == (-1, 0x1111, 12345, 0)
    listener.receive_frame(step3, 0.003)
    assert listener.state is UdtState.CONNECTED
    assert listener.events() == [UdtConnected(0x1111)]
    (step4,) = listener.frames_to_send(0.003)
    hs4 = decode_udt_frame(step4)
    assert isinstance(hs4, UdtHandshake)
    fields4 = (hs4.request_type, hs4.socket_id, hs4.initial_sequence, hs4.destination_socket_id)
    assert fields4 == (-1, 0x2222, 12345, 0x1111)
    dialer.receive_frame(step4, 0.004)
    assert dialer.state is UdtState.CONNECTED
    assert dialer.events() == [UdtConnected(0x2222)]
    # Both directions start at the dialer's sequence; stream-mode data words as Go sends them.
    assert dialer.send(b"hello") == 5
    (data,) = dialer.frames_to_send(0.005)
    frame = decode_udt_frame(data)
    assert isinstance(frame, UdtData)
    assert (frame.sequence, frame.message_number, frame.boundary, frame.in_order) == (12345, 0, 3, True)
    assert frame.destination_socket_id == 0x2222
    assert struct.unpack(">I", data[4:8])[0] == 0xE0000000


def test_handshake_retries_then_gives_up() -> None:
    dialer = UdtConnection.dial(1, 2, 0.0)
    sent = 0
    now = 0.0
    while dialer.state is UdtState.CONNECTING:
        sent += len(dialer.frames_to_send(now))
        deadline = dialer.next_deadline()
        if deadline is None:
            break
        now = deadline
    assert dialer.state is UdtState.BROKEN
    assert now == 3.0
    assert 12 <= sent <= 13  # every 250 ms for 3 s
    assert isinstance(dialer.events()[-1], UdtBroken)
    assert dialer.next_deadline() is None


def test_bulk_data_arrives_in_order() -> None:
    data = os.urandom(3 << 20)
    pair = Pair(seed=3)
    assert pair.transfer(data)
    assert pair.dialer.stats["retransmitted"] == 0


def test_loss_is_recovered() -> None:
    data = os.urandom(1 << 20)
    pair = Pair(seed=4, loss=0.1)
    assert pair.transfer(data)
    assert pair.dialer.stats["retransmitted"] > 0


def test_reordering_and_duplication() -> None:
    data = os.urandom(1 << 20)
    pair = Pair(seed=5, jitter=0.004, duplicate=0.1)
    assert pair.transfer(data)
    assert pair.listener.stats["duplicates"] > 0


def test_heavy_loss_with_everything() -> None:
    data = os.urandom(256 << 10)
    pair = Pair(seed=6, loss=0.3, jitter=0.003, duplicate=0.05)
    assert pair.transfer(data, limit=600)


def test_shutdown_ends_the_stream() -> None:
    pair = Pair(seed=7, loss=0.2)
    assert pair.transfer(b"x" * 5000)
    pair.dialer.close()
    assert pair.run(lambda: pair.listener.peer_ended and pair.dialer.send_finished, limit=30)
    assert UdtStreamEnded() in pair.listener.events()


def test_no_shutdown_when_configured_like_go() -> None:
    pair = Pair(seed=8, config=UdtConfig(send_shutdown=False))
    assert pair.transfer(b"y" * 3000)
    pair.dialer.close()
    assert pair.run(lambda: pair.dialer.send_finished, limit=5)
    assert not pair.listener.peer_ended


def test_dead_listener_breaks_the_sender() -> None:
    pair = Pair(seed=9)
    assert pair.run(lambda: pair.dialer.state is UdtState.CONNECTED, limit=1)
    pair.forward.up = False
    pair.backward.up = False
    pair.dialer.send(b"z" * 100_000)
    assert pair.run(lambda: pair.dialer.state is UdtState.BROKEN, limit=30)
    assert pair.now < 12
    assert any(isinstance(e, UdtBroken) for e in pair.dialer.events())


def test_dead_sender_ends_the_receiver_by_idle_timeout() -> None:
    pair = Pair(seed=10, config=UdtConfig(idle_timeout=5.0))
    assert pair.run(lambda: pair.dialer.state is UdtState.CONNECTED, limit=1)
    pair.forward.up = False
    assert pair.run(lambda: pair.listener.state is UdtState.BROKEN, limit=30)


def test_slow_reader_bounds_memory_and_keeps_the_session() -> None:
    config = UdtConfig()
    pair = Pair(seed=11, config=config)
    assert pair.run(lambda: pair.dialer.state is UdtState.CONNECTED, limit=1)
    data = os.urandom(2 * config.flow_window * config.payload_size + 4 * config.send_buffer)
    sent = 0
    listener = pair.listener
    pair.reading = False
    while pair.now < 30:  # nobody reads; the sender keeps offering more
        sent += pair.dialer.send(data[sent:])
        assert pair.step()
        assert listener.readable <= config.flow_window * config.payload_size
        assert len(listener._rx.out_of_order) + len(listener._rx.queue) <= config.flow_window  # type: ignore[union-attr]
    assert pair.dialer.state is UdtState.CONNECTED
    assert listener.readable == config.flow_window * config.payload_size
    pair.reading = True
    while len(pair.received) < len(data) and pair.now < 60:
        sent += pair.dialer.send(data[sent:])
        pair.step()
    assert bytes(pair.received) == data


def test_nak_entries_are_single_sequences() -> None:
    seen: list[UdtNak] = []

    def watch(frame: bytes) -> bool:
        decoded = decode_udt_frame(frame)
        if isinstance(decoded, UdtNak):
            seen.append(decoded)
        return False

    pair = Pair(seed=12, loss=0.2)
    pair.backward.drop = watch
    assert pair.transfer(os.urandom(200_000))
    assert seen
    assert all(not entry & 0x80000000 for nak in seen for entry in nak.losses)


def test_every_ack_gets_an_ack2() -> None:
    pair = Pair(seed=13)
    acks: list[int] = []
    ack2s: list[int] = []

    def watch_back(frame: bytes) -> bool:
        if frame[:2] == b"\x80\x02":
            acks.append(struct.unpack(">I", frame[4:8])[0])
        return False

    def watch_forward(frame: bytes) -> bool:
        if frame[:2] == b"\x80\x06":
            ack2s.append(struct.unpack(">I", frame[4:8])[0])
        return False

    pair.backward.drop = watch_back
    pair.forward.drop = watch_forward
    assert pair.transfer(os.urandom(100_000))
    assert pair.run(lambda: pair.listener.quiescent, limit=5)  # the last ACKs were in flight
    assert acks
    assert set(acks) <= set(ack2s)


def test_misaddressed_and_garbage_frames_are_ignored() -> None:
    pair = Pair(seed=14)
    assert pair.run(lambda: pair.dialer.state is UdtState.CONNECTED, limit=1)
    listener = pair.listener
    for junk in (b"", b"\x80", b"\x80\x63" + bytes(14), b"\x00" * 16, b"\x80\x05" + bytes(14)):
        listener.receive_frame(junk, pair.now)
    assert listener.state is UdtState.CONNECTED
    assert listener.frames_rejected == 5
    assert not isinstance(decode_udt_frame(b"\x80\x05" + bytes(14)), UdtData)
    assert isinstance(decode_udt_frame(b"\x80\x05" + bytes(14)), UdtShutdown)
    assert pair.transfer(b"still fine" * 100)


def test_acks_carry_link_info_once_per_syn_time() -> None:
    sizes: list[tuple[float, int]] = []
    pair = Pair(seed=15)

    def watch(frame: bytes) -> bool:
        if frame[:2] == b"\x80\x02":
            sizes.append((pair.now, len(frame)))
        return False

    pair.backward.drop = watch
    assert pair.transfer(os.urandom(400_000))
    with_link = [t for t, size in sizes if size == 40]
    assert with_link and all(size in (32, 40) for _, size in sizes)
    assert all(b - a >= 0.01 for a, b in itertools.pairwise(with_link))
    assert len(with_link) < len(sizes)


def test_nak_ranges_from_udt_peers_are_inclusive() -> None:
    pair = Pair(seed=16)
    assert pair.run(lambda: pair.dialer.state is UdtState.CONNECTED, limit=1)
    dialer = pair.dialer
    dialer.send(os.urandom(10 * 1198))
    sent = [decode_udt_frame(f) for f in dialer.frames_to_send(pair.now)]
    first = sent[0]
    assert isinstance(first, UdtData)
    nak = UdtNak(0, dialer.socket_id, ((first.sequence + 2) | 0x80000000, first.sequence + 4, first.sequence + 7))
    dialer.receive_frame(encode_udt_frame(nak), pair.now)
    again = [decode_udt_frame(f) for f in dialer.frames_to_send(pair.now)]
    assert [f.sequence for f in again if isinstance(f, UdtData)] == [first.sequence + i for i in (2, 3, 4, 7)]


def test_sequence_numbers_wrap_around() -> None:
    seen: list[int] = []

    def watch(frame: bytes) -> bool:
        decoded = decode_udt_frame(frame)
        if isinstance(decoded, UdtData):
            seen.append(decoded.sequence)
        return False

    data = os.urandom(300_000)
    pair = Pair(seed=17, initial_sequence=(1 << 31) - 100, loss=0.05)
    pair.forward.drop = watch
    assert pair.transfer(data)
    assert max(seen) == (1 << 31) - 1 and min(seen) == 0


def test_listener_ignores_a_dialer_claiming_socket_zero() -> None:
    listener = UdtConnection.listen(5, 0.0)
    listener.receive_frame(encode_udt_frame(UdtHandshake(0, 0, 4, 1, 99, 0, 64, -1, 0)), 0.0)
    assert listener.state is UdtState.LISTENING
    assert listener.frames_to_send(0.0) == []


def test_refused_handshake_breaks_the_dialer() -> None:
    dialer = UdtConnection.dial(0x1111, 5, 0.0)
    dialer.frames_to_send(0.0)
    refusal = UdtHandshake(0, 0x1111, 4, 1, 5, 0, 0, 1002, 0)
    dialer.receive_frame(encode_udt_frame(refusal), 0.01)
    assert dialer.state is UdtState.BROKEN
    assert dialer.events() == [UdtBroken("handshake refused")]


def test_a_go_sized_sender_gets_go_acks_and_at_most_its_own_window() -> None:
    """A dialer announcing Go's window of 64 is never offered more, and is ACKed every 4 packets as Go's
    receiver does (Go retransmits everything unacknowledged after 10 ms)."""
    dialer = UdtConnection.dial(0x1111, 5, 0.0, UdtConfig(flow_window=64))
    listener = UdtConnection.listen(0x2222, 0.0)
    announced: list[int] = []
    acks = data = 0
    now = 0.0
    sent = 0
    payload = os.urandom(300_000)
    received = bytearray()
    while now < 5 and len(received) < len(payload):
        sent += dialer.send(payload[sent:])
        for frame in dialer.frames_to_send(now):
            data += not frame[0] & 0x80
            listener.receive_frame(frame, now)
        for frame in listener.frames_to_send(now):
            decoded = decode_udt_frame(frame)
            if isinstance(decoded, UdtHandshake):
                announced.append(decoded.max_flow_window)
            elif frame[:2] == b"\x80\x02":
                acks += 1
                announced.append(struct.unpack(">I", frame[28:32])[0])
            dialer.receive_frame(frame, now)
        received += listener.read()
        now += 0.001
    assert received == payload
    assert announced and max(announced) <= 64
    assert acks >= data // 4 - 1
