"""Engines that behave like the Go reference towards the DHT, for tests of mixed networks."""

from __future__ import annotations

import attrs

from peernet_proto import (
    Announcement,
    EngineConfig,
    Feature,
    MessageReceived,
    PeerEngine,
    PrivateKey,
    sort_by_distance,
)

__all__ = ["GoLikeDirectory", "GoStyleEngine", "Recorder"]


class GoLikeDirectory:
    """The reference's GetClosestContacts, roughly: contacts near the key, returned sorted by raw
    node ID instead of distance, so the first five are not the five closest (spec dht.md §3.3)."""

    def __init__(self, engine: PeerEngine) -> None:
        self.engine = engine

    def closest(self, key, count, exclude):  # type: ignore[no-untyped-def]
        keys = [info.public_key for info in self.engine.peers() if info.public_key != exclude]
        near = sort_by_distance(keys, key)[: count * 3]
        return sorted(near, key=lambda p: p.node_id)


class GoStyleEngine(PeerEngine):
    """An engine that behaves like the reference towards the DHT: it announces neither the
    EXTENSIONS nor the KEYWORD_SEARCH bit, never writes extension items, has no handler, answers
    a FIND_VALUE it cannot serve with "not found" only (spec dht.md §5) and returns closest
    contacts in raw-ID order."""

    def __init__(self, key: PrivateKey, config: EngineConfig, **options: object) -> None:
        super().__init__(key, config, directory=GoLikeDirectory(self), **options)  # type: ignore[arg-type]

    @property
    def features(self) -> int:
        return super().features & ~(Feature.EXTENSIONS | Feature.KEYWORD_SEARCH)

    def _extension_answer(self, requester, request, remote, now):  # type: ignore[no-untyped-def]
        return b""

    def _response_to(self, requester, request, remote, now):  # type: ignore[no-untyped-def]
        response = super()._response_to(requester, request, remote, now)
        misses = {key for key in request.find_value} - {key for key in request.find_peer}
        kept = tuple(e for e in response.hash2peers if e.key not in misses or e.storing)
        dropped = tuple(e.key for e in response.hash2peers if e not in kept)
        return attrs.evolve(response, hash2peers=kept, hashes_not_found=response.hashes_not_found + dropped)


class Recorder:
    """Everything a Go-style engine was asked (from its MessageReceived events)."""

    def __init__(self) -> None:
        self.announcements: list[Announcement] = []

    def note(self, event: object) -> None:
        if isinstance(event, MessageReceived) and isinstance(event.message, Announcement):
            self.announcements.append(event.message)

    @property
    def with_extension(self) -> int:
        return sum(1 for a in self.announcements if a.extension)
