"""Loading the reference test vectors (copied from the reference implementation's generator)."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent


@functools.cache
def load(name: str) -> Any:
    return json.loads((VECTOR_DIR / f"{name}.json").read_text())


def counter_stream(seed: str, length: int) -> bytes:
    """The vectors' 'sha256 counter stream with seed S' rule."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed.encode() + counter.to_bytes(8, "little")).digest()
        counter += 1
    return bytes(out[:length])


def seed_of(rule: str) -> str:
    return rule.split("'")[1]
