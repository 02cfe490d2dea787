"""Search jobs over a real socket: POST /search, paging /search/result (cursor and offset, reset
filters, sorts, statistics), /search/statistic, /search/terminate; directories of the own node."""

from __future__ import annotations

import base64
from typing import NamedTuple

import trio

from peernet_proto import PrivateKey
from tests.webapi.conftest import running_api

OWNER = PrivateKey.generate().public_key


class Hit:
    def __init__(self, name: str, size: int, sources: int = 1) -> None:
        self.name, self.size, self.sources = name, size, sources
        self.file_hash, self.file_id, self.owner = bytes([size % 256]) * 32, bytes([size % 256]) * 16, OWNER.to_bytes()
        self.keywords, self.exact = frozenset({"x"}), False


HITS = [Hit("b.txt", 30, 2), Hit("a.jpg", 10, 5), Hit("c.mp4", 20, 1)]


class Outcome(NamedTuple):
    hits: list[Hit]
    asked: int
    answered: int


async def search(term: str) -> Outcome:
    await trio.sleep(0.05)
    return Outcome(HITS if term == "holiday" else [], 3, 2)


async def test_search_job_paging_filters_and_terminate(tmp_path):
    async with running_api(tmp_path, search=search) as api:
        started = await api.client.post("/search", json={"term": "holiday", "timeout": 5, "terminate": [None],
                                                          "maxResults": 10, "sort": 0, "fileType": -1})
        job = started.json()
        assert job["status"] == 0
        first = (await api.client.get("/search/result", params={"id": job["id"], "limit": "2"})).json()
        assert first["status"] == 3 and first["files"] == [] and first["statistic"] is None
        await trio.sleep(0.2)
        page = (await api.client.get("/search/result", params={"id": job["id"], "limit": "2"})).json()
        assert page["status"] == 0 and [f["name"] for f in page["files"]] == ["b.txt", "a.jpg"]
        rest = (await api.client.get("/search/result", params={"id": job["id"], "limit": "2"})).json()
        assert rest["status"] == 1 and [f["name"] for f in rest["files"]] == ["c.mp4"]
        file = rest["files"][0]
        assert (file["type"], file["format"]) == (3, 7) and base64.b64decode(file["nodeid"]) == OWNER.node_id
        assert file["metadata"][0]["number"] == 1 and not any(k.startswith("_") for k in file)
        by_size = (await api.client.get("/search/result", params={
            "id": job["id"], "reset": "1", "sort": "7", "offset": "0", "limit": "10", "stats": "1",
            "filetype": "-1", "fileformat": "-1", "sizemin": "15", "sizemax": "-1"})).json()
        assert [f["size"] for f in by_size["files"]] == [20, 30] and by_size["status"] == 1
        assert by_size["statistic"]["total"] == 3 and by_size["statistic"]["date"] == []
        assert sorted(e["key"] for e in by_size["statistic"]["filetype"]) == [1, 2, 3]
        statistic = (await api.client.get("/search/statistic", params={"id": job["id"]})).json()
        assert statistic["status"] == 0 and statistic["terminated"] is True and statistic["total"] == 3
        assert (await api.client.get("/search/result", params={"id": job["id"], "limit": "-1"})).status_code == 400
        assert (await api.client.get("/search/terminate", params={"id": job["id"]})).status_code == 204
        assert (await api.client.get("/search/terminate", params={"id": job["id"]})).status_code == 404
        gone = (await api.client.get("/search/result", params={"id": job["id"]})).json()
        assert gone == {"status": 2, "files": None, "statistic": None}
        assert (await api.client.get("/search/result", params={"id": "x"})).status_code == 400


async def test_explore_and_directories(tmp_path):
    async with running_api(tmp_path) as api:
        stored = (await api.client.post("/warehouse/create", content=b"shared")).json()
        file = {"hash": stored["hash"], "type": 1, "format": 10, "name": "n.txt"}
        assert (await api.client.post("/blockchain/file/add", json={"files": [file]})).json()["status"] == 0
        own = api.backend.key.public_key.node_id.hex()
        view = (await api.client.get("/blockchain/view", params={"node": own})).json()
        assert view["status"] == 1 and [f["name"] for f in view["files"]] == ["n.txt"]
        assert view["files"][0]["metadata"][-1]["name"] == "Shared By Count"
        assert (await api.client.get("/blockchain/view", params={"node": "ab" * 32})).json()["files"] == []
        assert (await api.client.get("/explore", params={"limit": "10", "type": "-2"})).json() == {
            "status": 1, "files": [], "statistic": None}
        assert (await api.client.get("/merge/directory", params={"hash": "00" * 32})).json()["files"] == []
