"""Shared helpers of the chain tests: vector loading and small builders."""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from peernet_chain import FileRecord, FileTag

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@cache
def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def counter_stream(seed: str, length: int) -> bytes:
    """The vectors' 'sha256 counter stream with seed S' rule."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed.encode() + struct.pack("<Q", counter)).digest()
        counter += 1
    return bytes(out[:length])


def file_from_vector(entry: dict[str, Any]) -> FileRecord:
    return FileRecord(
        hash=bytes.fromhex(entry["hash"]),
        id=uuid.UUID(entry["id"]),
        merkle_root=bytes.fromhex(entry["merkle_root_hash"]),
        fragment_size=entry["fragment_size"],
        file_type=entry["type"],
        file_format=entry["format"],
        size=entry["size"],
        tags=[FileTag(tag["type"], bytes.fromhex(tag["data"])) for tag in entry["tags"]],
    )


def sample_file(number: int, *, folder: str = "music", tags: int = 2) -> FileRecord:
    names = [FileTag(0, f"file {number}.bin".encode()), FileTag(1, folder.encode())]
    return FileRecord(
        hash=hashlib.blake2s(f"h{number}".encode()).digest(),
        id=uuid.UUID(int=number + 1),
        merkle_root=hashlib.blake2s(f"m{number}".encode()).digest(),
        fragment_size=262144,
        file_type=4,
        file_format=6,
        size=1000 + number,
        tags=names[:tags],
    )
