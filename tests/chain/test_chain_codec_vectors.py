"""Every block of the reference vectors decodes and re-encodes byte for byte."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chain_helpers import file_from_vector, load_vectors

from peernet_chain import (
    BlockDecodeError,
    Record,
    block_hash,
    decode_block,
    encode_block,
    encode_file_records,
)
from peernet_proto import PrivateKey, PublicKey

VECTORS = load_vectors("blocks.json")


def _all_blocks() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for chain in VECTORS["chains"]:
        for step in chain["steps"]:
            for block in step["blocks"]:
                found.append((f"{chain['name']}-s{step['step']}-b{block['number']}", chain, block))
    return found


BLOCKS = _all_blocks()


@pytest.mark.parametrize(("chain", "vector"), [(c, b) for _, c, b in BLOCKS], ids=[n for n, _, _ in BLOCKS])
def test_block_vector_round_trip(chain: dict[str, Any], vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["raw"])
    owner = PrivateKey.from_hex(chain["owner_private_key"])
    block = decode_block(raw)
    decoded = vector["decoded"]
    assert block.owner == PublicKey.from_hex(chain["owner_public_key"])
    assert block.owner.node_id.hex() == decoded["node_id"]
    assert block.number == vector["number"] == decoded["number"]
    assert block.version == decoded["blockchain_version"]
    assert block.previous_hash.hex() == decoded["last_block_hash"]
    assert block_hash(raw).hex() == vector["block_hash"]
    assert [(r.type, r.date, r.data.hex()) for r in block.records] == [
        (r["type"], r["date_unix"], r["data"]) for r in decoded["records_raw"]
    ]
    assert [file_from_vector(f) for f in decoded["files"]] == block.files()
    assert sorted((t, d.hex()) for t, d in block.profile().items()) == [
        (p["type"], p["data"]) for p in decoded["profile"]
    ]
    assert encode_block(block, owner) == raw


def test_vectors_cover_every_kind_of_block() -> None:
    assert len(BLOCKS) == 27
    types = {r.type for _, _, b in BLOCKS for r in decode_block(bytes.fromhex(b["raw"])).records}
    assert types == {0, 1, 2, 4, 5, 6, 77}


def _add_files_steps() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    steps = []
    for chain in VECTORS["chains"]:
        for step in chain["steps"]:
            if step["action"] == "AddFiles" and len(step["inputs"]["record_dates_unix"]) == 1:
                steps.append((f"{chain['name']}-s{step['step']}", chain, step))
    return steps


@pytest.mark.parametrize(
    ("chain", "step"), [(c, s) for _, c, s in _add_files_steps()], ids=[n for n, _, _ in _add_files_steps()]
)
def test_file_record_encoder_matches_reference(chain: dict[str, Any], step: dict[str, Any]) -> None:
    """Tag de-duplication, back-references and dropped virtual tags, byte for byte."""
    files = [file_from_vector(f) for f in step["inputs"]["files"]]
    date = step["inputs"]["record_dates_unix"][0]
    new_block = [b for b in step["blocks"] if b["changed_in_this_step"]][-1]
    expected = [
        Record(r["type"], r["date_unix"], bytes.fromhex(r["data"]))
        for r in new_block["decoded"]["records_raw"]
    ]
    assert encode_file_records(files, date) == expected


NEGATIVES = {n["name"]: n for n in VECTORS["negatives"]}


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_negative_vectors(name: str) -> None:
    vector = NEGATIVES[name]
    raw = bytes.fromhex(vector["raw"])
    if vector["result"]["ok"]:
        block = decode_block(raw)
        assert block.owner.hex() == vector["result"]["decoded"]["owner_public_key"]
        assert [file_from_vector(f) for f in vector["result"]["decoded"]["files"]] == block.files()
    else:
        with pytest.raises(BlockDecodeError):
            decode_block(raw)


def test_forged_block_decodes_with_the_signer_as_owner() -> None:
    """A modified block still decodes, but to a different owner: owners are checked by validation."""
    valid = decode_block(bytes.fromhex(NEGATIVES["valid"]["raw"]))
    flipped = decode_block(bytes.fromhex(NEGATIVES["flip_last_byte"]["raw"]))
    assert flipped.owner != valid.owner


def test_transfer_stream_blocks_decode() -> None:
    stream = bytes.fromhex(VECTORS["transfer_stream"]["bytes"])
    offset, seen = 0, []
    while offset < len(stream):
        status, _number, limit, size = (
            stream[offset],
            *(int.from_bytes(stream[offset + i : offset + i + 8], "little") for i in (1, 9, 17)),
        )
        offset += 25
        if status == 0:
            assert limit == 1
            seen.append(decode_block(stream[offset : offset + size]).number)
            offset += size
    assert seen == [0]


def test_uuid_byte_order() -> None:
    file = file_from_vector(VECTORS["chains"][0]["steps"][1]["inputs"]["files"][0])
    record = encode_file_records([file], 0)[0]
    assert record.data[32:48] == uuid.UUID("5fd9eb65-8256-47a6-8053-3dbdebe17b87").bytes
