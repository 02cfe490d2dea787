"""``/download/*`` over a real socket: own files copied from the warehouse into new files only;
other nodes' files fail (status 4) until the node can fetch from peers; unknown IDs, bad actions."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import trio

from tests.webapi.conftest import Api, running_api


async def wait_done(api: Api, download_id: str) -> dict[str, Any]:
    with trio.fail_after(10):
        while True:
            status = (await api.client.get("/download/status", params={"id": download_id})).json()
            if status["downloadstatus"] >= 4:
                return dict(status)
            await trio.sleep(0.02)


async def test_download_own_file_and_refusals(tmp_path):
    async with running_api(tmp_path) as api:
        data = b"own shared file" * 1000
        stored = (await api.client.post("/warehouse/create", content=data)).json()
        file_hash = base64.b64decode(stored["hash"]).hex()
        file = {"hash": stored["hash"], "type": 1, "format": 10, "name": "own.txt"}
        assert (await api.client.post("/blockchain/file/add", json={"files": [file]})).json()["status"] == 0
        own = api.backend.key.public_key.node_id.hex()
        target = tmp_path / "own copy.txt"
        params = {"path": str(target), "hash": file_hash, "node": own}
        started = (await api.client.get("/download/start", params=params)).json()
        assert started["apistatus"] == 0
        done = await wait_done(api, started["id"])
        assert done["downloadstatus"] == 5 and done["progress"] == {
            "totalsize": len(data), "downloadedsize": len(data), "percentage": 100.0}
        assert done["file"]["name"] == "own.txt"
        assert target.read_bytes() == data
        again = (await api.client.get("/download/start", params=params)).json()
        assert again["apistatus"] == 2  # never overwrites
        outside = (await api.client.get("/download/start", params={**params, "path": "/etc/x"})).json()
        assert outside["apistatus"] == 2
        other = {"path": str(tmp_path / "remote.bin"), "hash": file_hash, "node": "ab" * 32}
        failed = await wait_done(api, (await api.client.get("/download/start", params=other)).json()["id"])
        assert failed["downloadstatus"] == 4 and failed["progress"]["percentage"] == 0
        assert not (tmp_path / "remote.bin").exists()
        invalid = await api.client.get("/download/action", params={"id": started["id"], "action": "0"})
        assert invalid.json()["apistatus"] == 4
        bad_action = await api.client.get("/download/action", params={"id": started["id"], "action": "7"})
        assert bad_action.status_code == 400
        unknown = (await api.client.get("/download/status", params={"id": str(uuid.uuid4())})).json()
        assert unknown["apistatus"] == 1
        assert (await api.client.get("/download/start", params={**params, "hash": "zz"})).status_code == 400
