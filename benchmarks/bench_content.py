"""Content benchmark: each figure next to a baseline measured in the same run.

* a verified download (merkle tree, every fragment checked, whole-file hash, state persisted per
  fragment) through the download manager from an in-memory source, against the bare work of
  hashing the same bytes and writing them to a file once (best of three, interleaved);
* the fair keyword store against the plain keyword store, publishing the same entries.

Run: .venv/bin/python benchmarks/bench_content.py
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import blake3
import trio

from peernet.downloads import DownloadManager, DownloadStatus, MemorySource
from peernet_chain import MerkleTree, fragment_size
from peernet_dht import FairKeywordStore, KeywordEntry, KeywordStore
from peernet_proto import PrivateKey

SIZE = 64 << 20
ENTRIES = 100_000


async def _download(directory: Path, content: bytes) -> float:
    peers = [PrivateKey.generate().public_key for _ in range(3)]
    file_hash = blake3.blake3(content).digest()
    root = MerkleTree.from_bytes(content, fragment_size(len(content))).root_hash
    manager = DownloadManager(MemorySource({p: {file_hash: content} for p in peers}), directory / "state.json")
    start = time.perf_counter()
    download_id = manager.start(file_hash, len(content), peers, directory, "file.bin", merkle_root=root)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        while (info := manager.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
            await manager.wait_changed()
        nursery.cancel_scope.cancel()
    assert info is not None and info.status is DownloadStatus.FINISHED
    return time.perf_counter() - start


def _baseline(directory: Path, content: bytes) -> float:
    start = time.perf_counter()
    blake3.blake3(content).digest()
    with open(directory / "baseline.bin", "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    return time.perf_counter() - start


def _entries() -> list[KeywordEntry]:
    return [
        KeywordEntry(
            hashlib.sha256(b"%d" % (n % 5000)).digest(),
            n.to_bytes(16, "big"),
            b"\x02" + hashlib.sha256(b"o%d" % (n % 500)).digest(),
            bytes(32),
            n,
            "",
        )
        for n in range(ENTRIES)
    ]


def _publish(store: KeywordStore, entries: list[KeywordEntry]) -> float:
    start = time.perf_counter()
    for offset in range(0, len(entries), 100):
        store.publish(entries[offset : offset + 100], 0.0)
    return time.perf_counter() - start


def main() -> None:
    content = os.urandom(SIZE)
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        baseline = elapsed = float("inf")
        for round_ in range(3):  # best of three, interleaved
            baseline = min(baseline, _baseline(directory, content))
            run = directory / f"run{round_}"
            run.mkdir()
            elapsed = min(elapsed, trio.run(_download, run, content))
    mib = SIZE / (1 << 20)
    print(f"verified download of {mib:.0f} MiB: {elapsed:.3f} s ({mib / elapsed:.0f} MiB/s)")
    print(
        f"  baseline, hash + write once:  {baseline:.3f} s ({mib / baseline:.0f} MiB/s), ratio {elapsed / baseline:.1f}"
    )
    entries = _entries()
    plain = min(_publish(KeywordStore(), entries) for _ in range(3))
    fair = min(_publish(FairKeywordStore(max_per_publisher=1000), entries) for _ in range(3))
    print(f"fair keyword store, {ENTRIES} entries: {fair:.3f} s ({ENTRIES / fair:,.0f}/s)")
    print(f"  baseline, plain keyword store: {plain:.3f} s ({ENTRIES / plain:,.0f}/s), ratio {fair / plain:.2f}")


if __name__ == "__main__":
    main()
