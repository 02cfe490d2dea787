"""Stateful test of the local chain against a simple model; every intermediate chain validates."""

from __future__ import annotations

import shutil
import tempfile
import uuid

from chain_helpers import sample_file
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from peernet_chain import FileRecord, LocalChain, ProfileField, validate_chain
from peernet_proto import PrivateKey

KEY = PrivateKey.from_bytes(bytes(31) + b"\x05")


class LocalChainMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="chain-")
        self.chain = LocalChain(self.directory, KEY, map_size=1 << 26, target_block_size=700)
        self.files: dict[uuid.UUID, tuple[FileRecord, int]] = {}
        self.profile: dict[int, bytes] = {}
        self.version = 0
        self.counter = 0
        self.now = 1_700_000_000

    def teardown(self) -> None:
        self.chain.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _tick(self) -> int:
        self.now += 7
        return self.now

    @rule(count=st.integers(1, 6), folder=st.sampled_from(["music", "documents/long shared folder", "x"]))
    def add_files(self, count: int, folder: str) -> None:
        now = self._tick()
        new = []
        for _ in range(count):
            self.counter += 1
            new.append(sample_file(self.counter, folder=folder))
        self.chain.add_files(new, now)
        self.files.update({f.id: (f, now) for f in new})

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def delete_files(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(sorted(self.files)), min_size=1, max_size=3, unique=True))
        ghost = uuid.UUID(int=2**100)  # an unknown ID does not change anything on its own
        self.chain.delete_files([*ids, ghost])
        for file_id in ids:
            del self.files[file_id]
        self.version += 1

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def replace_file(self, data: st.DataObject) -> None:
        file_id = data.draw(st.sampled_from(sorted(self.files)))
        old, _ = self.files[file_id]
        now = self._tick()
        new = FileRecord(old.hash, old.id, old.merkle_root, 262144, 1, 10, old.size + 1, old.tags[:1])
        self.chain.replace_files([new], now)
        self.files[file_id] = (new, now)
        self.version += 1

    @rule(fields=st.dictionaries(st.integers(0, 8), st.binary(max_size=300), min_size=1, max_size=3))
    def write_profile(self, fields: dict[int, bytes]) -> None:
        self.chain.write_profile([ProfileField(t, d) for t, d in fields.items()], self._tick())
        self.profile.update(fields)

    @rule(types=st.lists(st.integers(0, 8), min_size=1, max_size=3, unique=True))
    def delete_profile(self, types: list[int]) -> None:
        before = self.chain.version
        self.chain.delete_profile(types)
        present = [t for t in types if t in self.profile]
        for field_type in present:
            del self.profile[field_type]
        if present:
            self.version += 1
        else:
            assert self.chain.version == before

    @rule()
    def delete_chain(self) -> None:
        self.chain.delete_chain()
        self.files.clear()
        self.profile.clear()
        self.version += 1

    @rule()
    def reopen(self) -> None:
        self.chain.close()
        self.chain = LocalChain(self.directory, KEY, map_size=1 << 26, target_block_size=700)

    @invariant()
    def matches_model(self) -> None:
        state, raws = self.chain.snapshot()
        assert state.version == self.version
        blocks = validate_chain(KEY.public_key, state.version, raws, expected_height=state.height)
        files = {f.id: f for block in blocks for f in block.files()}
        assert {i: (f.without_virtual_tags(), f.date_shared) for i, f in files.items()} == {
            i: (f, date) for i, (f, date) in self.files.items()
        }
        profile: dict[int, bytes] = {}
        for block in blocks:
            profile.update(block.profile())
        assert profile == self.profile
        assert all(len(raw) <= 700 + 400 or len(blocks[i].records) == 1 for i, raw in enumerate(raws))


TestLocalChain = LocalChainMachine.TestCase
TestLocalChain.settings = settings(
    TestLocalChain.settings, max_examples=settings().max_examples // 2, stateful_step_count=20
)
