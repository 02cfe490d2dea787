"""The merkle tree extension on the node (feature bit 5, extension item 3; see
:mod:`peernet_chain._merkle_wire`): answering tree requests from the warehouse, and asking peers
for the tree of a file so that a download checks every 256 KiB piece as it arrives.

:class:`MerkleHandler` wraps the engine's request handler (the DHT service) and adds the answer
to item 3; :class:`MerkleTrees` is a behaviour that sends the requests (one Announcement per page
of leaves) and takes their Responses. Trees are accepted only when they rebuild to the merkle root
of the owner's signed file record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import trio

from peernet_chain import (
    EXTENSION_MERKLE,
    FEATURE_MERKLE_TREES,
    MerkleTree,
    MerkleTreePage,
    MerkleUnavailable,
    TreeAssembler,
    answer_merkle_request,
    decode_merkle_message,
    encode_merkle_message,
)
from peernet_proto import (
    BaseBehaviour,
    DecodeError,
    EngineEvent,
    Feature,
    InfoStoreFile,
    PeerEngine,
    PublicKey,
    RequestHandler,
    RequestTimedOut,
    ResponseReceived,
    decode_extensions,
    encode_extensions,
)

__all__ = ["MerkleHandler", "MerkleTrees"]

log = logging.getLogger(__name__)

MAX_PAGES: Final = 64  # pages of one tree (MAX_LEAVES_PER_PAGE leaves each)
PAGE_TIMEOUT: Final = 6.0


class MerkleHandler:
    """The engine's :class:`~peernet_proto.RequestHandler`: ``inner``'s answers plus item 3."""

    def __init__(self, inner: RequestHandler | None, tree_of: Callable[[bytes], MerkleTree | None]) -> None:
        self.inner, self.tree_of = inner, tree_of

    def find_value(self, key: bytes, requester: PublicKey, now: float) -> bytes | Sequence[PublicKey] | None:
        """Delegated."""
        return None if self.inner is None else self.inner.find_value(key, requester, now)

    def info_store(self, requester: PublicKey, records: Sequence[InfoStoreFile], now: float) -> None:
        """Delegated."""
        if self.inner is not None:
            self.inner.info_store(requester, records, now)

    def extension(
        self, requester: PublicKey, features: int, items: Mapping[int, bytes], now: float
    ) -> Mapping[int, bytes]:
        """``inner``'s items, and the answer to a merkle tree request."""
        answers = dict(self.inner.extension(requester, features, items, now)) if self.inner is not None else {}
        value = items.get(EXTENSION_MERKLE)
        if value is not None:
            try:
                answers[EXTENSION_MERKLE] = answer_merkle_request(value, self.tree_of)
            except DecodeError as error:
                log.debug("bad merkle request from %s: %s", requester.hex()[:16], error)
        return answers


class MerkleTrees(BaseBehaviour):
    """Asks peers announcing feature bit 5 for file trees; sets the bit on our announcements."""

    feature_bits = FEATURE_MERKLE_TREES

    def __init__(self, engine: PeerEngine, poke: Callable[[], None]) -> None:
        self.engine, self.poke = engine, poke
        self._waiting: dict[tuple[PublicKey, int], trio.MemorySendChannel[bytes | None]] = {}

    def handle_event(self, event: EngineEvent, now: float) -> None:
        """Responses and timeouts of our requests."""
        if isinstance(event, ResponseReceived):
            channel = self._waiting.pop((event.peer, event.sequence), None)
            if channel is not None:
                try:
                    value = decode_extensions(event.response.extension).get(EXTENSION_MERKLE)
                except DecodeError:
                    value = None
                channel.send_nowait(value)
        elif isinstance(event, RequestTimedOut):
            channel = self._waiting.pop((event.peer, event.sequence), None)
            if channel is not None:
                channel.send_nowait(None)

    def supports(self, peer: PublicKey) -> bool:
        """Whether ``peer`` announces the extension."""
        info = self.engine.peer(peer)
        wanted = FEATURE_MERKLE_TREES | Feature.EXTENSIONS
        return info is not None and info.features & wanted == wanted

    async def tree(self, peer: PublicKey, file_hash: bytes, size: int, merkle_root: bytes) -> MerkleTree | None:
        """The verified tree of a file from ``peer``, or None (not supported, unavailable, invalid)."""
        if not self.supports(peer):
            return None
        assembler = TreeAssembler(file_hash, size, merkle_root)
        for _ in range(MAX_PAGES):
            request = assembler.next_request()
            if request is None:
                return None
            value = await self._ask(peer, encode_merkle_message(request))
            if value is None:
                return None
            try:
                message = decode_merkle_message(value)
                if isinstance(message, MerkleUnavailable) or not isinstance(message, MerkleTreePage):
                    return None
                tree = assembler.add(message)
            except DecodeError as error:
                log.info("merkle tree of %s from %s refused: %s", file_hash.hex()[:16], peer.hex()[:16], error)
                return None
            if tree is not None:
                return tree
        return None

    async def _ask(self, peer: PublicKey, value: bytes) -> bytes | None:
        engine = self.engine
        announcement = engine.announcement(extension=encode_extensions({EXTENSION_MERKLE: value}))
        sequence = engine.request(peer, announcement, trio.current_time(), owner=self, timeout=PAGE_TIMEOUT)
        if sequence is None:
            return None
        send, receive = trio.open_memory_channel[bytes | None](1)
        self._waiting[(peer, sequence)] = send
        self.poke()
        try:
            with trio.move_on_after(PAGE_TIMEOUT + 1):
                return await receive.receive()
            return None
        finally:
            self._waiting.pop((peer, sequence), None)
