"""Status, account, shutdown and the key/Host checks, over a real socket."""

from __future__ import annotations

import base64
import uuid

import httpx

from peernet.webapi import PeerSummary
from peernet_proto import PrivateKey
from tests.webapi.conftest import running_api

PEERS = [
    PeerSummary(k.public_key.to_bytes(), k.public_key.node_id, f"agent {i}", i == 0, i, 2 * i)
    for i, k in enumerate(PrivateKey.generate() for _ in range(3))
]


def _types(value: dict[str, object], expected: dict[str, type]) -> None:
    assert list(value) == list(expected)
    for name, kind in expected.items():
        assert isinstance(value[name], kind) and not (kind is int and isinstance(value[name], bool)), name


async def test_status_and_peers_as_the_browser_reads_them(tmp_path):
    async with running_api(tmp_path) as api:
        response = await api.client.get("/status")
        assert response.headers["content-type"] == "application/json" and response.content.endswith(b"}\n")
        assert response.json() == {"status": 0, "isconnected": False, "countpeerlist": 0, "countnetwork": 0}
        assert (await api.client.get("/status/peers")).json() == []  # never null
    async with running_api(tmp_path, peers=PEERS) as api:
        status = (await api.client.get("/status")).json()
        assert status["isconnected"] is True and status["countpeerlist"] == 3
        peers = (await api.client.get("/status/peers")).json()
        for peer, expected in zip(peers, PEERS, strict=True):
            _types(peer, {"peerid": str, "nodeid": str, "geoip": str, "useragent": str, "isroot": bool,
                          "blockchainheight": int, "blockchainversion": int, "connections": list})
            assert base64.b64decode(peer["peerid"]) == expected.peer_id
            assert base64.b64decode(peer["nodeid"]) == expected.node_id
            assert peer["isroot"] == expected.is_root and peer["blockchainversion"] == expected.blockchain_version


async def test_account_info_config_and_test(tmp_path):
    async with running_api(tmp_path) as api:
        info = (await api.client.get("/account/info")).json()
        public = api.backend.key.public_key
        assert info == {"peerid": public.hex(), "nodeid": public.node_id.hex()}
        assert (await api.client.get("/status/config")).json() == {"blockSize": 50096}
        response = await api.client.get("/test")
        assert response.text == "ok"


async def test_the_key_is_required_on_every_route(tmp_path):
    async with running_api(tmp_path) as api:
        schema = (await api.client.get("/openapi.json")).json()
        async with httpx.AsyncClient(base_url=api.url) as bare:
            for path, methods in [*schema["paths"].items(), ("/no/such/route", {"get": {}})]:
                for method in methods:
                    for headers in ({}, {"x-api-key": "not a uuid"}, {"x-api-key": str(uuid.UUID(int=0))}):
                        response = await bare.request(method, path, headers=headers)
                        assert response.status_code == 401 and response.content == b"", (method, path)
            # k= only where media players and websockets need it, and never over a wrong header
            hexhash = "00" * 32
            read = await bare.get("/file/read", params={"hash": hexhash, "node": hexhash, "k": api.key})
            assert read.status_code == 502  # authenticated, not in the warehouse, no network yet
            assert (await bare.get("/status", params={"k": api.key})).status_code == 401
            wrong = {"x-api-key": "11111111-1111-1111-1111-111111111111"}
            read = await bare.get("/file/read", params={"hash": hexhash, "node": hexhash, "k": api.key}, headers=wrong)
            assert read.status_code == 401
            upper = await bare.get("/status", headers={"X-API-KEY": api.key.upper()})
            assert upper.status_code == 200
        unknown = await api.client.get("/no/such/route")
        assert unknown.status_code == 404 and unknown.text == "404 page not found\n"
        assert (await api.client.get("/status/")).status_code == 404
        assert (await api.client.post("/status")).status_code == 405


async def test_foreign_host_names_are_refused(tmp_path):
    async with running_api(tmp_path) as api:
        assert (await api.client.get("/status", headers={"host": "evil.example:80"})).status_code == 403
        assert (await api.client.get("/status", headers={"host": f"localhost:{api.port}"})).status_code == 200


async def test_account_delete_needs_confirm(tmp_path):
    async with running_api(tmp_path) as api:
        stored = (await api.client.post("/warehouse/create", content=b"my data")).json()
        key_file = api.backend.content.data_dir / "private.key"
        key_file.write_text("x")
        for confirm in (None, "0", "maybe"):
            response = await api.client.get("/account/delete", params={} if confirm is None else {"confirm": confirm})
            assert response.status_code == 204
        assert key_file.exists()
        response = await api.client.get("/account/delete", params={"confirm": "1"})
        assert response.status_code == 200 and response.content == b""
        assert not key_file.exists()
        assert list(api.backend.content.warehouse) == []
        assert (await api.client.get("/blockchain/header")).json()["version"] == 1
        hexhash = base64.b64decode(stored["hash"]).hex()
        assert (await api.client.get("/warehouse/read", params={"hash": hexhash})).status_code == 404


async def test_shutdown_answers_then_stops(tmp_path):
    async with running_api(tmp_path) as api:
        for action in (None, "1", "x"):
            response = await api.client.get("/shutdown", params={} if action is None else {"action": action})
            assert response.status_code == 400 and response.text == "\n"
        assert not api.stopped.is_set()
        response = await api.client.get("/shutdown", params={"action": "0"})
        assert response.json() == {"status": 0}
        await api.stopped.wait()


async def test_network_search_route(tmp_path):
    calls = []

    class Hit:
        name, size, file_hash, file_id, owner = "sunset.jpg", 5, b"\x01" * 32, b"\x02" * 16, b"\x03" * 33
        keywords, exact, sources = frozenset({"sunset"}), True, 2

    class Outcome:
        hits, asked, answered = [Hit()], 3, 2

    async def search(term: str) -> Outcome:
        calls.append(term)
        return Outcome()

    async with running_api(tmp_path, search=search) as api:
        response = await api.client.get("/search/network", params={"term": "sunset & beach/ü"})
        body = response.json()
        assert body["hits"][0]["name"] == "sunset.jpg" and calls == ["sunset & beach/ü"]
        assert (body["asked"], body["answered"]) == (3, 2)
        assert (await api.client.get("/search/network")).status_code == 400
    async with running_api(tmp_path) as api:
        assert (await api.client.get("/search/network", params={"term": "x"})).status_code == 503
