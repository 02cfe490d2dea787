"""Two UDT connections wired to each other in memory, on a virtual clock, with optional loss,
reordering and duplication."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable

from peernet_proto.udt import UdtConfig, UdtConnection, UdtState

__all__ = ["Link", "Pair"]


class Link:
    """One direction: frames arrive after ``delay`` (+ jitter), some lost or duplicated."""

    def __init__(self, rng: random.Random, delay: float = 0.001, loss: float = 0.0, jitter: float = 0.0,
                 duplicate: float = 0.0, drop: Callable[[bytes], bool] | None = None) -> None:
        self.rng = rng
        self.delay = delay
        self.loss = loss
        self.jitter = jitter
        self.duplicate = duplicate
        self.drop = drop
        self.up = True
        self.carried = 0

    def schedule(self, frame: bytes, now: float) -> list[float]:
        """Arrival times for ``frame`` (none when lost)."""
        if not self.up or (self.drop is not None and self.drop(frame)) or self.rng.random() < self.loss:
            return []
        copies = 2 if self.rng.random() < self.duplicate else 1
        self.carried += copies
        return [now + self.delay + self.rng.random() * self.jitter for _ in range(copies)]


class Pair:
    """A dialer (the data owner) and a listener (the requester) joined by two links."""

    def __init__(
        self,
        seed: int = 1,
        config: UdtConfig | None = None,
        now: float = 0.0,
        initial_sequence: int | None = None,
        **link: object,
    ) -> None:
        rng = random.Random(seed)
        self.now = now
        config = config or UdtConfig()
        first = rng.getrandbits(31) if initial_sequence is None else initial_sequence
        self.dialer = UdtConnection.dial(rng.getrandbits(32), first, now, config)
        self.listener = UdtConnection.listen(rng.getrandbits(32), now, config)
        self.forward = Link(rng, **link)  # type: ignore[arg-type]
        self.backward = Link(rng, **link)  # type: ignore[arg-type]
        self._queue: list[tuple[float, int, bool, bytes]] = []
        self._order = itertools.count()
        self.received = bytearray()  # what the listener read
        self.reading = True

    def _flush(self) -> None:
        for conn, link, to_listener in ((self.dialer, self.forward, True), (self.listener, self.backward, False)):
            for frame in conn.frames_to_send(self.now):
                for at in link.schedule(frame, self.now):
                    heapq.heappush(self._queue, (at, next(self._order), to_listener, frame))

    def step(self) -> bool:
        """Advance to the next arrival or deadline; False when nothing is left to happen."""
        self._flush()
        times = [t for t in (self.dialer.next_deadline(), self.listener.next_deadline()) if t is not None]
        if self._queue:
            times.append(self._queue[0][0])
        if not times:
            return False
        self.now = max(self.now, min(times))
        while self._queue and self._queue[0][0] <= self.now:
            _, _, to_listener, frame = heapq.heappop(self._queue)
            (self.listener if to_listener else self.dialer).receive_frame(frame, self.now)
        if self.reading:
            self.received += self.listener.read()
        self._flush()
        return True

    def run(self, until: Callable[[], bool], limit: float = 120.0, feed: Callable[[], None] | None = None) -> bool:
        """Step until ``until()`` holds (True) or the clock passes ``limit`` seconds / nothing happens."""
        start = self.now
        while not until():
            if feed is not None:
                feed()
            self._flush()
            if self.now - start > limit or not self.step():
                return until()
        return True

    def transfer(self, data: bytes, limit: float = 120.0) -> bool:
        """Send ``data`` from the dialer; True when the listener read all of it."""
        view = memoryview(data)
        sent = 0

        def feed() -> None:
            nonlocal sent
            if sent < len(view):
                sent += self.dialer.send(view[sent:])
            elif sent == len(view):
                self.dialer.close()

        failed = (UdtState.BROKEN,)
        return self.run(
            lambda: len(self.received) >= len(data)
            or self.dialer.state in failed
            or self.listener.state in failed,
            limit,
            feed,
        ) and bytes(self.received) == data
