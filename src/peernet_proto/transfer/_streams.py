"""Byte streams in lite sessions: a behaviour that carries :class:`~peernet_proto.udt.UdtStream`s.

The two applications agree on the session ID and on who dials out of band (for example in a
message of their own); each calls :meth:`LiteStreams.open` and runs the stream's ``run`` in a nursery.
"""

from __future__ import annotations

import secrets
import uuid

from .._events import EngineEvent, PeerRemoved
from .._keys import PublicKey
from .._messages import Message
from ..udt import UdtConfig, UdtConnection, UdtStream
from ._contract import EngineHostLike
from ._limits import TransferError

__all__ = ["LiteStreams"]


class LiteStreams:
    """The ``Behaviour`` that owns the lite sessions of application streams."""

    feature_bits: int = 0
    commands: frozenset[int] = frozenset()

    def __init__(self, config: UdtConfig | None = None, max_streams: int = 64) -> None:
        self.config = config or UdtConfig()
        self.max_streams = max_streams
        self.streams: dict[uuid.UUID, tuple[PublicKey, UdtStream]] = {}
        self._host: EngineHostLike | None = None

    def attach(self, host: EngineHostLike, now: float) -> None:
        """Called by the engine once."""
        self._host = host

    def open(self, peer: PublicKey, session_id: uuid.UUID, *, dialer: bool, now: float) -> UdtStream:
        """A stream to ``peer`` in lite session ``session_id``; exactly one side passes ``dialer=True``.

        Run ``stream.run()`` in a nursery; when it returns, call :meth:`release`.
        """
        host = self._host
        if host is None:
            raise RuntimeError("LiteStreams is not attached to an engine")
        if len(self.streams) >= self.max_streams or not host.open_lite_session(session_id, peer, self):
            raise TransferError("no room for another stream session")
        if dialer:
            conn = UdtConnection.dial(secrets.randbits(32), secrets.randbits(31), now, self.config)
        else:
            conn = UdtConnection.listen(secrets.randbits(32), now, self.config)
        stream = UdtStream(conn, lambda frame: host.send_lite(peer, session_id, frame))
        self.streams[session_id] = (peer, stream)
        return stream

    def release(self, session_id: uuid.UUID) -> None:
        """Forget a finished stream and its lite session."""
        if self.streams.pop(session_id, None) is not None and self._host is not None:
            self._host.close_lite_session(session_id)

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        """No messages are routed here."""

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        """One UDT frame for a stream."""
        entry = self.streams.get(session_id)
        if entry is not None and entry[0] == peer:
            entry[1].feed(data)

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """A removed peer breaks its streams."""
        if isinstance(event, PeerRemoved):
            for session_id, (peer, stream) in list(self.streams.items()):
                if peer == event.peer:
                    stream.break_off(f"peer removed ({event.reason})")
                    self.release(session_id)

    def handle_timer(self, now: float) -> None:
        """Streams drive their own timers in ``run``."""

    def next_deadline(self) -> float | None:
        """Streams drive their own timers in ``run``."""
        return None
