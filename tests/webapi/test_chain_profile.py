"""``/blockchain/*`` and ``/profile/*`` over a real socket: SDK-style bodies (camelCase keys,
nulls, dates without zone), Go's status codes, and malformed input."""

from __future__ import annotations

import base64
import uuid

from tests.webapi.conftest import Api, running_api


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def upload(api: Api, data: bytes) -> str:
    answer = (await api.client.post("/warehouse/create", content=data)).json()
    assert answer["status"] == 0
    return str(answer["hash"])


def browser_file(file_hash: str, name: str, **extra: object) -> dict[str, object]:
    """What the Browser sends to /blockchain/file/add (System.Text.Json camelCase)."""
    return {"id": None, "hash": file_hash, "type": 1, "format": 10, "size": 0, "folder": None, "name": name,
            "description": "", "date": "2024-05-01T10:00:00+02:00", "nodeId": None, "metaData": [],
            "username": None, "sharedByCount": 0, "sharedByGeoIP": None, **extra}


async def test_publish_list_update_and_delete_files(tmp_path):
    async with running_api(tmp_path) as api:
        first = await upload(api, b"first file")
        big = await upload(api, bytes(range(256)) * 4000)  # over 256 KiB: a merkle companion
        created = {"type": 4, "name": "Date Created", "text": "", "blob": None, "date": "2020-01-02T03:04:05",
                   "number": 0}
        custom = {"type": 100, "blob": b64(b"\x01\x02"), "date": None}
        files = [browser_file(first, "a.txt", metaData=[created, custom]),
                 browser_file(big, "b.bin", folder="x/y", format=0)]
        answer = await api.client.post("/blockchain/file/add", json={"files": files})
        assert answer.json() == {"status": 0, "height": 1, "version": 0}
        listed = (await api.client.get("/blockchain/file/list")).json()
        assert listed["status"] == 0 and [f["name"] for f in listed["files"]] == ["a.txt", "b.bin"]
        a, b = listed["files"]
        assert a["size"] == 10 and a["hash"] == first and b["folder"] == "x/y" and b["size"] == 256 * 4000
        assert base64.b64decode(a["nodeid"]) == api.backend.key.public_key.node_id
        assert a["metadata"] == [
            {"type": 4, "name": "Date Created", "text": "", "blob": None, "date": "2020-01-02T03:04:05Z", "number": 0},
            {"type": 100, "name": "", "text": "", "blob": b64(b"\x01\x02"), "date": "0001-01-01T00:00:00Z",
             "number": 0},
        ]
        uuid.UUID(a["id"])
        only = (await api.client.get("/blockchain/file/list", params={"fileFormat": "10"})).json()["files"]
        assert [f["name"] for f in only] == ["a.txt"]
        assert len((await api.client.get("/blockchain/file/list", params={"fileFormat": "x"})).json()["files"]) == 2

        edited = {**a, "name": "renamed.txt", "metadata": []}
        answer = await api.client.post("/blockchain/file/update", json={"files": [edited]})
        assert answer.json()["status"] == 0
        names = [f["name"] for f in (await api.client.get("/blockchain/file/list")).json()["files"]]
        assert names == ["b.bin", "renamed.txt"]
        no_id = await api.client.post("/blockchain/file/update", json={"files": [{**a, "id": None}]})
        assert no_id.status_code == 400

        answer = await api.client.post("/blockchain/file/delete", json={"files": [{"id": a["id"], "hash": a["hash"]}]})
        assert answer.json()["status"] == 0
        assert [f["name"] for f in (await api.client.get("/blockchain/file/list")).json()["files"]] == ["b.bin"]
        assert api.backend.content.warehouse.size(base64.b64decode(first)) is None  # no longer referenced


async def test_add_refuses_unknown_data_and_bad_bodies(tmp_path):
    async with running_api(tmp_path) as api:
        missing = b64(b"\x07" * 32)
        answer = await api.client.post("/blockchain/file/add", json={"files": [browser_file(missing, "x")]})
        assert answer.json() == {"status": 5, "height": 0, "version": 0}
        folder = browser_file(missing, "docs", type=9, format=16)
        assert (await api.client.post("/blockchain/file/add", json={"files": [folder]})).json()["status"] == 0
        for body in (b"", b"{", b"[]", b'{"files":[{"hash":"AAAA"}]}', b'{"files":[{"hash":"%s","type":1.5}]}'
                     % missing.encode(), b'{"files":[{"hash":"%s","type":"1"}]}' % missing.encode(),
                     b'{"files":[{"hash":"%s","type":256}]}' % missing.encode(), b'{"files":{}}',
                     b'{"files":[{"hash":"%s","date":"yesterday"}]}' % missing.encode()):
            response = await api.client.post("/blockchain/file/add", content=body)
            assert response.status_code == 400 and response.text == "\n", body
        too_big = b'{"files":[' + b" " * (17 << 20) + b"]}"
        assert (await api.client.post("/blockchain/file/add", content=too_big)).status_code == 413


