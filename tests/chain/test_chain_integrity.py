"""A damaged LMDB chain is refused at open with ChainCorruptError, never opened as empty, never
mapped past its end (SIGBUS), and left as it is."""

from __future__ import annotations

import lmdb
import pytest

from peernet_chain import ChainCorruptError, LocalChain, ProfileField, check_lmdb_file
from peernet_proto import PrivateKey


@pytest.fixture
def key():
    return PrivateKey.generate()


def make_chain(path, key, blocks=40):
    with LocalChain(path, key) as chain:
        for number in range(blocks):
            chain.write_profile([ProfileField(0, f"name {number}".encode())], 1_700_000_000 + number)
        assert chain.height == blocks
    return path / "data.mdb"


def test_intact_chain_reopens(tmp_path, key):
    make_chain(tmp_path, key)
    check_lmdb_file(tmp_path)
    with LocalChain(tmp_path, key) as chain:
        assert chain.height == 40


def test_missing_file_is_a_new_chain(tmp_path, key):
    check_lmdb_file(tmp_path / "nothing")
    with LocalChain(tmp_path / "new", key) as chain:
        assert chain.height == 0


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9])
def test_truncated_file_is_refused_and_kept(tmp_path, key, keep):
    data = make_chain(tmp_path, key)
    size = data.stat().st_size
    data.write_bytes(data.read_bytes()[: int(size * keep)])
    before = data.read_bytes()
    with pytest.raises(ChainCorruptError, match="truncated"):
        LocalChain(tmp_path, key)
    assert data.read_bytes() == before


def test_garbage_file_is_refused(tmp_path, key):
    data = make_chain(tmp_path, key)
    data.write_bytes(b"\x00" * data.stat().st_size)
    with pytest.raises(ChainCorruptError, match="not an LMDB database"):
        LocalChain(tmp_path, key)


def test_tampered_last_block_is_refused(tmp_path, key):
    make_chain(tmp_path, key, blocks=3)
    env = lmdb.open(str(tmp_path))
    with env.begin(write=True) as txn:
        raw = bytearray(txn.get((2).to_bytes(8, "little")))
        raw[-1] ^= 1
        txn.put((2).to_bytes(8, "little"), bytes(raw))
    env.close()
    with pytest.raises(ChainCorruptError, match="last block 2"):
        LocalChain(tmp_path, key)


def test_last_block_missing_is_refused(tmp_path, key):
    make_chain(tmp_path, key, blocks=3)
    env = lmdb.open(str(tmp_path))
    with env.begin(write=True) as txn:
        txn.delete((2).to_bytes(8, "little"))
    env.close()
    with pytest.raises(ChainCorruptError, match="missing"):
        LocalChain(tmp_path, key)


def test_chain_of_another_key_is_refused(tmp_path, key):
    make_chain(tmp_path, key, blocks=1)
    with pytest.raises(ChainCorruptError, match="another key"):
        LocalChain(tmp_path, PrivateKey.generate())
