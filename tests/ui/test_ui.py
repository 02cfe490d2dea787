"""The web UI in headless Chromium against the stand-in API: key hand-over, status and peers, search
with filters, downloads with pause/resume/cancel, sharing by file input and by drag and drop, a peer's
files and profile, the own profile, keyboard use."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .pages import NodeUi
from .standin import StandIn

ALICE = "a1" * 32
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_the_key_moves_from_the_fragment_into_session_storage(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    expect(ui.connection()).to_have_text("Connected · 2 peers")
    assert "#key" not in ui.page.url and standin.key not in ui.page.url
    assert ui.session_key() == standin.key
    page_source = httpx.get(f"{ui.base_url}/").text
    assert standin.key not in page_source
    expect(ui.heading()).to_have_text("Status")
    expect(ui.peer_rows()).to_have_count(2)
    expect(ui.peer_rows().first).to_contain_text("Peernet Cmd/Alpha 9")
    expect(ui.page.locator("#status-facts")).to_contain_text(standin.own_node.hex())
    assert standin.calls_to("/status") and standin.calls_to("/status/peers") and standin.calls_to("/account/info")
    ui.page.reload()  # the key survives a reload of the tab
    expect(ui.peer_rows()).to_have_count(2)
    ui.screenshot("status")


def test_a_wrong_key_asks_for_the_key_and_a_pasted_key_connects(ui: NodeUi, standin: StandIn) -> None:
    ui.open(key="00000000-0000-0000-0000-000000000001")
    expect(ui.heading()).to_have_text("Connect to your node")
    assert ui.session_key() is None
    ui.page.get_by_label("API key").fill(standin.key)
    ui.page.get_by_role("button", name="Connect").click()
    expect(ui.peer_rows()).to_have_count(2)


def test_search_shows_results_as_they_arrive_and_filters_them(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.search("holiday")
    expect(ui.result_rows()).to_have_count(3)
    ui.wait_search_done()
    expect(ui.search_state()).to_have_text("Search complete: 3 results.")
    start = standin.calls_to("/search")[0]
    assert start.method == "POST"
    assert start.body["term"] == "holiday" and start.body["filetype"] == -1 and start.body["sizemin"] == -1
    results = standin.calls_to("/search/result")
    assert results[0].params["reset"] == "1" and results[0].params["filetype"] == "-1"
    assert results[0].params["id"] == results[-1].params["id"]
    assert all("reset" not in call.params for call in results[1:])
    assert len(results) >= 3  # "none yet", the files, "no more"
    expect(ui.result_row("holiday photos.zip")).to_contain_text("Alice")

    ui.set_filters(Type="Video")
    expect(ui.result_rows()).to_have_count(1)
    expect(ui.result_rows().first).to_contain_text("holiday film.mkv")
    refilter = [c for c in standin.calls_to("/search/result") if c.params.get("reset") == "1"][-1]
    assert refilter.params["filetype"] == "3"
    ui.set_filters(Type="Any type", Size_at_least="0.01", Shared_from="2026-06-01", Shared_until="2026-12-31")
    expect(ui.result_rows()).to_have_count(1)  # 0.01 MiB keeps the film only
    last = [c for c in standin.calls_to("/search/result") if c.params.get("reset") == "1"][-1]
    assert last.params["sizemin"] == str(round(0.01 * 1024 * 1024)) and last.params["sizemax"] == "-1"
    assert last.params["from"] == "2026-06-01 00:00:00" and last.params["to"] == "2026-12-31 23:59:59"
    ui.set_filters(Size_at_least="")
    expect(ui.result_rows()).to_have_count(3)
    ui.screenshot("search")

    ui.search("holiday")  # a new search terminates the old job
    expect(ui.result_rows()).to_have_count(3)
    assert standin.calls_to("/search")[1].body["terminate"] == [results[0].params["id"]]


def test_stop_terminates_a_running_search(ui: NodeUi, standin: StandIn) -> None:
    standin.quiet_polls = 10_000  # the node keeps saying "none yet"
    ui.open()
    ui.search("holiday")
    expect(ui.search_state()).to_contain_text("Searching… 0 results so far.")
    ui.stop_search()
    expect(ui.search_state()).to_have_text("Stopped: 0 results.")
    job = standin.calls_to("/search/result")[0].params["id"]
    expect(ui.page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    assert [call.params for call in standin.calls_to("/search/terminate")] == [{"id": job}]
    polls = len(standin.calls_to("/search/result"))
    ui.page.wait_for_timeout(1200)
    assert len(standin.calls_to("/search/result")) == polls  # no polling after the stop


def test_the_page_objects_find_a_node_by_its_api_file(ui: NodeUi, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(f'{{"host": "127.0.0.1", "port": {standin.port}, "key": "{standin.key}"}}')
    node = NodeUi.of_node(ui.page, tmp_path).open()
    expect(node.peer_rows()).to_have_count(2)


def test_recently_shared_files_show_under_the_search(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.set_download_folder("/srv/peernet")
    ui.go("Search")
    expect(ui.recent_rows()).to_have_count(3)
    assert standin.calls_to("/explore")[0].params == {"limit": "50", "type": "-1"}
    row = ui.recent_rows().filter(has_text="holiday notes.txt")
    row.get_by_role("button", name="Download holiday notes.txt").click()
    expect(ui.page.locator("#recent-state")).to_contain_text("Downloading holiday notes.txt")
    assert standin.calls_to("/download/start")[0].params["path"] == "/srv/peernet/holiday notes.txt"


def test_download_shows_progress_and_pause_resume_cancel_call_the_action_route(ui: NodeUi, standin: StandIn) -> None:
    standin.download_step = 100_000  # 40 polls to finish: time enough to pause
    ui.open()
    ui.set_download_folder("/home/user/Downloads")
    ui.search("holiday film")
    ui.download("holiday film.mkv")
    expect(ui.search_state()).to_contain_text("Downloading holiday film.mkv")
    start = standin.calls_to("/download/start")[0]
    film = standin.network[2]
    assert start.params == {"path": "/home/user/Downloads/holiday film.mkv",
                            "hash": base64.b64decode(film["hash"]).hex(), "node": ALICE}
    ui.go("Downloads")
    ui.wait_download_state("holiday film.mkv", "Downloading")
    expect(ui.download_card("holiday film.mkv").locator("p")).to_contain_text("of 3.8 MiB")
    ui.download_action("holiday film.mkv", "Pause")
    ui.wait_download_state("holiday film.mkv", "Paused")
    paused_at = ui.download_progress("holiday film.mkv")
    assert 0 < paused_at < 100
    ui.screenshot("downloads-paused")
    ui.download_action("holiday film.mkv", "Resume")
    ui.wait_download_state("holiday film.mkv", "Downloading")
    ui.download_action("holiday film.mkv", "Cancel")
    ui.wait_download_state("holiday film.mkv", "Canceled")
    actions = [(c.params["id"], c.params["action"]) for c in standin.calls_to("/download/action")]
    ident = next(iter(standin.downloads))
    assert actions == [(ident, "0"), (ident, "1"), (ident, "2")]
    expect(ui.download_card("holiday film.mkv").get_by_role("button", name="Pause")).to_be_hidden()
    assert standin.downloads[ident]["status"] == 4


def test_a_download_runs_to_the_end(ui: NodeUi, standin: StandIn) -> None:
    standin.download_step = 2_000_000
    ui.open()
    ui.set_download_folder("C:\\Users\\me\\Downloads")
    ui.search("notes")
    ui.download("holiday notes.txt")
    ui.go("Downloads")
    ui.wait_download_state("holiday notes.txt", "Finished")
    assert ui.download_progress("holiday notes.txt") == 100
    expect(ui.page.locator("#downloads-state")).not_to_contain_text("No downloads")
    assert standin.calls_to("/download/start")[0].params["path"] == "C:\\Users\\me\\Downloads\\holiday notes.txt"
    polls = len(standin.calls_to("/download/status"))
    ui.page.wait_for_timeout(1500)
    assert len(standin.calls_to("/download/status")) == polls  # no polling once finished
    ui.screenshot("downloads-finished")


def test_download_without_a_folder_asks_for_one(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.search("notes")
    ui.download("holiday notes.txt")
    expect(ui.heading()).to_have_text("Downloads")
    expect(ui.page.get_by_label("Save downloads in")).to_be_focused()
    assert not standin.calls_to("/download/start")


def test_sharing_by_file_input_uploads_then_publishes(ui: NodeUi, standin: StandIn, tmp_path: Path) -> None:
    report = tmp_path / "report 2026.pdf"
    report.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 40)
    ui.open()
    ui.go("My files")
    ui.page.get_by_label("Folder (optional)").fill("work")
    ui.share_files(report)
    ui.wait_shared("report 2026.pdf")
    upload = standin.calls_to("/warehouse/create")[0]
    assert upload.method == "POST" and upload.body.startswith("multipart/form-data")
    add = standin.calls_to("/blockchain/file/add")[0].body["files"][0]
    stored = next(iter(standin.warehouse))
    assert base64.b64decode(add["hash"]).hex() == stored and standin.warehouse[stored] == report.read_bytes()
    assert (add["name"], add["type"], add["format"], add["folder"]) == ("report 2026.pdf", 5, 1, "work")
    expect(ui.own_file_row("report 2026.pdf")).to_contain_text("Document · PDF")
    ui.screenshot("my-files")
    listed = standin.own_files[0]["id"]
    ui.stop_sharing("report 2026.pdf")
    expect(ui.own_file_row("report 2026.pdf")).to_have_count(0)
    deleted = standin.calls_to("/blockchain/file/delete")[0].body["files"]
    assert [f["id"] for f in deleted] == [listed]
    assert not standin.own_files


def test_sharing_by_drag_and_drop(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.drop_file("song.mp3", b"ID3" + bytes(5000))
    ui.wait_shared("song.mp3")
    add = standin.calls_to("/blockchain/file/add")[0].body["files"][0]
    assert (add["name"], add["type"], add["format"], add["size"]) == ("song.mp3", 4, 6, 5003)


def test_a_peers_profile_and_files(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    expect(ui.peer_rows()).to_have_count(2)
    ui.open_peer(0)  # sorted by node ID: Alice (a1…) first
    expect(ui.heading()).to_have_text("Alice")
    expect(ui.peer_file_rows()).to_have_count(2)
    assert standin.calls_to("/profile/list")[-1].params == {"node": ALICE}
    view = standin.calls_to("/blockchain/view")[-1].params
    assert view["node"] == ALICE and view["type"] == "-1"
    ui.screenshot("peer")


def test_the_own_profile_is_written_and_cleared_fields_deleted(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.save_profile(Name="Bob", Email="bob@example.org")
    write = standin.calls_to("/profile/write")[0].body["fields"]
    assert sorted((f["type"], f["text"]) for f in write) == [(0, "Bob"), (1, "bob@example.org")]
    ui.save_profile(Email="")
    assert standin.calls_to("/profile/delete")[0].body == {"fields": [{"type": 1}]}
    assert standin.profile == {0: {"type": 0, "text": "Bob", "blob": None}}
    ui.screenshot("profile")


def test_a_profile_picture_is_uploaded_as_a_blob_and_shown(ui: NodeUi, standin: StandIn, tmp_path: Path) -> None:
    picture = tmp_path / "me.png"
    picture.write_bytes(base64.b64decode(PNG_1X1))
    ui.open()
    ui.go("Profile")
    ui.wait_profile_loaded()
    ui.page.get_by_label("Picture").set_input_files(str(picture))
    expect(ui.page.get_by_role("img", name="Your picture")).to_be_visible()
    ui.page.get_by_role("button", name="Save profile").click()
    expect(ui.page.locator("#profile-state")).to_contain_text("Profile saved")
    write = standin.calls_to("/profile/write")[0].body["fields"]
    assert write == [{"type": 6, "text": "", "blob": PNG_1X1}]
    ui.page.get_by_role("button", name="Remove picture").click()
    expect(ui.page.get_by_role("img", name="Your picture")).to_be_hidden()
    assert standin.calls_to("/profile/delete")[0].body == {"fields": [{"type": 6}]}


def test_keyboard_only_search_and_download(ui: NodeUi, standin: StandIn) -> None:
    ui.open()
    ui.set_download_folder("/tmp/peernet-downloads")
    page = ui.page
    page.reload()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("link", name="Search", exact=True).focus()
    page.keyboard.press("Enter")
    expect(ui.heading()).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search for")).to_be_focused()
    page.keyboard.type("zip")
    page.keyboard.press("Enter")
    expect(ui.result_rows()).to_have_count(1)
    button = ui.result_row("holiday photos.zip").get_by_role("button", name="Download holiday photos.zip")
    button.focus()
    outline = button.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"  # the focus ring shows
    ui.screenshot("keyboard-focus")
    page.keyboard.press("Enter")
    expect(ui.search_state()).to_contain_text("Downloading holiday photos.zip")
    assert standin.calls_to("/download/start")


def test_every_form_control_has_a_label(ui: NodeUi) -> None:
    ui.open()
    unlabeled = ui.page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')]"
        ".filter(el => !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.id || el.name)")
    assert unlabeled == []


def test_the_ui_is_public_but_the_api_needs_the_key(standin: StandIn) -> None:
    base = f"http://127.0.0.1:{standin.port}"
    page = httpx.get(f"{base}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    script = httpx.get(f"{base}/ui/js/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx.get(f"{base}/ui/..%2f..%2f__init__.py").status_code == 404
    assert httpx.get(f"{base}/ui/nothing.js").status_code == 404
    assert httpx.get(f"{base}/", headers={"host": "evil.example:80"}).status_code == 403
    assert httpx.get(f"{base}/status").status_code == 401
    assert httpx.post(f"{base}/", content=b"x").status_code == 401  # only GET/HEAD reach the UI
    assert httpx.get(f"{base}/status", headers={"x-api-key": standin.key}).json()["countpeerlist"] == 2
    assert re.search(r"/ui/js/app\.js", page.text)


def test_narrow_dark_screens_fit_without_sideways_scrolling(browser: Any, standin: StandIn) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    ui = NodeUi(context.new_page(), f"http://127.0.0.1:{standin.port}", standin.key, ARTIFACTS)
    try:
        ui.open()
        ui.search("holiday")
        expect(ui.result_rows()).to_have_count(3)
        for section in ("Search", "Status", "Downloads", "My files", "Profile"):
            ui.go(section)
            width = ui.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{section} is {width} px wide"
        ui.go("Search")
        ui.screenshot("search-narrow-dark")
    finally:
        context.close()
    assert not ui.script_errors
