"""The merkle tree extension: codec vectors, round trips, paging and verification against the signed root."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_chain import (
    MAX_LEAVES_PER_PAGE,
    MINIMUM_FRAGMENT_SIZE,
    MerkleTree,
    MerkleTreePage,
    MerkleTreeRequest,
    MerkleUnavailable,
    MerkleWireError,
    TreeAssembler,
    Warehouse,
    WarehouseFileNotFoundError,
    answer_merkle_request,
    decode_merkle_message,
    encode_merkle_message,
    fragment_size,
    tree_page,
)
from peernet_proto import DecodeError, EncodeError, TruncatedError

HASH = bytes(range(32))


def test_vectors() -> None:
    request = encode_merkle_message(MerkleTreeRequest(HASH, 2000, 16))
    assert request.hex() == "504e4d0101" + HASH.hex() + "d0070000" + "1000"
    assert encode_merkle_message(MerkleUnavailable(HASH)).hex() == "504e4d0103" + HASH.hex()
    page = MerkleTreePage(HASH, 600_000, 262_144, b"\xaa" * 32, 3, 1, (b"\x01" * 32, b"\x02" * 32))
    assert (
        encode_merkle_message(page).hex()
        == (
            "504e4d0102" + HASH.hex() + "c0270900"
            "00000000"  # file size 600 000
            + "0000040000000000"  # fragment size 262 144
            + "aa" * 32
            + "03000000"
            + "01000000"
            + "0200"
            + "01" * 32
            + "02" * 32
        )
    )


@given(
    st.one_of(
        st.builds(
            MerkleTreeRequest, st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 1), st.integers(1, 2000)
        ),
        st.builds(MerkleUnavailable, st.binary(min_size=32, max_size=32)),
        st.integers(0, 40).flatmap(
            lambda n: st.builds(
                MerkleTreePage,
                st.binary(min_size=32, max_size=32),
                st.integers(0, 2**64 - 1),
                st.integers(1, 2**64 - 1),
                st.binary(min_size=32, max_size=32),
                st.just(n + 5),
                st.integers(0, 5),
                st.lists(st.binary(min_size=32, max_size=32), min_size=n, max_size=n).map(tuple),
            )
        ),
    )
)
def test_round_trip(message: MerkleTreeRequest | MerkleUnavailable | MerkleTreePage) -> None:
    assert decode_merkle_message(encode_merkle_message(message)) == message


@given(st.binary(max_size=200))
def test_decoder_raises_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_merkle_message(data)


def test_malformed_inputs() -> None:
    good = encode_merkle_message(MerkleTreePage(HASH, 1, 1, HASH, 2, 0, (HASH,)))
    with pytest.raises(TruncatedError):
        decode_merkle_message(good[:20])
    for bad in (good[:-1], good + b"\x00", b"XNM" + good[3:], good[:3] + b"\x02" + good[4:]):
        with pytest.raises(MerkleWireError):
            decode_merkle_message(bad)
    with pytest.raises(MerkleWireError):  # leaves beyond the leaf count
        decode_merkle_message(
            encode_merkle_message(MerkleTreePage(HASH, 1, 1, HASH, 1, 0, (HASH,)))[:-36] + b"\x00" * 36
        )
    with pytest.raises(EncodeError):
        encode_merkle_message(MerkleTreeRequest(HASH, 0, MAX_LEAVES_PER_PAGE + 1))
    assert len(encode_merkle_message(MerkleTreePage(HASH, 1, 1, HASH, 2000, 0, (HASH,) * 2000))) <= 0xFFFF


def _large_tree(size: int) -> MerkleTree:
    fragment = fragment_size(size)
    leaves = [os.urandom(32) for _ in range(-(-size // fragment))]
    return MerkleTree.from_leaves(size, fragment, leaves)


def test_paged_tree_is_assembled_and_checked_against_the_signed_root() -> None:
    size = 1 << 30  # 2048 fragments of 512 KiB: two pages
    tree = _large_tree(size)
    assembler = TreeAssembler(HASH, size, tree.root_hash)
    pages = 0
    result = None
    while (request := assembler.next_request()) is not None:
        wire = encode_merkle_message(tree_page(HASH, tree, decode_merkle_message(encode_merkle_message(request))))  # type: ignore[arg-type]
        page = decode_merkle_message(wire)
        assert isinstance(page, MerkleTreePage)
        result = assembler.add(page)
        pages += 1
    assert pages == 2 and result == tree
    # a liar's tree with one leaf changed does not rebuild to the signed root
    forged = list(tree.fragment_hashes)
    forged[1500] = b"\x00" * 32
    liar = MerkleTree.from_leaves(size, tree.fragment_size, forged)
    assembler = TreeAssembler(HASH, size, tree.root_hash)
    # a smart liar claims the signed root; the first page cannot tell yet
    assert assembler.add(attrs_evolve_root(tree_page(HASH, liar, MerkleTreeRequest(HASH, 0)), tree.root_hash)) is None
    with pytest.raises(MerkleWireError):
        assembler.add(attrs_evolve_root(tree_page(HASH, liar, MerkleTreeRequest(HASH, 2000)), tree.root_hash))
    # pages that do not fit the record are refused at once
    assembler = TreeAssembler(HASH, size, tree.root_hash)
    with pytest.raises(MerkleWireError):
        assembler.add(tree_page(HASH, liar, MerkleTreeRequest(HASH, 0)))  # claims the liar's root


def attrs_evolve_root(page: MerkleTreePage, root: bytes) -> MerkleTreePage:
    import attrs

    return attrs.evolve(page, root=root)


def test_single_fragment_file_needs_no_leaves() -> None:
    assembler = TreeAssembler(HASH, MINIMUM_FRAGMENT_SIZE, HASH)
    assert assembler.next_request() is None  # nothing to ask: the root is the file hash
    tree = assembler.add(MerkleTreePage(HASH, MINIMUM_FRAGMENT_SIZE, MINIMUM_FRAGMENT_SIZE, HASH, 0, 0, ()))
    assert tree is not None and tree.root_hash == HASH
    with pytest.raises(MerkleWireError):  # a record whose root is not the hash of a one-fragment file
        TreeAssembler(HASH, 10, b"\x01" * 32).add(
            MerkleTreePage(HASH, 10, MINIMUM_FRAGMENT_SIZE, b"\x01" * 32, 0, 0, ())
        )


def test_serving_side_answers_from_a_warehouse(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    content = os.urandom(3 * MINIMUM_FRAGMENT_SIZE)
    stored = warehouse.import_stream(io.BytesIO(content), len(content))

    def tree_of(file_hash: bytes) -> MerkleTree | None:
        try:
            return warehouse.merkle_tree(file_hash)
        except WarehouseFileNotFoundError:
            return None

    assembler = TreeAssembler(stored.hash, stored.size, stored.merkle_root)
    request = assembler.next_request()
    assert request is not None
    page = decode_merkle_message(answer_merkle_request(encode_merkle_message(request), tree_of))
    assert isinstance(page, MerkleTreePage)
    tree = assembler.add(page)
    assert tree is not None and tree == warehouse.merkle_tree(stored.hash)
    missing = answer_merkle_request(encode_merkle_message(MerkleTreeRequest(HASH)), tree_of)
    assert decode_merkle_message(missing) == MerkleUnavailable(HASH)
    with pytest.raises(MerkleWireError):
        answer_merkle_request(missing, tree_of)
