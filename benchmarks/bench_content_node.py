"""Content node benchmark: each figure next to a baseline measured in the same run.

1. share -> found: time from ``share`` on one node to the file being found by verified search on
   others, in a network of content nodes on the in-memory network under trio's MockClock
   (simulated seconds, and wall seconds of the whole run of searchers). Baselines: a verified
   search of a file published long before (steady state), and the network keyword search alone
   (no verification), by the same searchers.
2. download: one file over the in-memory network (MockClock, so the wall time is the CPU cost of
   the transfer stack) from 1 and from 3 sources, against the bare cost of hashing the same bytes
   and writing them to a file once.
3. memory of cached chains: tracemalloc growth of a NodeContent (LMDB cache + local index) fed
   ``--chains`` signed chains of 1-3 blocks with 10-50 file records each through its chain-sync
   hook, against the raw size of their blocks (and the RSS growth, which also holds tracemalloc's
   own bookkeeping and the LMDB pages written).

Run: .venv/bin/python benchmarks/bench_content_node.py [--nodes 200 --searchers 20] [--json]
(defaults: 60 nodes, 16 MiB, 1000 chains, about one CPU minute; 200 nodes take about three more).

Figures of 2026-11-26 (2 shared cores, load about 2):
* 200 nodes, 20 searchers, sim seconds: fresh share found after median 1.16 s / p95 1.24 s; steady
  state verified search 0.30 / 0.46 s; keyword search alone 0.20 / 0.24 s (start-up 164 s wall).
  60 nodes: 1.08 / 1.08, 0.26 / 0.26, 0.20 / 0.20.
* 16 MiB: 1 source 9.5 MB/s, 3 sources 6.6 MB/s (wall; both 1.2 s sim); hash + write 310 MB/s.
* 1000 chains (2029 blocks, 59,858 records, 9.8 MiB raw): Python heap +139 MiB (14x), of which the
  local index 87 MiB and public keys 29 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import blake3
import trio
from trio.testing import MockClock

from peernet import Node
from peernet._content import NodeContent
from peernet._services import ContentService
from peernet.downloads import DownloadStatus
from peernet_chain import Block, FetchRange, FileRecord, FileTag, block_hash, encode_block, encode_file_records
from peernet_proto import PrivateKey, PublicKey, RootPeer, hash_data
from peernet_proto.testing import MemoryNetwork

MIB = 1 << 20


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _start_nodes(
    nursery: trio.Nursery, network: MemoryNetwork, count: int, tmp: Path, seed: int
) -> list[ContentService]:
    rng = random.Random(seed)
    services: list[ContentService] = []
    roots: list[RootPeer] = []
    for index in range(count):
        host = network.add_host([f"10.{index // 250}.{index % 250}.1"], ports=[112])
        key = PrivateKey(rng.getrandbits(255).to_bytes(32, "big"))
        content = NodeContent(tmp / f"n{index}", key)
        nursery.start_soon(_close_at_end, content)
        node = Node(key, host, user_agent=f"bench/{index}", root_peers=roots, content=content,
                    rng=random.Random(seed * 1000 + index), refresh_interval=30.0)
        service = ContentService(node, content)
        await nursery.start(node.run)
        await nursery.start(service.run)
        services.append(service)
        if not roots:
            roots = [RootPeer(key.public_key, tuple(host.local_endpoints()))]
    return services


async def _close_at_end(content: NodeContent) -> None:
    try:
        await trio.sleep_forever()
    finally:
        content.close()


def _share(service: ContentService, tmp: Path, name: str, data: bytes) -> None:
    path = tmp / f"src-{service.content.owner.hex()[:8]}" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    service.content.share(path, int(time.time()))


# ---- 1. share -> found -------------------------------------------------------------------------

async def _until_found(seeker: ContentService, word: str, owner: bytes, start: float, poll: float) -> float:
    while True:
        result = await seeker.search(word)
        if any(hit.owner == owner for hit in result.hits):
            return trio.current_time() - start
        await trio.sleep(poll)


async def _search_phase(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    network = MemoryNetwork(seed=5, latency=0.02, loss=0.0)
    out: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        wall = time.perf_counter()
        services = await _start_nodes(nursery, network, args.nodes, tmp, seed=7)
        await trio.sleep(20.0)
        out["startup_wall_s"] = time.perf_counter() - wall
        old_owner, new_owner = services[1], services[2]
        _share(old_owner, tmp, "vintage harpsichord.flac", os.urandom(10_000))
        await trio.sleep(args.settle)  # published long before
        seekers = random.Random(1).sample(services[3:], min(args.searchers, len(services) - 3))

        async def timed_all(word: str, owner: bytes, verified: bool) -> tuple[list[float], float]:
            times: list[float] = []
            wall = time.perf_counter()
            start = trio.current_time()

            async def one(seeker: ContentService) -> None:
                if verified:
                    times.append(await _until_found(seeker, word, owner, start, args.poll))
                else:
                    result = await seeker.node.dht.search(word)
                    assert any(hit.owner == owner for hit in result.hits), "keyword search missed"
                    times.append(trio.current_time() - start)

            async with trio.open_nursery() as inner:
                for seeker in seekers:
                    inner.start_soon(one, seeker)
            return times, time.perf_counter() - wall

        old_key = old_owner.content.owner.to_bytes()
        steady, steady_wall = await timed_all("harpsichord", old_key, verified=True)
        keyword, keyword_wall = await timed_all("harpsichord", old_key, verified=False)
        new_key = new_owner.content.owner.to_bytes()
        _share(new_owner, tmp, "midnight theremin.ogg", os.urandom(10_000))
        fresh, fresh_wall = await timed_all("theremin", new_key, verified=True)
        nursery.cancel_scope.cancel()
    for name, times, seconds in (("fresh", fresh, fresh_wall), ("steady", steady, steady_wall),
                                 ("keyword_only", keyword, keyword_wall)):
        out[name] = {"median_sim_s": statistics.median(times), "p95_sim_s": _percentile(times, 0.95),
                     "wall_s": seconds, "n": len(times)}
    return out


# ---- 2. download -------------------------------------------------------------------------------

async def _download_phase(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    network = MemoryNetwork(seed=6, latency=0.005, loss=0.0)
    data = os.urandom(args.size)
    file_hash = hash_data(data)
    out: dict[str, Any] = {"bytes": len(data)}
    async with trio.open_nursery() as nursery:
        services = await _start_nodes(nursery, network, 5, tmp, seed=8)
        owners, seeker = services[1:4], services[4]
        for owner in owners:
            _share(owner, tmp, "big archive.bin", data)
        with trio.fail_after(300):
            while len(seeker.find_file(file_hash)) < 3:
                await trio.sleep(0.5)
        for sources in (1, 3):
            node_id = owners[0].node.public_key.node_id if sources == 1 else None
            target = tmp / f"dl{sources}"
            target.mkdir()
            wall, start = time.perf_counter(), trio.current_time()
            download_id = await seeker.start_download(file_hash, node_id, target)
            while (info := seeker.downloads.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
                await seeker.downloads.wait_changed()
            assert info is not None and info.status == DownloadStatus.FINISHED, info
            out[f"sources_{sources}"] = {"wall_s": time.perf_counter() - wall,
                                         "sim_s": trio.current_time() - start}
            assert (target / "big archive.bin").read_bytes() == data
        nursery.cancel_scope.cancel()
    bare = []
    for attempt in range(3):
        start = time.perf_counter()
        blake3.blake3(data).digest()
        with open(tmp / f"bare{attempt}.bin", "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        bare.append(time.perf_counter() - start)
    out["bare_wall_s"] = min(bare)
    return out


# ---- 3. memory of cached chains ----------------------------------------------------------------

class _Server:
    """A BlockSource serving prepared raw blocks per owner."""

    def __init__(self) -> None:
        self.chains: dict[PublicKey, list[bytes]] = {}

    async def fetch_blocks(
        self, owner: PublicKey, ranges: Sequence[FetchRange], max_block_size: int, limit_count: int
    ) -> AsyncIterator[tuple[int, bytes | None]]:
        chain = self.chains.get(owner, [])
        for block_range in ranges:
            for number in range(block_range.first, block_range.first + block_range.count):
                yield number, chain[number] if number < len(chain) else None


_WORDS = ["summer", "holiday", "concert", "lecture", "recipe", "garden", "harbour", "winter", "family", "trip"]


def _chain(key: PrivateKey, rng: random.Random) -> list[bytes]:
    raws: list[bytes] = []
    previous = bytes(32)
    for number in range(rng.randint(1, 3)):
        files = [
            FileRecord(
                hash=rng.randbytes(32), id=uuid.UUID(bytes=rng.randbytes(16)), merkle_root=rng.randbytes(32),
                fragment_size=262144, file_type=rng.choice([1, 4, 5]), file_format=rng.randint(1, 20),
                size=rng.randint(10_000, 50_000_000),
                tags=[FileTag(0, f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.randint(1, 9999):04d}.jpg".encode()),
                      FileTag(1, f"Pictures/{rng.choice(_WORDS)}/{rng.randint(2000, 2026)}".encode())],
            )
            for _ in range(rng.randint(10, 50))
        ]
        block = Block(key.public_key, number, 1, previous, encode_file_records(files, 1_700_000_000 + number))
        raw = encode_block(block, key)
        raws.append(raw)
        previous = block_hash(raw)
    return raws


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def _memory_phase(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rng = random.Random(9)
    server = _Server()
    keys = [PrivateKey(rng.getrandbits(255).to_bytes(32, "big")) for _ in range(args.chains)]
    for key in keys:
        server.chains[key.public_key] = _chain(key, rng)
    raw = sum(len(b) for chain in server.chains.values() for b in chain)
    blocks = sum(len(chain) for chain in server.chains.values())
    records = 0
    with NodeContent(tmp / "mem", PrivateKey(b"\x01" * 32)) as content:
        rss, wall = _rss_kib(), time.perf_counter()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n, key in enumerate(keys):
            result = await content.on_chain_state(server, key.public_key, 1, len(server.chains[key.public_key]),
                                                  float(n))
            assert result.changed, result
        traced = tracemalloc.get_traced_memory()[0] - before
        seconds, rss_growth = time.perf_counter() - wall, (_rss_kib() - rss) * 1024
        top = tracemalloc.take_snapshot().statistics("filename")[:5]
        tracemalloc.stop()
        assert content.cache.owner_count == len(keys)
        for key in keys:
            records += len(content.files(key.public_key, limit=1000))
    return {"chains": len(keys), "blocks": blocks, "file_records": records, "raw_block_bytes": raw,
            "traced_bytes": traced, "rss_growth_bytes": rss_growth, "ingest_wall_s": seconds,
            "top_files": [(str(stat.traceback[0].filename).rsplit("/", 1)[-1], stat.size) for stat in top]}


# ---- main --------------------------------------------------------------------------------------

def _table(results: dict[str, Any], args: argparse.Namespace) -> None:
    search = results["search"]
    print(f"1. share -> found by verified search, {args.nodes} nodes in memory (MockClock), {args.searchers} searchers"
          f" (start-up {search['startup_wall_s']:.0f} s wall)")
    for name, label in (("fresh", "fresh share"), ("steady", "baseline: long published, verified"),
                        ("keyword_only", "baseline: keyword search only")):
        row = search[name]
        print(f"   {label:38} median {row['median_sim_s']:6.2f} s  p95 {row['p95_sim_s']:6.2f} s (sim)"
              f"  {row['wall_s']:6.1f} s wall for all {row['n']}")
    down = results["download"]
    mb = down["bytes"] / MIB
    print(f"2. download of {mb:.0f} MiB over the in-memory network (MockClock, 5 ms latency; wall = CPU cost)")
    for sources in (1, 3):
        row = down[f"sources_{sources}"]
        print(f"   {sources} source{'s' if sources > 1 else ' '}  {mb / row['wall_s']:7.1f} MB/s wall"
              f"  ({row['wall_s']:.2f} s wall, {row['sim_s']:.2f} s sim)")
    print(f"   baseline: BLAKE3 + write + fsync  {mb / down['bare_wall_s']:7.1f} MB/s")
    mem = results["memory"]
    print(f"3. {mem['chains']} cached chains ({mem['blocks']} blocks, {mem['file_records']} file records)"
          " in a NodeContent")
    print(f"   Python heap growth (tracemalloc) {mem['traced_bytes'] / MIB:7.2f} MiB,"
          f" RSS growth {mem['rss_growth_bytes'] / MIB:.2f} MiB, ingest {mem['ingest_wall_s']:.1f} s")
    print(f"   baseline: raw block bytes        {mem['raw_block_bytes'] / MIB:7.2f} MiB"
          f"  (heap/raw = {mem['traced_bytes'] / mem['raw_block_bytes']:.2f}x)")
    print("   heap by file: " + ", ".join(f"{name} {size / MIB:.1f} MiB" for name, size in mem["top_files"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=60, help="nodes in the search network (full: 200)")
    parser.add_argument("--searchers", type=int, default=20)
    parser.add_argument("--settle", type=float, default=60.0, help="simulated seconds after the old share")
    parser.add_argument("--poll", type=float, default=0.5, help="simulated seconds between searches")
    parser.add_argument("--size", type=int, default=16 * MIB, help="bytes of the downloaded file")
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--only", choices=["search", "download", "memory"], action="append")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args()
    phases = {"search": _search_phase, "download": _download_phase, "memory": _memory_phase}
    results: dict[str, Any] = {"args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-content-node-") as name:
        for phase, run in phases.items():
            if args.only and phase not in args.only:
                continue
            directory = Path(name) / phase
            directory.mkdir()
            clock = MockClock(autojump_threshold=0) if phase != "memory" else None
            results[phase] = trio.run(run, args, directory, clock=clock)
    results["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps(results))
    elif not args.only:
        _table(results, args)
    else:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
