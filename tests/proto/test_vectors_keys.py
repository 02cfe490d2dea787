"""hashes.json: BLAKE3, keys, node IDs, deterministic compact signatures and recovery."""

import pytest

from peernet_proto import PrivateKey, PublicKey, SignatureError, hash_data, recover_compact
from tests.vectors.loader import counter_stream, load, seed_of

HASHES = load("hashes")


@pytest.mark.parametrize("vector", HASHES["blake3"], ids=lambda v: v["name"])
def test_blake3(vector):
    if "data_rule" in vector:
        data = counter_stream(seed_of(vector["data_rule"]), vector["length"])
    else:
        data = bytes.fromhex(vector["data"])
    assert len(data) == vector["length"]
    assert hash_data(data).hex() == vector["blake3_256"]


@pytest.mark.parametrize("vector", HASHES["keys"], ids=lambda v: v["label"])
def test_keys_and_node_ids(vector):
    key = PrivateKey.from_hex(vector["private_key"])
    assert key.public_key.hex() == vector["public_key_compressed"]
    assert key.public_key.node_id.hex() == vector["node_id"]
    assert PublicKey.from_hex(vector["public_key_compressed"]) == key.public_key
    assert key.to_bytes().hex() == vector["private_key"]


@pytest.mark.parametrize("vector", HASHES["signatures"], ids=lambda v: v["name"])
def test_signatures_are_byte_exact_and_recover(vector):
    key = PrivateKey.from_hex(vector["private_key"])
    digest = bytes.fromhex(vector["hash"])
    signature = key.sign_compact(digest)
    assert signature.hex() == vector["signature"]
    assert signature[0] == vector["parsed"]["header_byte"]
    assert recover_compact(bytes.fromhex(vector["signature"]), digest).hex() == vector["recover"]["public_key"]


@pytest.mark.parametrize("vector", HASHES["recovery"], ids=lambda v: v["name"])
def test_recovery_variants(vector):
    signature = bytes.fromhex(vector["signature"])
    digest = bytes.fromhex(vector["hash"])
    if vector["result"]["ok"]:
        assert recover_compact(signature, digest).hex() == vector["result"]["public_key"]
    else:
        with pytest.raises(SignatureError):
            recover_compact(signature, digest)


def test_key_save_and_load(tmp_path):
    key = PrivateKey.generate()
    path = tmp_path / "key"
    key.save(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert PrivateKey.load(path).public_key == key.public_key
