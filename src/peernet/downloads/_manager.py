"""The download manager: a queue of downloads, several at once, pause / resume / cancel, restart.

The trio shell around :class:`~peernet.downloads.DownloadCore`. Every download writes into a
partial file next to its target (``.<name>.pndownload``, inside the target directory) at the
pieces' offsets; its state (pieces done, sources, status) is kept in one JSON file written
atomically on every status change and at most every ``persist_interval`` seconds while pieces
arrive, so after a restart :meth:`DownloadManager.load` resumes from what
is on disk (with a merkle tree, the pieces on disk are verified again first). When all pieces are
there the whole-file BLAKE3 hash is checked, and only then is the file linked to its target name;
an existing file is never replaced unless the download was started with ``overwrite``.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import blake3
import trio

from peernet_chain import MINIMUM_FRAGMENT_SIZE, MerkleTree
from peernet_proto import InvalidKeyError, PublicKey, RemoteProtocolError

from .._state import load_json, write_json_atomic
from ._core import DownloadCore, DownloadStatus, Progress
from ._paths import DownloadPathError, safe_target, temp_path
from ._source import RangeSource

__all__ = ["RUN_BYTES", "DownloadInfo", "DownloadManager"]

log = logging.getLogger(__name__)

_READ_CHUNK: Final = 1 << 20
MAX_DOWNLOADS: Final = 10_000
RUN_BYTES: Final = 1 << 20  # what the node asks per request: 4 pieces (Go senders slow down in longer transfers)


@attrs.frozen
class DownloadInfo:
    """A snapshot of one download for the API."""

    id: uuid.UUID
    file_hash: bytes
    name: str
    target: Path
    status: DownloadStatus
    progress: Progress
    sources: int
    rejected_pieces: int
    error: str = ""


@attrs.define
class _Download:
    core: DownloadCore
    target: Path
    overwrite: bool
    status: DownloadStatus = DownloadStatus.WAIT_METADATA
    error: str = ""
    scope: trio.CancelScope | None = None
    verify_on_start: bool = False
    ended_at: float | None = None  # clock time of reaching status 4 or 5 (not persisted)

    @property
    def temp(self) -> Path:
        """The partial file next to the target."""
        return temp_path(self.target)


class DownloadManager:
    """Runs downloads through a :class:`RangeSource`; state persisted in ``state_path``.

    :meth:`start` and :meth:`load` may be called before trio runs; the other methods use the
    ``clock`` (trio's by default) and are called from within the trio run that runs :meth:`run`.
    With ``run_bytes`` (e.g. :data:`RUN_BYTES`) one request fetches several consecutive pieces
    while there are enough missing for every worker and source; each piece is checked on its own.
    """

    def __init__(
        self,
        source: RangeSource,
        state_path: str | os.PathLike[str],
        *,
        max_active: int = 3,
        workers_per_download: int = 4,
        run_bytes: int = 0,
        swarm_timeout: float = 60.0,
        persist_interval: float = 1.0,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.source, self.state_path = source, Path(state_path)
        self.max_active, self.workers = max_active, workers_per_download
        self.run_bytes = run_bytes  # one request fetches up to this many bytes of consecutive pieces (0: one)
        self.clock, self.swarm_timeout, self.persist_interval = clock, swarm_timeout, persist_interval
        self._persisted_at = float("-inf")
        self._downloads: dict[uuid.UUID, _Download] = {}
        self._wake = trio.Event()
        self._changed = trio.Event()

    # --- API ------------------------------------------------------------------------------

    def start(
        self,
        file_hash: bytes,
        size: int,
        sources: Iterable[PublicKey],
        directory: str | os.PathLike[str],
        name: str,
        *,
        merkle_root: bytes | None = None,
        overwrite: bool = False,
    ) -> uuid.UUID:
        """Queue a download of ``name`` into ``directory``; raises :class:`DownloadPathError`."""
        if len(file_hash) != 32 or size < 0:
            raise ValueError("file hash must be 32 bytes and size not negative")
        if len(self._downloads) >= MAX_DOWNLOADS:
            raise DownloadPathError("too many downloads")
        target = safe_target(directory, name, overwrite=overwrite)
        if any(d.target == target and d.status < DownloadStatus.CANCELED for d in self._downloads.values()):
            raise DownloadPathError(f"{target} is already being downloaded")
        if merkle_root is None and size <= MINIMUM_FRAGMENT_SIZE:
            merkle_root = file_hash
        core = DownloadCore(uuid.uuid4(), file_hash, size, sources, merkle_root=merkle_root)
        self._downloads[core.id] = _Download(core, target, overwrite)
        self._persist()
        self._wake.set()
        return core.id

    def pause(self, download_id: uuid.UUID) -> bool:
        """Pause an active download (status 2 only)."""
        download = self._downloads.get(download_id)
        if download is None or download.status is not DownloadStatus.ACTIVE:
            return False
        self._stop(download, DownloadStatus.PAUSE)
        return True

    def resume(self, download_id: uuid.UUID) -> bool:
        """Resume a paused download (status 3 only)."""
        download = self._downloads.get(download_id)
        if download is None or download.status is not DownloadStatus.PAUSE:
            return False
        download.status = DownloadStatus.WAIT_METADATA
        self._persist()
        self._wake.set()
        return True

    def cancel(self, download_id: uuid.UUID) -> bool:
        """Cancel a download below status 4; its partial file is removed."""
        download = self._downloads.get(download_id)
        if download is None or download.status >= DownloadStatus.CANCELED:
            return False
        download.error = "canceled"
        self._stop(download, DownloadStatus.CANCELED)
        download.temp.unlink(missing_ok=True)
        return True

    def add_sources(self, download_id: uuid.UUID, peers: Iterable[PublicKey]) -> int:
        """More peers that have the file (e.g. found through the DHT); returns how many are new."""
        download = self._downloads.get(download_id)
        if download is None or download.status >= DownloadStatus.CANCELED:
            return 0
        added = download.core.add_sources(peers)
        if added:
            self._persist()
            self._notify()
        return added

    def info(self, download_id: uuid.UUID) -> DownloadInfo | None:
        """The download's status and progress, or None for an unknown ID."""
        download = self._downloads.get(download_id)
        if download is None:
            return None
        core = download.core
        return DownloadInfo(
            core.id,
            core.file_hash,
            download.target.name,
            download.target,
            download.status,
            core.progress(self.clock()),
            len(core.sources),
            core.rejected,
            download.error,
        )

    def list(self) -> list[DownloadInfo]:
        """Every known download."""
        return [info for info in map(self.info, list(self._downloads)) if info is not None]

    def forget_ended(self, keep: float = 3600.0) -> int:
        """Drop downloads that ended (finished, canceled or failed) more than ``keep`` seconds ago;
        returns how many went. Entries restored by :meth:`load` count from the restart."""
        now = self.clock()
        gone = [
            download_id
            for download_id, download in self._downloads.items()
            if download.status >= DownloadStatus.CANCELED and (download.ended_at or now) + keep <= now
        ]
        for download_id in gone:
            del self._downloads[download_id]
        for download in self._downloads.values():
            if download.status >= DownloadStatus.CANCELED and download.ended_at is None:
                download.ended_at = now
        if gone:
            self._persist()
        return len(gone)

    async def wait_changed(self) -> None:
        """Return after the next status change of any download."""
        await self._changed.wait()

    # --- running --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run queued downloads (at most ``max_active`` at once) until cancelled."""
        async with trio.open_nursery() as nursery:
            task_status.started()
            while True:
                self._wake = trio.Event()
                running = sum(1 for d in self._downloads.values() if d.scope is not None)
                for download in list(self._downloads.values()):
                    if running >= self.max_active:
                        break
                    if download.scope is None and download.status < DownloadStatus.PAUSE:
                        download.scope = trio.CancelScope()
                        nursery.start_soon(self._run_one, download)
                        running += 1
                await self._wake.wait()

    async def _run_one(self, download: _Download) -> None:
        assert download.scope is not None
        try:
            with download.scope:
                await self._download(download)
        except (OSError, RemoteProtocolError, DownloadPathError) as exc:
            log.warning("download %s failed: %s", download.core.id, exc)
            download.temp.unlink(missing_ok=True)
            download.error = str(exc)
            self._set_status(download, DownloadStatus.CANCELED)
        finally:
            download.scope = None
            self._wake.set()

    async def _download(self, download: _Download) -> None:
        core = download.core
        self._set_status(download, DownloadStatus.WAIT_METADATA)
        await self._fetch_tree(download)
        if download.verify_on_start:
            self._verify_on_disk(download)
            download.verify_on_start = False
        if not core.sources:
            self._set_status(download, DownloadStatus.WAIT_SWARM)
            with trio.move_on_after(self.swarm_timeout):
                while not core.sources:
                    await self._changed.wait()
            if not core.sources:
                download.error = "no source"
                self._set_status(download, DownloadStatus.CANCELED)
                return
            await self._fetch_tree(download)
        self._set_status(download, DownloadStatus.ACTIVE)
        with open(download.temp, "ab"):
            pass  # create without truncating what is already there
        with open(download.temp, "r+b") as out:
            os.truncate(out.fileno(), core.size)
            async with trio.open_nursery() as nursery:
                for _ in range(min(self.workers, core.piece_count)):
                    nursery.start_soon(self._worker, download, out.fileno())
            os.fsync(out.fileno())
        if not core.complete:
            download.error = "no source could deliver the file"
            self._set_status(download, DownloadStatus.CANCELED)
            return
        await self._finish(download)

    async def _fetch_tree(self, download: _Download) -> None:
        core = download.core
        if core.tree is not None or core.merkle_root is None:
            return
        if core.size <= MINIMUM_FRAGMENT_SIZE:
            core.use_tree(MerkleTree(core.size, MINIMUM_FRAGMENT_SIZE, core.merkle_root))
            return
        for peer in list(core.sources):
            try:
                tree = await self.source.merkle_tree(peer, core.file_hash)
            except (OSError, RemoteProtocolError):
                continue
            if tree is not None and core.use_tree(tree):
                return

    async def _worker(self, download: _Download, fd: int) -> None:
        core = download.core
        while not core.complete:
            planned = core.next_run(self._run_length(core))
            if planned is None:
                if not core.in_flight:
                    return  # no source left for what is missing
                await self._changed.wait()
                continue
            run, peer = planned
            offset = core.piece_range(run[0])[0]
            length = sum(core.piece_range(index)[1] for index in run)
            try:
                data = await self.source.read_range(peer, core.file_hash, offset, length)
            except (OSError, RemoteProtocolError) as exc:
                log.info("pieces %d-%d of %s from %s failed: %s", run[0], run[-1], core.id, peer.hex()[:16], exc)
                for index in run:
                    core.piece_failed(index, peer, drop_source=True)
                self._notify()
                continue
            self._store_run(download, fd, run, peer, memoryview(data), offset)
            self._notify()

    def _run_length(self, core: DownloadCore) -> int:
        """Pieces per request: up to ``run_bytes``, and few enough that every worker and source
        still gets a share of what is missing."""
        missing = core.piece_count - len(core.done) - len(core.in_flight)
        share = missing // max(1, self.workers * len(core.sources))
        return max(1, min(self.run_bytes // max(1, core.piece_size), share))

    def _store_run(self, download: _Download, fd: int, run: Sequence[int], peer: PublicKey, data: memoryview,
                   offset: int) -> None:
        """Check each piece of a fetched run and write the good ones."""
        core = download.core
        for index in run:
            start, length = core.piece_range(index)
            piece = bytes(data[start - offset : start - offset + length])
            if core.piece_arrived(index, peer, piece, self.clock()):
                os.pwrite(fd, piece, start)
            else:
                log.info("piece %d of %s from %s rejected", index, core.id, peer.hex()[:16])
        now = self.clock()
        if now >= self._persisted_at + self.persist_interval:
            self._persisted_at = now
            self._persist()

    def _verify_on_disk(self, download: _Download) -> None:
        """Keep only the pieces on disk that still verify (a tree is needed; else keep them all)."""
        core = download.core
        if core.tree is None or not download.temp.exists():
            core.restore(core.done if download.temp.exists() else ())
            return
        good = []
        with open(download.temp, "rb") as source:
            for index in sorted(core.done):
                offset, length = core.piece_range(index)
                if core.verify_piece(index, os.pread(source.fileno(), length, offset)):
                    good.append(index)
        core.restore(good)

    async def _finish(self, download: _Download) -> None:
        hasher = blake3.blake3()
        with open(download.temp, "rb") as source:
            while chunk := source.read(_READ_CHUNK):
                hasher.update(chunk)
                await trio.sleep(0)
        if hasher.digest() != download.core.file_hash:
            download.temp.unlink(missing_ok=True)
            download.core.reset()
            download.error = "file hash does not match"
            self._set_status(download, DownloadStatus.CANCELED)
            return
        self._place(download)
        self._set_status(download, DownloadStatus.FINISHED)

    @staticmethod
    def _place(download: _Download) -> None:
        target = download.target
        if download.overwrite:
            os.replace(download.temp, target)
            return
        try:
            os.link(download.temp, target)  # fails if the target appeared meanwhile
        except FileExistsError as exc:
            raise DownloadPathError(f"{target} exists") from exc
        download.temp.unlink()

    # --- state ----------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _set_status(self, download: _Download, status: DownloadStatus) -> None:
        download.status = status
        if status >= DownloadStatus.CANCELED and download.ended_at is None:
            download.ended_at = self.clock()
        self._persist()
        self._notify()

    def _stop(self, download: _Download, status: DownloadStatus) -> None:
        if download.scope is not None:
            download.scope.cancel()
        download.core.in_flight.clear()
        self._set_status(download, status)

    def _persist(self) -> None:
        write_json_atomic(self.state_path, {"version": 1, "downloads": [_encode(d) for d in self._downloads.values()]})

    def load(self) -> int:
        """Restore persisted downloads (call before :meth:`run`); returns how many were restored.
        Interrupted active downloads are queued again; their pieces on disk are re-verified."""
        data = load_json(self.state_path, {})
        items = data.get("downloads", []) if isinstance(data, dict) else []
        for item in items[:MAX_DOWNLOADS]:
            download = _decode(item)
            if download is None or download.core.id in self._downloads:
                continue
            if download.status < DownloadStatus.PAUSE:
                download.status = DownloadStatus.WAIT_METADATA
                download.verify_on_start = True
            self._downloads[download.core.id] = download
        self._wake.set()
        return len(self._downloads)


def _encode(download: _Download) -> dict[str, Any]:
    core = download.core
    return {
        "id": str(core.id),
        "hash": core.file_hash.hex(),
        "size": core.size,
        "root": core.merkle_root.hex() if core.merkle_root is not None else None,
        "target": str(download.target),
        "overwrite": download.overwrite,
        "status": int(download.status),
        "error": download.error,
        "sources": [peer.hex() for peer in core.sources],
        "piece_size": core.piece_size,
        "done": sorted(core.done),
    }


def _decode(item: Any) -> _Download | None:
    try:
        target = Path(str(item["target"]))
        root = bytes.fromhex(item["root"]) if item["root"] is not None else None
        sources = [PublicKey.from_hex(str(text)) for text in item["sources"][:1000]]
        core = DownloadCore(
            uuid.UUID(str(item["id"])), bytes.fromhex(item["hash"]), int(item["size"]), sources, merkle_root=root
        )
        core.piece_size = int(item["piece_size"])
        if core.piece_size <= 0 or len(core.file_hash) != 32 or core.size < 0:
            return None
        core.restore(int(index) for index in item["done"][: core.piece_count])
        status = DownloadStatus(int(item["status"]))
        return _Download(core, target, bool(item["overwrite"]), status, str(item["error"]))
    except (InvalidKeyError, KeyError, TypeError, ValueError):
        log.warning("skipping a persisted download that does not parse")
        return None
