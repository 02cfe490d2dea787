"""Page objects for the node's web UI (Playwright, sync API), for tests against the stand-in API and
for end-to-end tests against real nodes. Locators go by role and label, as a screen reader would."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

__all__ = ["NodeUi"]

TIMEOUT_MS = 15_000


class NodeUi:
    """One browser page on one node's UI at ``base_url`` (``http://127.0.0.1:PORT``) with API key ``key``."""

    def __init__(self, page: Page, base_url: str, key: str, artifacts: Path | None = None) -> None:
        self.page, self.base_url, self.key = page, base_url.rstrip("/"), key
        self.artifacts = artifacts
        self.script_errors: list[str] = []
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        page.set_default_timeout(TIMEOUT_MS)

    @classmethod
    def of_node(cls, page: Page, data_dir: Path, artifacts: Path | None = None) -> NodeUi:
        """The UI of the node running on ``data_dir``, found as ``peernet ui`` finds it (``api.json``)."""
        info = json.loads((Path(data_dir) / "api.json").read_text())
        host = f"[{info['host']}]" if ":" in str(info["host"]) else info["host"]
        return cls(page, f"http://{host}:{info['port']}", str(info["key"]), artifacts)

    # -- navigation -----------------------------------------------------------------------------------
    def open(self, key: str | None = None) -> NodeUi:
        """Load the page as ``peernet ui`` links to it: the key in the fragment."""
        self.page.goto(f"{self.base_url}/#key={self.key if key is None else key}")
        return self

    def go(self, section: str) -> None:
        """Open a section by its navigation link: Status, Search, Downloads, My files, Profile."""
        self.page.get_by_role("navigation", name="Sections").get_by_role("link", name=section, exact=True).click()
        expect(self.page.get_by_role("heading", level=2).filter(visible=True)).to_be_visible()

    def heading(self) -> Locator:
        return self.page.locator("section.view:not([hidden]) h2")

    def connection(self) -> Locator:
        """The connection line in the header (from GET /status)."""
        return self.page.locator("#conn")

    def session_key(self) -> Any:
        return self.page.evaluate("sessionStorage.getItem('peernet.apiKey')")

    # -- status and peers -----------------------------------------------------------------------------
    def peer_rows(self) -> Locator:
        return self.page.locator("#peers-body tr")

    def open_peer(self, index: int = 0) -> None:
        self.peer_rows().nth(index).get_by_role("link", name=re.compile("Files")).click()
        expect(self.page.locator("#view-peer")).to_be_visible()

    def peer_file_rows(self) -> Locator:
        return self.page.locator("#peer-files-body tr")

    # -- search ---------------------------------------------------------------------------------------
    def search(self, term: str, **filters: str) -> None:
        """Run a search; ``filters`` by field label, e.g. ``Type="Video"``, ``Size_at_least="1"``."""
        self.go("Search")
        self.set_filters(**filters)
        self.page.get_by_label("Search for").fill(term)
        self.page.get_by_role("button", name="Search", exact=True).click()

    def set_filters(self, **filters: str) -> None:
        for name, value in filters.items():
            field = self.page.get_by_label(name.replace("_", " "), exact=True)
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(label=value)
            else:
                field.fill(value)
                field.dispatch_event("change")

    def result_rows(self) -> Locator:
        return self.page.locator("#results-body tr")

    def result_row(self, name: str) -> Locator:
        return self.result_rows().filter(has_text=name)

    def search_state(self) -> Locator:
        return self.page.locator("#search-state")

    def stop_search(self) -> None:
        self.page.get_by_role("button", name="Stop", exact=True).click()

    def wait_search_done(self) -> None:
        expect(self.search_state()).to_contain_text(re.compile("Search complete|Stopped|expired"))

    def recent_rows(self) -> Locator:
        """The "Recently shared in the network" table under the search (GET /explore)."""
        return self.page.locator("#recent-body tr")

    def download(self, name: str) -> None:
        """Press Download on the search result (or the peer's file, in a peer's view) called ``name``."""
        rows = self.page.locator("section.view:not([hidden]) tbody:not(#recent-body) tr").filter(has_text=name)
        rows.first.get_by_role("button", name=f"Download {name}").click()

    # -- downloads ------------------------------------------------------------------------------------
    def set_download_folder(self, folder: str) -> None:
        self.go("Downloads")
        self.page.get_by_label("Save downloads in").fill(folder)
        self.page.get_by_role("button", name="Save folder").click()
        expect(self.page.locator("#downloads-state")).to_contain_text(folder)

    def download_card(self, name: str) -> Locator:
        return self.page.locator("#downloads-list li").filter(has_text=name)

    def download_progress(self, name: str) -> float:
        return float(self.download_card(name).locator("progress").evaluate("el => el.value"))

    def wait_download_state(self, name: str, state: str | re.Pattern[str]) -> None:
        """Wait for a state such as "Downloading", "Paused", "Canceled or failed", "Finished"."""
        expect(self.download_card(name).locator("p")).to_contain_text(state, timeout=30_000)

    def download_action(self, name: str, action: str) -> None:
        """Press Pause, Resume or Cancel on a download."""
        self.download_card(name).get_by_role("button", name=action, exact=True).click()

    # -- sharing --------------------------------------------------------------------------------------
    def share_files(self, *paths: Path) -> None:
        """Share local files through the file input (upload, then publish)."""
        self.go("My files")
        self.page.get_by_label("Share files").set_input_files([str(p) for p in paths])

    def drop_file(self, name: str, content: bytes, mime: str = "application/octet-stream") -> None:
        """Share a file by dropping it on the drop zone (a synthetic drag and drop with a DataTransfer)."""
        self.go("My files")
        data = self.page.evaluate_handle(
            "([name, bytes, mime]) => { const t = new DataTransfer();"
            " t.items.add(new File([new Uint8Array(bytes)], name, {type: mime})); return t; }",
            [name, list(content), mime])
        zone = self.page.locator("#drop-zone")
        zone.dispatch_event("dragenter", {"dataTransfer": data})
        zone.dispatch_event("drop", {"dataTransfer": data})

    def upload_card(self, name: str) -> Locator:
        return self.page.locator("#uploads-list li").filter(has_text=name)

    def wait_shared(self, name: str) -> None:
        expect(self.upload_card(name).first).to_contain_text("Shared.")
        expect(self.own_file_row(name)).to_be_visible()

    def own_file_row(self, name: str) -> Locator:
        return self.page.locator("#own-files-body tr").filter(has_text=name)

    def stop_sharing(self, name: str) -> None:
        self.own_file_row(name).get_by_role("button", name=f"Stop sharing {name}").click()

    # -- profile --------------------------------------------------------------------------------------
    def wait_profile_loaded(self) -> None:
        """The profile form is enabled once the node's profile has been read into it."""
        expect(self.page.get_by_label("Name", exact=True)).to_be_enabled()

    def save_profile(self, **fields: str) -> None:
        """Fill profile fields by label (``Name="Bob"``, ``Email=""``) and save."""
        self.go("Profile")
        self.wait_profile_loaded()
        for label, value in fields.items():
            self.page.get_by_label(label, exact=True).fill(value)
        self.page.get_by_role("button", name="Save profile").click()
        expect(self.page.locator("#profile-state")).to_contain_text("Profile saved")

    # -- artefacts ------------------------------------------------------------------------------------
    def screenshot(self, name: str) -> Path | None:
        """A full-page screenshot kept in the artefacts folder; returns its path (printed for the test log)."""
        if self.artifacts is None:
            return None
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path
