"""Replaying the reference's chain scenarios on the LMDB local chain.

Deliberate divergence: when the reference refactors a block (DeleteFiles, ProfileDelete) it stamps the
re-encoded file and tag-data records with the current time; we keep each record's original date.
Blocks the reference re-encoded are therefore compared with record dates (and the 8-byte tag-data
record that holds a shared date) normalised; everything else must match byte for byte.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from chain_helpers import file_from_vector, load_vectors

from peernet_chain import (
    Block,
    LocalChain,
    ProfileField,
    Record,
    decode_block,
    encode_file_records,
    group_files,
    validate_chain,
)
from peernet_proto import PrivateKey

VECTORS = load_vectors("blocks.json")
CHAINS = {chain["name"]: chain for chain in VECTORS["chains"]}


def _input_dates(chain: dict[str, Any]) -> set[int]:
    dates: set[int] = set()
    for step in chain["steps"]:
        dates.update(step["inputs"].get("record_dates_unix", []))
        dates.update(r["date_unix"] for r in step["inputs"].get("records", []))
    return dates


def _normalised(block: Block, original_dates: set[int]) -> list[tuple[int, bytes]]:
    """Record types and data, with a tag-data record holding a record date replaced by a marker."""
    out = []
    for record in block.records:
        data = record.data
        if (
            record.type == 1
            and len(data) == 8
            and int.from_bytes(data, "little") in {record.date, *original_dates}
        ):
            data = b"<date>"
        out.append((record.type, data))
    return out


def _apply(chain: LocalChain, step: dict[str, Any]) -> None:
    inputs = step["inputs"]
    action = step["action"]
    if action == "AddFiles":
        files = [file_from_vector(f) for f in inputs["files"]]
        dates = inputs["record_dates_unix"]
        groups = group_files(files, inputs.get("target_block_size", 4096))
        assert len(groups) == len(dates)
        if len(groups) == 1:
            chain.add_files(files, dates[0])
        else:  # the reference stamped each block with its own date: append group by group
            for group, date in zip(groups, dates, strict=False):
                chain.append(encode_file_records(group, date))
    elif action == "ProfileWrite":
        fields = [ProfileField(f["type"], bytes.fromhex(f["data"])) for f in inputs["fields"]]
        chain.write_profile(fields, inputs["record_dates_unix"][0])
    elif action == "Append":
        chain.append([Record(r["type"], r["date_unix"], bytes.fromhex(r["data"])) for r in inputs["records"]])
    elif action == "DeleteFiles":
        chain.delete_files([uuid.UUID(i) for i in inputs["ids"]])
    elif action == "ProfileDelete":
        chain.delete_profile(list(inputs["fields"]))
    elif action == "DeleteBlockchain":
        chain.delete_chain()
    else:
        assert action == "init"


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_replay_reference_chain(name: str, tmp_path: Path) -> None:
    vector = CHAINS[name]
    key = PrivateKey.from_hex(vector["owner_private_key"])
    original_dates = _input_dates(vector)
    first_added: dict[uuid.UUID, int] = {}
    diverged = False
    with LocalChain(tmp_path / "chain", key) as chain:
        for step in vector["steps"]:
            _apply(chain, step)
            diverged |= step["action"] in ("DeleteFiles", "ProfileDelete")
            assert (chain.height, chain.version) == (step["height"], step["version"]), step["description"]
            state, raws = chain.snapshot()
            ours = validate_chain(key.public_key, state.version, raws, expected_height=state.height)
            for block in ours:
                for file in block.files():
                    first_added.setdefault(file.id, file.date_shared or 0)
                    assert file.date_shared == first_added[file.id], "a file's date changed"
            for raw, mine, expected in zip(raws, ours, step["blocks"], strict=True):
                if not diverged:
                    assert raw.hex() == expected["raw"], (step["description"], expected["number"])
                    continue
                theirs = decode_block(bytes.fromhex(expected["raw"]))
                assert (mine.number, mine.version) == (theirs.number, theirs.version)
                assert _normalised(mine, original_dates) == _normalised(theirs, original_dates)
                for my_record, their_record in zip(mine.records, theirs.records, strict=False):
                    assert my_record.date in original_dates
                    if my_record.date != their_record.date:
                        assert their_record.date not in original_dates  # the reference's "now"
        assert diverged == (name == "chain1")


def test_add_files_packs_like_the_reference(tmp_path: Path) -> None:
    step = next(s for s in CHAINS["chain1"]["steps"] if len(s["inputs"].get("record_dates_unix", [])) == 3)
    files = [file_from_vector(f) for f in step["inputs"]["files"]]
    expected = [b for b in step["blocks"] if b["changed_in_this_step"]]
    with LocalChain(tmp_path / "chain", PrivateKey.from_hex(CHAINS["chain1"]["owner_private_key"])) as chain:
        chain.add_files(files, 1651415757)
        sizes = [len(raw) for raw in chain.snapshot()[1]]
        blocks = list(chain.blocks())
    assert [len(b.records) for b in blocks] == [len(b["decoded"]["records_raw"]) for b in expected]
    assert sizes == [b["size"] for b in expected]