async def test_header_append_and_read(tmp_path):
    async with running_api(tmp_path) as api:
        header = (await api.client.get("/blockchain/header")).json()
        assert header == {"peerid": api.backend.key.public_key.hex(), "version": 0, "height": 0}
        profile_record = {"type": 0, "data": b64(b"\x00\x00Alice")}
        assert (await api.client.post("/blockchain/append", json={"records": [profile_record]})).json()["status"] == 0
        bad = {"records": [{"type": 2, "data": b64(b"short")}]}
        assert (await api.client.post("/blockchain/append", json=bad)).json()["status"] == 3
        assert (await api.client.post("/blockchain/append", json={"records": [{"type": 4, "data": ""}]})).json()[
            "status"] == 3
        block = (await api.client.get("/blockchain/read", params={"block": "0"})).json()
        assert block["status"] == 0 and block["blocknumber"] == 0 and block["lastblockhash"] == b64(bytes(32))
        assert block["recordsraw"] == [profile_record]
        assert block["recordsdecoded"] == [{"type": 0, "text": "Alice", "blob": None}]
        missing = (await api.client.get("/blockchain/read", params={"block": "5"})).json()
        assert missing == {"status": 1, "peerid": "", "lastblockhash": None, "blockchainversion": 0, "blocknumber": 0,
                           "recordsraw": None, "recordsdecoded": None}
        for value in (None, "-1", "x"):
            params = {} if value is None else {"block": value}
            assert (await api.client.get("/blockchain/read", params=params)).status_code == 400


async def test_profile_write_list_read_delete(tmp_path):
    async with running_api(tmp_path) as api:
        fields = {"fields": [{"type": 0, "text": "Alice", "blob": None}, {"type": 6, "text": "", "blob": b64(b"PNG")},
                             {"type": 6, "text": "", "blob": None}]}
        assert (await api.client.post("/profile/write", json=fields)).json()["status"] == 0
        listed = (await api.client.get("/profile/list")).json()
        assert listed == {"fields": [{"type": 0, "text": "Alice", "blob": None}, {"type": 6, "text": "", "blob": ""}],
                          "status": 0}
        own = api.backend.key.public_key.node_id.hex().upper()
        assert (await api.client.get("/profile/list", params={"node": own})).json() == listed
        other = (await api.client.get("/profile/list", params={"node": "ab" * 32})).json()
        assert other == {"fields": [], "status": 0}
        for method in ("GET", "POST"):
            read = await api.client.request(method, "/profile/read", params={"field": "0"})
            assert read.json() == {"fields": [{"type": 0, "text": "Alice", "blob": None}], "status": 0}
        assert (await api.client.get("/profile/read", params={"field": "3"})).json() == {"fields": None, "status": 4}
        assert (await api.client.get("/profile/read")).status_code == 400
        assert (await api.client.post("/profile/delete", json={"fields": [{"type": 6}]})).json()["status"] == 0
        assert [f["type"] for f in (await api.client.get("/profile/list")).json()["fields"]] == [0]
        huge = {"fields": [{"type": 6, "blob": b64(bytes(49 << 10))}]}
        assert (await api.client.post("/profile/write", json=huge)).json()["status"] == 3


async def test_another_nodes_profile_comes_from_its_cached_chain(tmp_path):
    from peernet_chain import LocalChain, ProfileField
    from peernet_proto import PrivateKey

    other = PrivateKey.generate()
    with LocalChain(tmp_path / "other-chain", other) as chain:
        chain.write_profile([ProfileField(0, b"Ada"), ProfileField(6, b"\x89PNG picture")], 1_700_000_000)
        state, raws = chain.snapshot()
    node = other.public_key.node_id.hex()
    async with running_api(tmp_path) as api:
        listed = (await api.client.get("/profile/list", params={"node": node})).json()
        assert listed == {"fields": [], "status": 0}  # no chain of it held yet
        cache = api.backend.content.cache
        plan = cache.plan(other.public_key, state.version, state.height)
        assert plan is not None
        cache.store(other.public_key, plan, raws)
        listed = (await api.client.get("/profile/list", params={"node": node})).json()
        assert listed["status"] == 0
        assert [(f["type"], f["text"]) for f in listed["fields"]][:1] == [(0, "Ada")]
        assert base64.b64decode(listed["fields"][1]["blob"]) == b"\x89PNG picture"
        one = (await api.client.get("/profile/read", params={"node": node, "field": 0})).json()
        assert one["status"] == 0 and one["fields"][0]["text"] == "Ada"
        missing = (await api.client.get("/profile/read", params={"node": node, "field": 3})).json()
        assert missing == {"fields": None, "status": 4}
