"""Merkle trees, fragment table, companion format and proofs against the reference vectors."""

from __future__ import annotations

import contextlib
from typing import Any

import blake3
import pytest
from chain_helpers import counter_stream, load_vectors
from hypothesis import given
from hypothesis import strategies as st

from peernet_chain import MerkleBuilder, MerkleDecodeError, MerkleTree, fragment_size, verify_fragment

VECTORS = load_vectors("merkle.json")


@pytest.mark.parametrize("entry", VECTORS["fragment_size_table"], ids=lambda e: str(e["file_size"]))
def test_fragment_size_table(entry: dict[str, int]) -> None:
    assert fragment_size(entry["file_size"]) == entry["fragment_size"]


def _data(entry: dict[str, Any]) -> bytes:
    seed = entry["data_rule"].split("'")[1]
    data = counter_stream(seed, entry["file_size"])
    if "data" in entry:
        assert data.hex() == entry["data"]
    return data


TREES = VECTORS["merkle"]


@pytest.mark.parametrize("entry", TREES, ids=lambda e: f"{e['file_size']}-{e['fragment_size']}")
def test_tree_matches_reference(entry: dict[str, Any]) -> None:
    data = _data(entry)
    tree = MerkleTree.from_bytes(data, entry["fragment_size"])
    assert tree.root_hash.hex() == entry["root_hash"]
    assert tree.fragment_count == entry["fragment_count"]
    if isinstance(entry["fragment_hashes"], list):
        assert [h.hex() for h in tree.fragment_hashes] == entry["fragment_hashes"]
        assert [[h.hex() for h in level] for level in tree.middle_hashes] == entry["middle_hashes"]
    assert tree.export().hex() == entry["export"]
    assert MerkleTree.from_export(bytes.fromhex(entry["export"])) == tree
    if entry["fragment_count"] <= 1:
        assert tree.root_hash.hex() == entry["file_hash_blake3"]


@pytest.mark.parametrize(
    "entry", [e for e in TREES if e["proofs"]], ids=lambda e: f"{e['file_size']}-{e['fragment_size']}"
)
def test_proofs_match_reference(entry: dict[str, Any]) -> None:
    data = _data(entry)
    tree = MerkleTree.from_bytes(data, entry["fragment_size"])
    frag = entry["fragment_size"]
    for proof in entry["proofs"]:
        index = proof["fragment"]
        hashes = [bytes.fromhex(h) for h in proof["verification_hashes"]]
        fragment = data[index * frag : (index + 1) * frag]
        if proof["verify_ok"]:
            assert tree.proof(index) == hashes
            assert verify_fragment(tree.root_hash, fragment, hashes)
            assert verify_fragment(
                tree.root_hash, fragment, hashes, index=index, fragment_count=tree.fragment_count
            )
        else:
            # The vector checks the hash of another fragment against this proof.
            other = data[0:frag] if index != 0 else data[frag : 2 * frag]
            assert blake3.blake3(other).hexdigest() == proof["fragment_hash"]
            assert not verify_fragment(tree.root_hash, other, hashes)


@given(size=st.integers(0, 40 * 16), frag=st.sampled_from([1, 3, 16, 64]), chunk=st.integers(1, 100))
def test_streaming_builder_equals_whole_and_proofs_verify(size: int, frag: int, chunk: int) -> None:
    data = bytes(i % 251 for i in range(size))
    builder = MerkleBuilder(frag)
    for offset in range(0, size, chunk):
        builder.update(data[offset : offset + chunk])
    tree = builder.finish()
    assert tree == MerkleTree.from_bytes(data, frag)
    assert MerkleTree.from_export(tree.export()) == tree
    count = tree.fragment_count
    for index in range(count):
        fragment = data[index * frag : (index + 1) * frag]
        proof = tree.proof(index)
        assert verify_fragment(tree.root_hash, fragment, proof, index=index, fragment_count=count)
        if count >= 2:
            assert not verify_fragment(tree.root_hash, fragment + b"x", proof)
            flipped = [bytes([1 - proof[0][0]]) + proof[0][1:], *proof[1:]]
            assert not verify_fragment(tree.root_hash, fragment, flipped)


@given(st.binary(max_size=600))
def test_export_decoder_only_raises_merkle_errors(blob: bytes) -> None:
    with contextlib.suppress(MerkleDecodeError):
        MerkleTree.from_export(blob)


def test_export_rejects_tampered_hashes_and_zero_fragment_size() -> None:
    tree = MerkleTree.from_bytes(bytes(range(200)), 16)
    blob = bytearray(tree.export())
    blob[60] ^= 1
    with pytest.raises(MerkleDecodeError):
        MerkleTree.from_export(bytes(blob))
    zero = bytearray(tree.export())
    zero[8:16] = bytes(8)
    with pytest.raises(MerkleDecodeError):
        MerkleTree.from_export(bytes(zero))
