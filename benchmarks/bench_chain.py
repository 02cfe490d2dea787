"""Chain layer benchmark: each figure next to a baseline measured in the same run.

Run: .venv/bin/python benchmarks/bench_chain.py
"""

from __future__ import annotations

import io
import resource
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import blake3

from peernet_chain import (
    FileRecord,
    FileTag,
    LocalChain,
    MerkleTree,
    Warehouse,
    encode_file_records,
    fragment_size,
    validate_chain,
)
from peernet_proto import PrivateKey, hash_data

MIB = 1 << 20
KEY = PrivateKey.from_bytes(bytes(31) + b"\x42")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def sample_files(count: int) -> list[FileRecord]:
    return [
        FileRecord(
            hash=hash_data(b"%d" % i),
            id=uuid.UUID(int=i + 1),
            merkle_root=hash_data(b"m%d" % i),
            fragment_size=262144,
            file_type=4,
            file_format=6,
            size=1000 + i,
            tags=[FileTag(0, b"track %05d.mp3" % i), FileTag(1, b"Music/Some Artist/Some Album")],
        )
        for i in range(count)
    ]


def bench_append(directory: Path) -> tuple[list[bytes], int]:
    files = sample_files(20_000)
    with LocalChain(directory / "chain", KEY, map_size=1 << 30) as chain:
        seconds = timed(lambda: chain.add_files(files, 1_700_000_000))
        state, raws = chain.snapshot()
    encode = timed(lambda: encode_file_records(files, 1_700_000_000))
    print(
        f"append:     {len(files) / seconds:12,.0f} records/s into {state.height} blocks "
        f"(baseline: record encoding alone {len(files) / encode:,.0f} records/s)"
    )
    return raws, state.version


def bench_validate(raws: list[bytes], version: int) -> None:
    seconds = timed(lambda: validate_chain(KEY.public_key, version, raws))
    hashing = timed(lambda: [hash_data(raw) for raw in raws])
    print(
        f"validate:   {len(raws) / seconds:12,.0f} blocks/s "
        f"(baseline: BLAKE3 of the same blocks {len(raws) / hashing:,.0f} blocks/s)"
    )


def bench_merkle(data: bytes) -> None:
    size = len(data)
    plain = min(timed(lambda: blake3.blake3(data).digest()) for _ in range(3))
    tree = min(timed(lambda: MerkleTree.from_bytes(data, fragment_size(size))) for _ in range(3))
    print(
        f"merkle:     {size / MIB / tree:12,.0f} MB/s for {size // MIB} MiB "
        f"(baseline: plain BLAKE3 {size / MIB / plain:,.0f} MB/s; tree/plain = {tree / plain:.2f}x, target <= 1.3x)"
    )


def bench_warehouse(directory: Path, data: bytes) -> None:
    warehouse = Warehouse(directory / "warehouse")
    tracemalloc.start()
    seconds = timed(lambda: warehouse.import_stream(io.BytesIO(data), len(data)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    copy = directory / "copy"
    write = timed(lambda: copy.write_bytes(data))
    print(
        f"warehouse:  {len(data) / MIB / seconds:12,.0f} MB/s import, peak Python memory {peak / MIB:.1f} MiB "
        f"beyond the input (baseline: plain file write {len(data) / MIB / write:,.0f} MB/s)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as name:
        directory = Path(name)
        raws, version = bench_append(directory)
        bench_validate(raws, version)
        data = bytes(range(256)) * (256 * MIB // 256)
        bench_merkle(data)
        bench_warehouse(directory, data)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of the whole run: {rss:.0f} MiB (includes the 256 MiB test buffer)")


if __name__ == "__main__":
    main()
