"""File and block transfer as an engine behaviour (spec wire.md §12): Transfer and GetBlock
messages start and end sessions; their UDT frames travel in lite packets keyed by the
requester's transfer ID."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence

from .._constants import Command
from .._events import EngineEvent, PeerRemoved
from .._keys import PublicKey
from .._messages import Message
from .._transfer import BlockRange, GetBlock, GetBlockControl, Transfer, TransferControl
from ..udt import UdtConnection
from ._contract import EngineHostLike
from ._limits import RateLimiter, TransferError, TransferLimits
from ._owner import BlockUpload, FileUpload
from ._requester import BlockDownload, FileDownload
from ._session import TransferSession
from ._sources import BlockProvider, FileSource

__all__ = ["TransferBehaviour"]

log = logging.getLogger(__name__)

_NEVER = float("inf")


class TransferBehaviour:
    """Serves files (``files``) and our own chain (``blocks``), and downloads from peers.

    Engine side: the ``Behaviour`` contract (``attach``, ``handle_*``, ``next_deadline``).
    Application side: :meth:`request_file` / :meth:`request_blocks` start downloads; read them with
    :meth:`read` / :meth:`take_blocks`, passing the current time (the engine's clock).
    """

    feature_bits: int = 0
    commands: frozenset[int] = frozenset({int(Command.TRANSFER), int(Command.GET_BLOCK)})

    def __init__(
        self, files: FileSource | None = None, blocks: BlockProvider | None = None, limits: TransferLimits | None = None
    ) -> None:
        self.files = files
        self.blocks = blocks
        self.limits = limits or TransferLimits()
        self.sessions: dict[uuid.UUID, TransferSession] = {}
        self._deadlines: dict[uuid.UUID, float] = {}  # each session's deadline as of its last pump
        self._stale: set[uuid.UUID] = set()  # sessions whose deadline may have moved since (frames arrived)
        self._rates = RateLimiter(self.limits.requests_per_peer_per_minute)
        self._host: EngineHostLike | None = None
        self._requests: dict[uuid.UUID, Transfer | GetBlock] = {}

    # ----------------------------------------------------------------- engine side

    def attach(self, host: EngineHostLike, now: float) -> None:
        """Called by the engine once."""
        self._host = host

    @property
    def host(self) -> EngineHostLike:
        """The engine this behaviour is attached to."""
        if self._host is None:
            raise RuntimeError("transfer behaviour is not attached to an engine")
        return self._host

    def handle_message(self, peer: PublicKey, message: Message, sequence: int, now: float) -> None:
        """Transfer and GetBlock messages."""
        if isinstance(message, Transfer):
            self._handle_transfer(peer, message, sequence, now)
        elif isinstance(message, GetBlock):
            self._handle_get_block(peer, message, sequence, now)

    def handle_lite(self, peer: PublicKey, session_id: uuid.UUID, data: bytes, now: float) -> None:
        """One UDT frame for a session."""
        session = self.sessions.get(session_id)
        if session is None or session.peer != peer:
            return
        session.receive_frame(data, now)
        if session.needs_pump():
            self._pump(session, now)
        else:  # a data frame that only waits to be read: its ACK timer may be the new deadline
            self._stale.add(session_id)

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """A removed peer ends its sessions."""
        if isinstance(event, PeerRemoved):
            for session in [s for s in self.sessions.values() if s.peer == event.peer]:
                session.fail(f"peer removed ({event.reason})", now)
                self._drop(session)

    def handle_timer(self, now: float) -> None:
        """Drive retransmissions, expiry and lingering sessions."""
        self._refresh_deadlines()
        for session in list(self.sessions.values()):
            if self._deadlines.get(session.transfer_id, now) <= now:
                self._pump(session, now)

    def next_deadline(self) -> float | None:
        """The earliest deadline of any session (kept up to date by every pump: the engine asks after
        each datagram, so this must not walk every session's timers)."""
        self._refresh_deadlines()
        deadline = min(self._deadlines.values(), default=_NEVER)
        return None if deadline == _NEVER else deadline

    def _refresh_deadlines(self) -> None:
        while self._stale:
            session = self.sessions.get(self._stale.pop())
            if session is not None:
                deadline = session.deadline()
                self._deadlines[session.transfer_id] = _NEVER if deadline is None else deadline

    # ----------------------------------------------------------------- application side

    def request_file(self, peer: PublicKey, file_hash: bytes, offset: int, limit: int, now: float) -> FileDownload:
        """Start downloading ``limit`` bytes (0: to the end) of ``file_hash`` from ``offset``."""
        transfer_id = self._new_id()
        conn = UdtConnection.listen(secrets.randbits(32), now, self.limits.udt)
        session = FileDownload(peer, transfer_id, file_hash, conn, self.limits.file_timeout, now)
        session.setup(offset, limit)
        self._start(session, Transfer(TransferControl.REQUEST_START, file_hash, 0, offset, limit, transfer_id), now)
        return session

    def request_blocks(
        self,
        peer: PublicKey,
        owner: PublicKey,
        ranges: Sequence[BlockRange],
        max_block_size: int,
        limit: int,
        now: float,
    ) -> BlockDownload:
        """Start downloading blocks of ``owner``'s chain from ``peer`` (normally the owner itself)."""
        if not ranges or len(ranges) > self.limits.max_ranges:
            raise ValueError(f"between 1 and {self.limits.max_ranges} block ranges are needed")
        limit = min(limit, self.limits.max_blocks_per_request)
        max_block_size = min(max_block_size, self.limits.max_block_size)
        transfer_id = self._new_id()
        conn = UdtConnection.listen(secrets.randbits(32), now, self.limits.udt)
        session = BlockDownload(peer, transfer_id, owner.to_bytes(), conn, self.limits.block_timeout, now)
        session.setup(tuple(ranges), limit, max_block_size, self.limits.buffered_blocks)
        request = GetBlock(GetBlockControl.REQUEST_START, owner, limit, max_block_size, transfer_id, tuple(ranges))
        self._start(session, request, now)
        return session

    def read(self, session: FileDownload, now: float, max_bytes: int = 1 << 20) -> bytes:
        """File bytes that arrived (empty when none are ready); raises :class:`TransferError` on failure."""
        data = session.read(max_bytes)
        self._pump(session, now)
        if not data and session.failure is not None:
            raise TransferError(session.failure)
        return data

    def take_blocks(self, session: BlockDownload, now: float) -> list[tuple[int, bytes | None]]:
        """Blocks that arrived, in request order; raises :class:`TransferError` on failure."""
        blocks = session.take()
        self._pump(session, now)
        if not blocks and session.failure is not None:
            raise TransferError(session.failure)
        return blocks

    def cancel(self, session: TransferSession, now: float) -> None:
        """Stop a session (nothing is sent, as Go never sends TERMINATE)."""
        session.fail("cancelled", now)
        self._drop(session)

    # ----------------------------------------------------------------- internals

    def _new_id(self) -> uuid.UUID:
        while True:
            transfer_id = uuid.uuid4()
            if transfer_id not in self.sessions:
                return transfer_id

    def _admit(self, peer: PublicKey) -> bool:
        if len(self.sessions) >= self.limits.max_sessions:
            return False
        active = sum(1 for s in self.sessions.values() if s.peer == peer and not s.finished)
        return active < self.limits.max_sessions_per_peer

    def _start(self, session: TransferSession, request: Transfer | GetBlock, now: float) -> None:
        if not self._admit(session.peer):
            raise TransferError("too many transfer sessions")
        if not self.host.open_lite_session(session.transfer_id, session.peer, self):
            raise TransferError("the engine refused the lite session")
        self.sessions[session.transfer_id] = session
        self._requests[session.transfer_id] = request
        session.retries_left = self.limits.request_retries
        session.retry_at = now + self.limits.request_retry
        self.host.send_message(session.peer, request)
        self._pump(session, now)

    def _pump(self, session: TransferSession, now: float) -> None:
        host = self.host
        if session.due_retry(now, self.limits.request_retry):
            host.send_message(session.peer, self._requests[session.transfer_id])
        for frame in session.pump(now):
            host.send_lite(session.peer, session.transfer_id, frame)
        if session.closable(now, self.limits.linger):
            self._drop(session)
        elif self.sessions.get(session.transfer_id) is session:
            deadline = session.deadline()
            self._deadlines[session.transfer_id] = _NEVER if deadline is None else deadline

    def _drop(self, session: TransferSession) -> None:
        if self.sessions.get(session.transfer_id) is session:
            del self.sessions[session.transfer_id]
            self._deadlines.pop(session.transfer_id, None)
            self._requests.pop(session.transfer_id, None)
            self.host.close_lite_session(session.transfer_id)

    def _handle_transfer(self, peer: PublicKey, message: Transfer, sequence: int, now: float) -> None:
        if message.control == TransferControl.REQUEST_START:
            self._serve_file(peer, message, sequence, now)
        elif message.control == TransferControl.ACTIVE:  # a UDT frame in a full packet: accepted, never sent
            for session in self._sessions_for(peer, message.file_hash):
                session.receive_frame(message.data, now)
                self._pump(session, now)
        elif message.ends_transfer:
            refused = message.control == TransferControl.NOT_AVAILABLE
            self._end_sessions(
                peer,
                message.file_hash,
                "not available" if refused else "terminated by the peer",
                downloads_only=refused,
                now=now,
            )

    def _handle_get_block(self, peer: PublicKey, message: GetBlock, sequence: int, now: float) -> None:
        subject = message.blockchain_key.to_bytes()
        if message.control == GetBlockControl.REQUEST_START:
            self._serve_blocks(peer, message, sequence, now)
        elif message.control == GetBlockControl.ACTIVE:
            for session in self._sessions_for(peer, subject):
                session.receive_frame(message.data, now)
                self._pump(session, now)
        elif message.ends_transfer:
            reasons = {GetBlockControl.NOT_AVAILABLE: "not available", GetBlockControl.EMPTY: "the chain is empty"}
            reason = reasons.get(GetBlockControl(message.control))
            self._end_sessions(peer, subject, reason or "terminated by the peer", downloads_only=bool(reason), now=now)

    def _sessions_for(self, peer: PublicKey, subject: bytes) -> list[TransferSession]:
        return [s for s in self.sessions.values() if s.peer == peer and s.subject == subject]

    def _end_sessions(self, peer: PublicKey, subject: bytes, reason: str, *, downloads_only: bool, now: float) -> None:
        """NOT_AVAILABLE and EMPTY answer our requests; TERMINATE ends either role (spec §12.2 step 4)."""
        for session in self._sessions_for(peer, subject):
            if not downloads_only or isinstance(session, FileDownload | BlockDownload):
                session.fail(reason, now)
                self._drop(session)

    def _may_serve(self, peer: PublicKey, transfer_id: uuid.UUID) -> bool:
        if transfer_id in self.sessions or not self._admit(peer):
            log.debug("transfer request from %s refused: session limit or ID in use", peer.hex()[:16])
            return False
        return True

    def _serve_file(self, peer: PublicKey, message: Transfer, sequence: int, now: float) -> None:
        if message.transfer_protocol != 0 or not self._rates.allow(peer, now):
            return
        size = None if self.files is None else self.files.file_size(message.file_hash)
        offset, limit = message.offset, message.limit
        if size is None or offset > size or (limit and offset + limit > size):
            # Go stays silent on a bad range (bug B13); its requesters handle NOT_AVAILABLE.
            reply = Transfer(TransferControl.NOT_AVAILABLE, message.file_hash, message.transfer_protocol)
            self.host.send_message(peer, reply, sequence)
            return
        if self.files is None or not self._may_serve(peer, message.transfer_id):
            return
        conn = UdtConnection.dial(secrets.randbits(32), secrets.randbits(31), now, self.limits.udt)
        session = FileUpload(peer, message.transfer_id, message.file_hash, conn, self.limits.file_timeout, now)
        session.setup(self.files, size, offset, limit or size - offset)
        self._open(session, now)

    def _serve_blocks(self, peer: PublicKey, message: GetBlock, sequence: int, now: float) -> None:
        if not self._rates.allow(peer, now):
            return
        key = message.blockchain_key
        provider = self.blocks
        control = None
        if provider is None or key != provider.public_key:
            control = GetBlockControl.NOT_AVAILABLE
        elif provider.height() == 0:
            control = GetBlockControl.EMPTY
        elif message.limit_block_count == 0 or len(message.ranges) > self.limits.max_ranges:
            control = GetBlockControl.TERMINATE
        if control is not None:
            self.host.send_message(peer, GetBlock(control, key), sequence)
            return
        if provider is None or not self._may_serve(peer, message.transfer_id):
            return
        limit = min(message.limit_block_count, self.limits.max_blocks_per_request)
        conn = UdtConnection.dial(secrets.randbits(32), secrets.randbits(31), now, self.limits.udt)
        session = BlockUpload(peer, message.transfer_id, key.to_bytes(), conn, self.limits.block_timeout, now)
        session.setup(provider, message.ranges, limit, message.max_block_size)
        self._open(session, now)

    def _open(self, session: TransferSession, now: float) -> None:
        if not self.host.open_lite_session(session.transfer_id, session.peer, self):
            return
        self.sessions[session.transfer_id] = session
        self._pump(session, now)
