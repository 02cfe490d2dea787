"""Child process of the crash test: applies deterministic chain changes, reporting each commit.

Usage: python crash_writer.py DIRECTORY FIRST_OPERATION
"""

from __future__ import annotations

import sys
import uuid

from peernet_chain import FileRecord, FileTag, LocalChain
from peernet_proto import PrivateKey

KEY = PrivateKey.from_bytes(bytes(31) + b"\x0b")


def files_for(operation: int) -> list[FileRecord]:
    return [
        FileRecord(
            hash=bytes([operation % 256]) * 32,
            id=uuid.UUID(int=operation * 10 + k),
            merkle_root=bytes(32),
            fragment_size=262144,
            file_type=0,
            file_format=0,
            size=operation,
            tags=[FileTag(0, f"name {operation}-{k}".encode()), FileTag(1, b"shared folder name")],
        )
        for k in range(3)
    ]


def expected_ids(operations: int) -> set[uuid.UUID]:
    """The file IDs present after the first ``operations`` operations."""
    ids: set[uuid.UUID] = set()
    for operation in range(1, operations + 1):
        apply_to_model(ids, operation)
    return ids


def apply_to_model(ids: set[uuid.UUID], operation: int) -> None:
    if operation % 4 == 0:
        ids.difference_update(sorted(ids)[:2])
    else:
        ids.update(f.id for f in files_for(operation))


def main() -> None:
    directory, first = sys.argv[1], int(sys.argv[2])
    ids = expected_ids(first - 1)
    with LocalChain(directory, KEY, map_size=1 << 28) as chain:
        operation = first
        while True:
            if operation % 4 == 0:
                chain.delete_files(sorted(ids)[:2])
            else:
                chain.add_files(files_for(operation), 1_700_000_000 + operation)
            apply_to_model(ids, operation)
            print(operation, flush=True)
            operation += 1


if __name__ == "__main__":
    main()
