"""The DHT service's direct requests (not a lookup's): sending, remembering what each was for, matching answers.

Also what the operations and the answering side share of the service (:class:`ServiceHost`) and
the helpers for keyword-search items. Sans-IO.
"""

from __future__ import annotations

import logging
from typing import Protocol

import attrs

from peernet_proto import (
    Announcement,
    Behaviour,
    DecodeError,
    EncodeError,
    EngineEvent,
    ExtensionType,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    decode_extensions,
    encode_extensions,
)

from ._network import Remote
from ._search import KeywordStore, SearchPayload, decode_search_payload, encode_search_payload
from ._service_types import SEARCH_FEATURES, DhtEngine, Tally
from ._store import ValueStore

__all__ = ["DirectRequests", "OperationState", "RequestTag", "SearchItems", "ServiceHost"]

log = logging.getLogger(__name__)


@attrs.frozen
class RequestTag:
    """What a direct request was sent for: which operation and what was asked."""

    op: int
    keywords: frozenset[bytes] = frozenset()
    count: int = 0  # entries in a PUBLISH
    remote: Remote | None = None  # set by send, for a retry
    announcement: Announcement | None = None
    attempt: int = 1  # 1 for the first send


class OperationState(Protocol):
    """The counters of an operation that sending a request updates."""

    outstanding: int
    messages: int


class ServiceHost(Protocol):
    """What the operations and the answering side read of the service (its settings and parts)."""

    engine: DhtEngine
    values: ValueStore[PublicKey]
    keywords: KeywordStore
    k: int
    query_fanout: int
    results_per_peer: int
    max_results: int
    request_timeout: float
    attempts: int
    operation_timeout: float
    tally: Tally
    requests: DirectRequests
    search_items: SearchItems


class DirectRequests:
    """Direct requests in flight, by (peer, sequence), and what each was sent for."""

    def __init__(self, host: ServiceHost) -> None:
        self._host = host
        self._pending: dict[tuple[PublicKey, int], RequestTag] = {}
        self.owner: Behaviour | None = None  # the behaviour the engine delivers answers to

    def send(self, op: OperationState, remote: Remote, announcement: Announcement, tag: RequestTag, now: float) -> bool:
        """Send ``announcement`` to ``remote`` for ``op``; False when the engine cannot."""
        host = self._host
        try:
            sequence = host.engine.request(
                remote.public_key,
                announcement,
                now,
                endpoints=remote.endpoints,
                relay=remote.relay,
                owner=self.owner,
                timeout=host.request_timeout,
            )
        except EncodeError:  # cannot happen with the payload bounds; never let it stop the node
            log.exception("request to %s not encodable", remote.public_key)
            sequence = None
        if sequence is None:
            return False
        self._pending[(remote.public_key, sequence)] = attrs.evolve(tag, remote=remote, announcement=announcement)
        op.outstanding += 1
        op.messages += 1
        return True

    def retry(self, op: OperationState, event: RequestTimedOut, tag: RequestTag, now: float) -> None:
        """Send a request that timed out unanswered again, up to ``attempts`` times in all."""
        if not event.answered and tag.attempt < self._host.attempts and tag.remote and tag.announcement:
            self._host.tally.retries += 1
            self.send(op, tag.remote, tag.announcement, attrs.evolve(tag, attempt=tag.attempt + 1), now)

    def match(self, event: EngineEvent) -> RequestTag | None:
        """What a direct request was sent for, when ``event`` answers one (matched by peer and sequence)."""
        if not isinstance(event, ResponseReceived | RequestTimedOut):
            return None
        key = (event.peer, event.sequence)
        if isinstance(event, RequestTimedOut) or event.response.sequence_last:
            return self._pending.pop(key, None)
        return self._pending.get(key)


class SearchItems:
    """Keyword-search extension items: who can take them, building and reading them."""

    def __init__(self, engine: DhtEngine, tally: Tally) -> None:
        self._engine, self._tally = engine, tally

    def searchable(self, key: PublicKey) -> bool:
        """The peer is connected and announces both search feature bits."""
        info = self._engine.peer(key)
        return info is not None and info.features & SEARCH_FEATURES == SEARCH_FEATURES

    def announcement(self, payload: SearchPayload) -> Announcement:
        """An Announcement carrying ``payload`` as its keyword-search item."""
        items: dict[int, bytes] = {ExtensionType.KEYWORD_SEARCH: encode_search_payload(payload)}
        return Announcement(features=self._engine.features, extension=encode_extensions(items))

    def payload(self, extension: bytes) -> SearchPayload | None:
        """The keyword-search item of a Response's extension field; None if absent or bad (counted)."""
        try:
            raw = decode_extensions(extension).get(ExtensionType.KEYWORD_SEARCH)
            return None if raw is None else decode_search_payload(raw)
        except DecodeError:
            self._tally.bad_search_payloads += 1
            return None
