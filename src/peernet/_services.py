"""The content node: what joins a running :class:`~peernet._node.Node` to its
:class:`~peernet._content.NodeContent`.

* Chain sync: every peer's announced blockchain (version, height) is compared with what was seen
  before; a change fetches the chain into the bounded cache (the policy decides, a few at once)
  and re-indexes it.
* Publishing: own files go to the network keyword search when shared (the DHT service re-publishes
  them before they expire) and are withdrawn when unshared.
* Verified search: network hits count only once the owner's chain (fetched if needed) holds the
  file with that hash and size; hits of the local index (own and cached chains) are added.
* Downloads: a :class:`~peernet.downloads.DownloadManager` over the transfer layer (pieces checked
  against merkle trees from peers with the extension, :mod:`peernet._merkle_ext`), its state in
  ``<data>/downloads.json`` so downloads resume after a restart.
* Known peers: saved to ``<data>/peers.json`` every 5 minutes and at stop, contacted at start.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
import trio

from peernet_chain import BlockSource, MerkleTree
from peernet_dht import NetworkHit, SearchResult
from peernet_proto import InvalidKeyError, PeernetError, PublicKey

from ._catalog import ChainFile, files_of, indexed_file
from ._content import NodeContent
from ._merkle_ext import MerkleHandler, MerkleTrees
from ._node import Node
from ._state import KnownPeer, load_known_peers, save_known_peers
from ._transfer_adapters import PeerBlockSource, TransferRangeSource
from ._verify import CandidateHit
from .downloads import RUN_BYTES, DownloadManager, DownloadPathError, DownloadStatus

__all__ = ["DOWNLOADS_FILE", "ContentService", "FileNotFoundOnNetworkError"]

log = logging.getLogger(__name__)

DOWNLOADS_FILE: Final = "downloads.json"
SYNC_INTERVAL: Final = 1.0
MAX_SYNCS: Final = 4
MAX_SEEN: Final = 20_000
LOCATE_TIMEOUT: Final = 6.0
REFRESH_TIMEOUT: Final = 3.0
PEERS_FILE: Final = "peers.json"
MAX_CONTACTED: Final = 64  # known peers contacted at start
SAVE_PEERS_INTERVAL: Final = 300.0


class FileNotFoundOnNetworkError(PeernetError):
    """No chain known to this node publishes the requested file (local error)."""


class ContentService:
    """Chain sync, publishing, verified search and downloads of a node with content."""

    def __init__(self, node: Node, content: NodeContent, *, sync_interval: float = SYNC_INTERVAL) -> None:
        self.node, self.content = node, content
        self.client = node.transfer_client
        self.sync_interval = sync_interval
        content.verifier.locator = self
        # Merkle trees: served from the warehouse, asked of peers so every piece is checked on arrival.
        self.merkle = MerkleTrees(node.engine, node.runner.poke)
        node.engine.register(self.merkle)
        node.engine.handler = MerkleHandler(node.engine.handler, content.tree_of)
        source = TransferRangeSource(self.client, trees=self._tree)
        self.downloads = DownloadManager(source, content.data_dir / DOWNLOADS_FILE, run_bytes=RUN_BYTES)
        self._seen: dict[PublicKey, tuple[int, int]] = {}
        self._syncing: set[PublicKey] = set()
        self._published: dict[bytes, bytes] = {}  # own file ID -> content hash, as last published
        self._publish_wanted = True
        self._published_to = 0
        content.chain.watch(lambda _state: self._want_publish())

    def _want_publish(self) -> None:
        self._publish_wanted = True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled (with the node running)."""
        restored = self.downloads.load()
        if restored:
            log.info("%d downloads restored", restored)
        self._contact_known_peers()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.downloads.run)
                nursery.start_soon(self._sync_loop, nursery)
                nursery.start_soon(self._publish_loop)
                nursery.start_soon(self._save_peers_loop)
                task_status.started()
        finally:
            self._save_known_peers()

    # ---- known peers ---------------------------------------------------------------------------

    def _contact_known_peers(self) -> None:
        """Contact the peers known from the last run (besides the root peers)."""
        engine = self.node.engine
        peers = load_known_peers(self.content.data_dir / PEERS_FILE)[:MAX_CONTACTED]
        for peer in peers:
            engine.contact(peer.key, peer.endpoints, trio.current_time())
        if peers:
            self.node.runner.poke()
            log.info("contacting %d peers known from the last run", len(peers))

    def _save_known_peers(self) -> None:
        now = time.time()
        peers = [KnownPeer(p.public_key, tuple(c[0] for c in p.connections), now)
                 for p in self.node.engine.peers() if p.connections]
        try:
            save_known_peers(self.content.data_dir / PEERS_FILE, peers)
        except OSError as error:
            log.warning("known peers not saved: %s", error)

    async def _save_peers_loop(self) -> None:
        while True:
            await trio.sleep(SAVE_PEERS_INTERVAL)
            self._save_known_peers()

    # ---- chain sync ----------------------------------------------------------------------------

    async def _sync_loop(self, nursery: trio.Nursery) -> None:
        limiter = trio.CapacityLimiter(MAX_SYNCS)
        while True:
            peers = self.node.engine.peers()
            if len(self._seen) > MAX_SEEN:
                current = {p.public_key for p in peers}
                self._seen = {k: v for k, v in self._seen.items() if k in current}
            for info in peers:
                state = (info.blockchain_version, info.blockchain_height)
                key = info.public_key
                if not info.blockchain_height or self._seen.get(key) == state or key in self._syncing:
                    continue
                self._seen[key] = state
                self._syncing.add(key)
                nursery.start_soon(self._sync, key, state, limiter)
            await trio.sleep(self.sync_interval)

    async def _sync(self, owner: PublicKey, state: tuple[int, int], limiter: trio.CapacityLimiter) -> None:
        try:
            async with limiter:
                source = PeerBlockSource(self.client, owner)
                result = await self.content.on_chain_state(source, owner, state[0], state[1], trio.current_time())
                log.debug("chain of %s: %s", owner.hex()[:16], result.outcome)
        except (PeernetError, OSError) as error:
            log.info("chain of %s not fetched: %s", owner.hex()[:16], error)
            self._seen.pop(owner, None)  # tried again at the next round
        finally:
            self._syncing.discard(owner)

    async def locate(self, owner: PublicKey) -> tuple[BlockSource, int, int] | None:
        """A :class:`~peernet._verify.ChainLocator`: the owner as a connected peer (found through
        the DHT and contacted when not known yet) and its announced chain state."""
        engine = self.node.engine
        info = engine.peer(owner)
        if info is not None:
            await self._refresh_state(owner)
            info = engine.peer(owner)
        if info is None or not info.blockchain_height:
            with trio.move_on_after(LOCATE_TIMEOUT):
                if info is None:
                    remote = await self.node.find_peer(owner.node_id)
                    if remote is None or not remote.endpoints:
                        return None
                    engine.contact(owner, remote.endpoints, trio.current_time())
                    self.node.runner.poke()
                while info is None or not info.blockchain_height:
                    await trio.sleep(0.1)
                    info = engine.peer(owner)
        if info is None or not info.blockchain_height:
            return None
        return PeerBlockSource(self.client, owner), info.blockchain_version, info.blockchain_height

    async def _refresh_state(self, owner: PublicKey) -> None:
        """Ask a connected owner for its current chain state (its Response carries it): a search
        hit may be newer than the state it last announced."""
        engine = self.node.engine
        sequences = engine.send_announcement(owner, engine.announcement(), trio.current_time())
        self.node.runner.poke()
        with trio.move_on_after(REFRESH_TIMEOUT):
            while any(engine.requests.in_use(owner, sequence) for sequence in sequences):
                await trio.sleep(0.02)

    # ---- publishing ----------------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        while True:
            peers = len(self.node.engine)
            if self._publish_wanted or (self._published and peers > self._published_to and self._published_to < 8):
                self._publish_wanted = False
                self._published_to = peers
                await self._publish()
            await trio.sleep(1.0)

    async def _publish(self) -> None:
        """Publish new or changed own files, withdraw unshared ones."""
        own = self.content.owner
        files = {f.record.id.bytes: f for f in files_of(own, self.content.cache, self.content.chain)}
        service = self.node.dht.service
        for file_id in [i for i in self._published if i not in files]:
            service.withdraw(own.to_bytes(), file_id)
            del self._published[file_id]
        fresh = [f for i, f in files.items() if self._published.get(i) != f.record.hash]
        if not self._published_to and not fresh:
            return
        batch = list(files.values()) if self._published_to < 8 else fresh
        if not batch:
            return
        try:
            result = await self.node.publish_files([indexed_file(f) for f in batch])
        except ValueError as error:
            log.warning("own files not published: %s", error)
            return
        for file in batch:
            self._published[file.record.id.bytes] = file.record.hash
        log.info("published %d own files (%d keyword entries) to %d peers", len(batch), result.entries, result.peers)

    # ---- search --------------------------------------------------------------------------------

    async def search(self, text: str) -> SearchResult:
        """Network keyword search whose hits are verified against the owners' chains (fetched
        when needed), plus the local index's hits; unverifiable hits are dropped."""
        result = await self.node.dht.search(text)
        candidates = []
        for hit in result.hits:
            try:
                owner = PublicKey.from_bytes(hit.owner)
            except InvalidKeyError:
                continue
            candidates.append(CandidateHit(owner, uuid.UUID(bytes=hit.file_id), hit.file_hash, hit.size))
        report = await self.content.verify_hits(candidates, trio.current_time())
        verified = {(f.file.owner.to_bytes(), f.file.record.id.bytes): f.file for f in report.files}
        hits: list[NetworkHit] = []
        for hit in result.hits:
            file = verified.pop((hit.owner, hit.file_id), None)
            if file is not None:
                hits.append(attrs.evolve(hit, name=file.name, size=file.record.size, file_hash=file.record.hash))
        known = {hit.ref for hit in hits}
        for local in self.content.search_local(text):
            hit = network_hit(local.file, sources=local.shared_by)
            if hit.ref not in known:
                known.add(hit.ref)
                hits.append(hit)
        if report.dropped_total:
            log.info("search %r: %d hits dropped (%s)", text, report.dropped_total, dict(report.dropped))
        return attrs.evolve(result, hits=tuple(hits))

    # ---- downloads -----------------------------------------------------------------------------

    def find_file(self, file_hash: bytes, node_id: bytes | None = None) -> list[ChainFile]:
        """Chain records (own and cached chains) of the file ``file_hash``, of the owner with
        ``node_id`` when given."""
        content = self.content
        owners: Sequence[PublicKey] = [content.owner, *content.cache.owners()]
        found: list[ChainFile] = []
        for owner in owners:
            if node_id is not None and owner.node_id != node_id:
                continue
            found.extend(f for f in files_of(owner, content.cache, content.chain) if f.record.hash == file_hash)
        return found

    async def start_download(
        self, file_hash: bytes, node_id: bytes | None, directory: Path, name: str | None = None
    ) -> uuid.UUID:
        """Queue a verified download of ``file_hash`` from the peers whose chains publish it into
        ``directory`` (as ``name``, by default the published name). An unfinished download of the
        same file to the same place is continued instead (a finished one is reported). Raises
        :class:`FileNotFoundOnNetworkError` or :class:`~peernet.downloads.DownloadPathError`."""
        files = self.find_file(file_hash, node_id)
        if not files and node_id is not None:
            remote = await self.node.find_peer(node_id)
            if remote is not None:
                await self.locate_and_sync(remote.public_key)
                files = self.find_file(file_hash, node_id)
        if not files:
            raise FileNotFoundOnNetworkError(f"no known chain publishes {file_hash.hex()}")
        target_name = name or files[0].name or file_hash.hex()
        target = (Path(directory) / target_name).resolve()
        for info in self.downloads.list():
            if info.file_hash != file_hash or info.target != target:
                continue
            if info.status < DownloadStatus.CANCELED or (info.status == DownloadStatus.FINISHED and target.exists()):
                return info.id  # continued (after a restart, say), or already complete
        sources = [f.owner for f in files if f.owner != self.content.owner]
        if not sources:
            raise DownloadPathError("the file is our own")
        root = self._merkle_root(files)
        size = next(f.record.size for f in files if f.record.merkle_root == root)
        return self.downloads.start(file_hash, size, sources, directory, target_name, merkle_root=root)

    async def _tree(self, peer: PublicKey, file_hash: bytes) -> MerkleTree | None:
        root = self._merkle_root(self.find_file(file_hash))
        if root is None:
            return None
        size = next(f.record.size for f in self.find_file(file_hash) if f.record.merkle_root == root)
        return await self.merkle.tree(peer, file_hash, size, root)

    @staticmethod
    def _merkle_root(files: Sequence[ChainFile]) -> bytes | None:
        """The merkle root most records of the file agree on (a lying record cannot win alone)."""
        roots = Counter(f.record.merkle_root for f in files)
        return roots.most_common(1)[0][0] if roots else None

    async def locate_and_sync(self, owner: PublicKey) -> None:
        """Fetch ``owner``'s chain now (through :meth:`locate`)."""
        located = await self.locate(owner)
        if located is not None:
            source, version, height = located
            try:
                await self.content.on_chain_state(source, owner, version, height, trio.current_time())
            except (PeernetError, OSError) as error:
                log.info("chain of %s not fetched: %s", owner.hex()[:16], error)


def network_hit(file: ChainFile, *, sources: int = 1) -> NetworkHit:
    """A chain file in the shape of a network search hit."""
    return NetworkHit(
        owner=file.owner.to_bytes(),
        file_id=file.record.id.bytes,
        file_hash=file.record.hash,
        size=file.record.size,
        name=file.name,
        keywords=frozenset(),
        exact=False,
        sources=sources,
    )
