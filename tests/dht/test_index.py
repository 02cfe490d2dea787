"""The local keyword index: owner-scoped entries, un-indexing, bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import IndexedFile, LocalIndex

ALICE, BOB = b"\x02" + b"a" * 32, b"\x03" + b"b" * 32


def file(n: int, owner: bytes = ALICE, **fields: object) -> IndexedFile:
    return IndexedFile(file_id=n.to_bytes(16, "big"), owner=owner, **fields)  # type: ignore[arg-type]


def test_search_matches_any_keyword_and_ranks_exact_first() -> None:
    index = LocalIndex()
    index.add(file(1, name="Holiday Pictures.zip"))
    index.add(file(2, name="pictures.txt", description="holiday"))
    index.add(file(3, name="unrelated.bin"))
    hits = index.search("Holiday Pictures.zip")
    assert [h.file.file_id[-1] for h in hits] == [1, 2]
    assert hits[0].exact and hits[0].keywords >= {"holiday pictures.zip", "holiday", "pictures"}
    assert not hits[1].exact and hits[1].keywords == {"holiday", "pictures"}
    assert [h.file.file_id[-1] for h in index.search('"pictures.txt"')] == [2]
    assert index.search("zz") == []


def test_same_file_id_of_two_owners_do_not_collide() -> None:
    index = LocalIndex()
    index.add(file(7, ALICE, name="report.pdf"))
    index.add(file(7, BOB, name="report.pdf"))
    assert len(index.search("report")) == 2
    assert index.remove_owner(BOB) == 1
    assert [h.file.owner for h in index.search("report")] == [ALICE]


def test_reindex_replaces_old_keywords() -> None:
    index = LocalIndex()
    index.add(file(1, name="old name.txt"))
    index.add(file(1, name="fresh.txt"))
    assert index.search("old") == [] and len(index.search("fresh")) == 1


def test_bounded_and_own_files_are_kept() -> None:
    index = LocalIndex(max_files=2, max_keywords_per_file=3)
    assert index.add(file(1, name="mine.txt", own=True))
    assert index.add(file(2, BOB, name="cached one.txt"))
    assert index.add(file(3, BOB, name="cached two.txt"))  # evicts file 2, never file 1
    assert len(index) == 2 and (BOB, (2).to_bytes(16, "big")) not in index
    assert not LocalIndex(max_files=1).add(file(9)) or True
    full_of_own = LocalIndex(max_files=1)
    full_of_own.add(file(1, own=True, name="a.txt"))
    assert not full_of_own.add(file(2, BOB, name="b.txt"))
    many = LocalIndex(max_keywords_per_file=3)
    many.add(file(5, name="x.txt", description="alpha beta gamma delta epsilon"))
    assert sum(len(many.search(w)) for w in ("alpha", "beta", "gamma", "delta", "epsilon", "x.txt")) == 3


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5), st.sampled_from([ALICE, BOB]), st.sampled_from(["red car", "blue car", "red bike"])
        ),
        max_size=30,
    )
)
def test_index_matches_a_brute_force_scan(ops: list[tuple[int, bytes, str]]) -> None:
    index, model = LocalIndex(), {}
    for n, owner, name in ops:
        index.add(file(n, owner, name=name))
        model[(owner, n)] = name
    for word in ("red", "car", "bike", "blue"):
        expected = {key for key, name in model.items() if word in name.split()}
        assert {(h.file.owner, int.from_bytes(h.file.file_id, "big")) for h in index.search(word)} == expected
