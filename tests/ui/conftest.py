"""Fixtures for the web UI tests: the stand-in API served with the UI on loopback, and a headless
Chromium (Debian's ``chromium``) driven by Playwright. Screenshots are kept in ``tests/ui/artifacts/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .pages import NodeUi
from .standin import Server, StandIn

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    node = StandIn()
    with Server(node.app()) as server:
        node.port = server.port
        yield node


@pytest.fixture
def ui(browser: object, standin: StandIn) -> Iterator[NodeUi]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")  # type: ignore[attr-defined]
    page = context.new_page()
    ui = NodeUi(page, f"http://127.0.0.1:{standin.port}", standin.key, ARTIFACTS)
    yield ui
    context.close()
    assert not ui.script_errors, f"script errors in the page: {ui.script_errors}"
