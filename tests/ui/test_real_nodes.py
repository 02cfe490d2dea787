"""The web UI end to end against two real ``peernet run`` nodes on loopback, in headless Chromium:
node A shares a file by upload and lists it under "My files"; node B (A as its root peer) finds it
by search, downloads it (the bytes equal the original) and lists it in its view of A. Screenshots
are kept in ``tests/ui/artifacts/`` (paths printed)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .pages import NodeUi
from .realnodes import RealNode, start_node, stop_node, wait_for_peer

pytestmark = pytest.mark.slow

SEARCH_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealNode, RealNode]]:
    """Node A, and node B with A as its root peer; both stopped afterwards."""
    home = tmp_path_factory.mktemp("nodes")
    a = start_node(home / "a")
    try:
        b = start_node(home / "b", a)
        try:
            wait_for_peer(b, a.public_key)
            wait_for_peer(a, b.public_key)
            yield a, b
        finally:
            stop_node(b)
    finally:
        stop_node(a)


def _open_ui(browser: object, node: RealNode) -> NodeUi:
    """Open the node's UI in a fresh browser context at the link ``peernet ui`` prints."""
    link = node.ui_link()
    parts = urlsplit(link)
    assert parts.fragment == f"key={node.api_key}"
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")  # type: ignore[attr-defined]
    ui = NodeUi(context.new_page(), f"{parts.scheme}://{parts.netloc}", node.api_key, ARTIFACTS)
    ui.page.goto(link)
    expect(ui.heading()).to_have_text("Status")
    assert ui.session_key() == node.api_key and node.api_key not in ui.page.url
    return ui


def _close(ui: NodeUi) -> None:
    ui.page.context.close()
    assert not ui.script_errors, f"script errors in the page: {ui.script_errors}"


def _search_until_found(ui: NodeUi, term: str, name: str) -> None:
    """Search again while the file has not reached the network's index yet (each search job ends)."""
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    while True:
        ui.search(term)
        expect(ui.search_state()).not_to_have_text(re.compile(r"^(Searching|Filtering)"), timeout=40_000)
        if ui.result_row(name).count() or time.monotonic() > deadline:
            break
    expect(ui.result_row(name)).to_be_visible(timeout=1)


def _share(ui: NodeUi, path: Path) -> None:
    ui.share_files(path)
    ui.wait_shared(path.name)


def test_a_real_node_shares_an_uploaded_file_and_lists_it(browser: object, nodes: tuple[RealNode, RealNode],
                                                          tmp_path: Path) -> None:
    a, _ = nodes
    original = tmp_path / "field notes 2026.txt"
    original.write_bytes(b"notes from the field\n" * 400)
    ui = _open_ui(browser, a)
    try:
        _share(ui, original)
        expect(ui.own_file_row(original.name)).to_contain_text("8.2 KiB")  # 8400 bytes
        listed = a.api("/blockchain/file/list")
        assert isinstance(listed, dict)
        assert [f["name"] for f in listed["files"]].count(original.name) == 1
        ui.page.reload()  # the list comes from the node, not from the page's memory
        ui.go("My files")
        expect(ui.own_file_row(original.name)).to_be_visible()
        ui.screenshot("real-node-my-files")
    finally:
        _close(ui)


def test_a_peer_finds_and_downloads_the_shared_file(browser: object, nodes: tuple[RealNode, RealNode],
                                                     tmp_path: Path) -> None:
    a, b = nodes
    original = tmp_path / "harbour survey.bin"
    original.write_bytes(os.urandom(300_000))
    folder = b.data_dir.parent / "downloads"
    folder.mkdir(exist_ok=True)
    ui_a = _open_ui(browser, a)
    try:
        _share(ui_a, original)
    finally:
        _close(ui_a)

    ui_b = _open_ui(browser, b)
    try:
        expect(ui_b.peer_rows()).to_have_count(1)  # node A, its root peer
        ui_b.screenshot("real-node-b-status")
        ui_b.set_download_folder(str(folder))
        _search_until_found(ui_b, "harbour survey", original.name)
        ui_b.screenshot("real-node-search")
        ui_b.download(original.name)
        ui_b.go("Downloads")
        ui_b.wait_download_state(original.name, "Finished")
        ui_b.screenshot("real-node-download")
        assert (folder / original.name).read_bytes() == original.read_bytes()
        ui_b.go("Status")  # A's own files, from the cache of A's chain (GET /blockchain/view)
        ui_b.open_peer(0)
        expect(ui_b.peer_file_rows().filter(has_text=original.name)).to_be_visible(timeout=30_000)
        ui_b.screenshot("real-node-peer-files")
    finally:
        _close(ui_b)
