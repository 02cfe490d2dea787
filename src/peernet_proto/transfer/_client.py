"""The trio side of transfers: async downloads over a :class:`TransferBehaviour` driven by the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import trio

from .._keys import PublicKey
from .._transfer import BlockRange
from ._behaviour import TransferBehaviour
from ._session import TransferSession

__all__ = ["TransferClient"]


class TransferClient:
    """Async downloads. ``poke`` (the engine runner's) is called after each step that queued packets,
    so that the engine re-reads the behaviour's deadline."""

    def __init__(
        self,
        behaviour: TransferBehaviour,
        clock: Callable[[], float] = trio.current_time,
        poke: Callable[[], None] | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.clock = clock
        self.poke = poke or (lambda: None)

    async def _wait(self, session: TransferSession, event: trio.Event) -> trio.Event:
        await event.wait()
        fresh = trio.Event()
        session.notify = fresh.set
        return fresh

    async def download(
        self, peer: PublicKey, file_hash: bytes, offset: int = 0, limit: int = 0
    ) -> AsyncIterator[bytes]:
        """Yield the bytes of ``file_hash`` from ``offset`` (``limit`` bytes, 0: to the end) as they arrive.

        Raises :class:`TransferError` when the peer refuses or the transfer fails.
        """
        behaviour = self.behaviour
        session = behaviour.request_file(peer, file_hash, offset, limit, self.clock())
        event = trio.Event()
        session.notify = event.set
        self.poke()
        try:
            while True:
                data = behaviour.read(session, self.clock())
                self.poke()
                if data:
                    yield data
                elif session.finished:
                    return
                else:
                    event = await self._wait(session, event)
        finally:
            if not session.finished:
                behaviour.cancel(session, self.clock())

    async def fetch_blocks(
        self,
        peer: PublicKey,
        owner: PublicKey,
        ranges: Sequence[BlockRange],
        max_block_size: int,
        limit_count: int,
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        """Yield ``(number, raw block or None)`` from ``peer``'s copy of ``owner``'s chain, in request order."""
        behaviour = self.behaviour
        session = behaviour.request_blocks(peer, owner, ranges, max_block_size, limit_count, self.clock())
        event = trio.Event()
        session.notify = event.set
        self.poke()
        try:
            while True:
                blocks = behaviour.take_blocks(session, self.clock())
                self.poke()
                for block in blocks:
                    yield block
                if not blocks:
                    if session.finished:
                        return
                    event = await self._wait(session, event)
        finally:
            if not session.finished:
                behaviour.cancel(session, self.clock())
