"""Answering Announcements: the Response with closest-peer records, values, extension items.

The DHT part (values, provider records, extension items such as keyword search) comes from the
engine's :class:`RequestHandler`; everything else from the peer table and the directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from ._announcement import Announcement, InfoStoreFile
from ._budget import answer_cost
from ._constants import ANNOUNCEMENT_HEADER_SIZE, EMBEDDED_FILE_HEADER_SIZE, MAX_PAYLOAD_SIZE, Command, Feature
from ._errors import DecodeError
from ._extensions import ExtensionType, decode_extensions, encode_extensions, encode_observed_address
from ._header import user_agent_bytes
from ._keys import PublicKey
from ._peers import Connection, Peer, is_local_address
from ._peertable import CLOSEST_PER_KEY
from ._response import EmbeddedFile, Hash2Peer, PeerRecord, Response
from ._transport import Endpoint

if TYPE_CHECKING:
    from ._engine import PeerEngine

__all__ = ["Answerer", "PeerDirectory", "RequestHandler"]


class PeerDirectory(Protocol):
    """Answers "which peers are closest to this key" (the DHT implements this)."""

    def closest(self, key: bytes, count: int, exclude: PublicKey) -> Sequence[PublicKey]:
        """Up to about ``count`` peers closest to ``key`` (more is fine: unusable ones are dropped)."""
        ...


class RequestHandler(Protocol):
    """What the DHT adds to answering an Announcement: values, provider records, extensions."""

    def find_value(self, key: bytes, requester: PublicKey, now: float) -> bytes | Sequence[PublicKey] | None:
        """The value itself (embedded in the Response), peers storing it, or None for a miss."""
        ...

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        """``requester`` says it stores these values."""
        ...

    def extension(
        self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float
    ) -> Mapping[int, bytes]:
        """Extension items answering a request's extension items (see ``_extensions``)."""
        ...


class Answerer:
    """Builds and sends the Response to every Announcement."""

    def __init__(self, engine: PeerEngine) -> None:
        self._engine = engine
        self._lookups = engine.limits.max_keys_answered  # directory lookups left for the current request

    def answer(self, peer: Peer, connection: Connection, sequence: int, request: Announcement, now: float) -> float:
        """Send the Response over the peer's current connection; returns the work units it cost
        (see ``_budget``), and remembers the peers it reported (a Traverse to them may follow)."""
        response = self.response_to(peer.public_key, request, connection.remote, now)
        outbox = self._engine.outbox
        payloads = response.encode()
        for payload in payloads:
            outbox.send_payload(peer, Command.RESPONSE, sequence, payload, patch_ports=True)
        self._engine.punching.reported(peer.public_key, response, now)
        return answer_cost(response, payloads)

    def response_to(self, requester: PublicKey, request: Announcement, remote: Endpoint, now: float) -> Response:
        """The Response to ``request`` from ``requester`` seen at ``remote``."""
        engine = self._engine
        local_request = is_local_address(remote[0])
        hash2peers: list[Hash2Peer] = []
        not_found: list[bytes] = []
        # The work one request causes is bounded: beyond ``max_keys_answered`` keys, no lookups in the
        # directory (those keys are answered as not found).
        self._lookups = engine.limits.max_keys_answered
        for key in ([requester.node_id] if request.find_self else []) + list(request.find_peer):
            records = self.closest_records(key, requester, request.features, local_request)
            if records:
                hash2peers.append(Hash2Peer(key, closest=records))
            else:
                not_found.append(key)
        user_agent = engine.config.user_agent if request.user_agent else ""
        files = self._find_values(requester, request, user_agent, local_request, hash2peers, not_found, now)
        if engine.handler is not None and request.info_store:
            engine.handler.info_store(requester, request.info_store, now)
        height, version = engine.blockchain
        return Response(
            features=engine.features,
            blockchain_height=height,
            blockchain_version=version,
            user_agent=user_agent,
            hash2peers=hash2peers,
            embedded_files=files,
            hashes_not_found=not_found,
            extension=self._extension_answer(requester, request, remote, now),
        )

    def _find_values(
        self,
        requester: PublicKey,
        request: Announcement,
        user_agent: str,
        local_request: bool,
        hash2peers: list[Hash2Peer],
        not_found: list[bytes],
        now: float,
    ) -> list[EmbeddedFile]:
        engine = self._engine
        handler = engine.handler
        files: list[EmbeddedFile] = []
        # What fits next to the header and the three counts (less than EMBEDDED_FILE_SIZE_MAX).
        room = (
            MAX_PAYLOAD_SIZE
            - ANNOUNCEMENT_HEADER_SIZE
            - len(user_agent_bytes(user_agent))
            - 6
            - EMBEDDED_FILE_HEADER_SIZE
        )
        for key in request.find_value:
            found = handler.find_value(key, requester, now) if handler is not None else None
            if isinstance(found, bytes):
                if len(found) <= room:
                    files.append(EmbeddedFile.of(found))
                    continue
                engine.counters.value_too_large += 1
                found = None  # unanswerable as a file: answer as a miss rather than not at all
            storing = engine.table.records(found or (), requester, request.features, local_request)
            # A miss answers with the closest peers (the reference answers "not found" only).
            closest = [] if storing else self.closest_records(key, requester, request.features, local_request)
            if storing or closest:
                hash2peers.append(Hash2Peer(key, storing=storing, closest=closest))
            else:
                not_found.append(key)
        return files

    def _extension_answer(self, requester: PublicKey, request: Announcement, remote: Endpoint, now: float) -> bytes:
        if not request.features & Feature.EXTENSIONS:
            return b""  # a reference peer: nothing after the last block
        engine = self._engine
        items: dict[int, bytes] = {ExtensionType.OBSERVED_ADDRESS: encode_observed_address(remote)}
        if request.extension and engine.handler is not None:
            try:
                asked = decode_extensions(request.extension)
            except DecodeError:
                engine.counters.bad_extension += 1
                asked = {}
            if asked:
                items.update(engine.handler.extension(requester, request.features, asked, now))
        return encode_extensions(items)

    def closest_records(
        self, key: bytes, requester: PublicKey, requester_features: int, local_request: bool
    ) -> list[PeerRecord]:
        """Records of the peers closest to ``key`` that the requester can use (none once the
        current request used up its lookups)."""
        if self._lookups <= 0:
            return []
        self._lookups -= 1
        candidates = self._engine.directory.closest(key, CLOSEST_PER_KEY, requester)
        return self._engine.table.records(candidates, requester, requester_features, local_request)
