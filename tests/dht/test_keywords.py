"""Keyword extraction: the cases of spec dht.md §10.2/§10.6, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peernet_dht import camel_case_split, file_keywords, parse_query, sanitize, text_keywords, word_hash
from peernet_proto import hash_data


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        ("PDFLoader", ["PDF", "Loader"]),
        ("GL11Version", ["GL", "11", "Version"]),
        ("vimRPCPlugin", ["vim", "RPC", "Plugin"]),
        ("BöseÜberraschung", ["Böse", "Überraschung"]),
        ("lowercase", ["lowercase"]),
        ("#tag", ["#", "tag"]),
        ("", []),
    ],
)
def test_camel_case_split(word: str, pieces: list[str]) -> None:
    assert camel_case_split(word) == pieces


def words(found: dict[bytes, str]) -> set[str]:
    for digest, word in found.items():
        assert digest == hash_data(word.encode())
    return set(found.values())


def test_word_hash_lowercases_per_code_point_and_counts_bytes() -> None:
    assert word_hash("İstanbul") == (hash_data(b"istanbul"), "istanbul")  # not "i̇stanbul"
    assert word_hash("ΟΔΟΣ") == (hash_data("οδοσ".encode()), "οδοσ")  # no final sigma
    assert word_hash("ab") is None
    assert word_hash("é!") == (hash_data("é!".encode()), "é!")  # 3 UTF-8 bytes, 2 characters
    assert word_hash("中") == (hash_data("中".encode()), "中")


def test_text_separators_and_hashtags() -> None:
    found = words(text_keywords("##beach+sun_set (old)[new],x–y—z"))
    # The en dash separates; the em dash does not, but it is a 3-byte CamelCase piece of its own.
    assert found == {"#beach", "beach", "sun", "set", "old", "new", "y—z", "—"}


def test_go_whitespace_is_not_pythons() -> None:
    # NBSP and NEL separate words; U+001C does not (Python's split() would cut there).
    assert words(text_keywords("one\xa0two\x85three")) == {"one", "two", "three"}
    assert words(text_keywords("abc\x1cdef")) == {"abc\x1cdef", "abc", "def"}  # pieces via CamelCase


def test_filename_extension_like_go_path_ext() -> None:
    assert words(file_keywords("archive.tar.gz")) == {"archive.tar.gz", "archive.tar", "archive", "tar"}
    assert words(file_keywords(".bashrc")) == {".bashrc"}
    assert words(file_keywords("a.b/cd")) >= {"a.b/cd"}  # no extension: "/" follows the dot


def test_short_file_name_skips_the_folder_too() -> None:
    assert file_keywords("ab", folder="Holiday Pictures") == {}
    assert words(file_keywords("ab", description="description")) == {"description"}


def test_folder_separators_and_description() -> None:
    found = words(file_keywords("MyPhoto.jpg", "dir\\sub/Holiday", "Summer at the lake"))
    assert found == {
        "myphoto.jpg", "myphoto", "photo", "dir", "sub", "holiday", "summer", "the", "lake",
    }


def test_invalid_utf8_is_dropped_and_ends_trimmed() -> None:
    assert sanitize(b"\xffabc\xfe \t") == "abc"
    assert sanitize("\u3000x y\u2028") == "x y"


def test_query_exact_and_split() -> None:
    quoted = parse_query('"Holiday Pictures"')
    assert quoted.exact_only and set(quoted.hashes().values()) == {"holiday pictures"}
    split = parse_query("  HolidayPictures  ")
    assert split.exact == (hash_data(b"holidaypictures"), "holidaypictures")
    assert set(split.keywords.values()) == {"holiday", "pictures"}
    assert parse_query("'ab'").hashes() == {}
    assert parse_query("x").exact is None


texts = st.one_of(st.text(max_size=60), st.binary(max_size=60))


@given(texts, texts, texts)
def test_fuzz_file_keywords(name: str | bytes, folder: str | bytes, description: str | bytes) -> None:
    for word in words(file_keywords(name, folder, description)):
        assert len(word.encode()) >= 3
        assert word == word.lower() or "\u0130" not in word


@given(texts)
def test_fuzz_query(term: str | bytes) -> None:
    query = parse_query(term)
    if query.exact is not None:
        assert query.exact[0] not in query.keywords
    words(query.hashes())
