"""``/warehouse/*`` and ``/file/*`` over a real socket: .NET-style multipart, raw uploads, the
upload limit (refused without filling the disk), tracking, Range requests, content types."""

from __future__ import annotations

import base64
import uuid

import httpx

from peernet.webapi import ApiLimits
from tests.webapi.conftest import Api, running_api

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


def dotnet_multipart(data: bytes, upload_id: str | None) -> tuple[bytes, str]:
    """The body and content type as the SDK's MultipartFormDataContent writes them."""
    boundary = str(uuid.uuid4())
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=File; filename=File; filename*=utf-8''File"
            "\r\n\r\n").encode() + data + b"\r\n"
    if upload_id is not None:
        body += (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; "
                 f"name=id\r\n\r\n{upload_id}\r\n").encode()
    body += f"--{boundary}--\r\n".encode()
    return body, f'multipart/form-data; boundary="{boundary}"'


def hexhash(answer: httpx.Response) -> str:
    return base64.b64decode(answer.json()["hash"]).hex()


def temp_files(api: Api) -> list[str]:
    return [p.name for p in (api.backend.content.warehouse.root / "_Temp").iterdir()]


async def test_dotnet_multipart_upload_with_tracking(tmp_path):
    async with running_api(tmp_path) as api:
        upload_id = (await api.client.get("/warehouse/create/uploadID")).json()
        assert upload_id["apistatus"] == 0 and upload_id["uploadstatus"] == 0
        data = bytes(range(256)) * 5000
        body, kind = dotnet_multipart(data, upload_id["id"])
        answer = await api.client.post("/warehouse/create", content=body, headers={"content-type": kind})
        assert answer.status_code == 200 and answer.json()["status"] == 0
        assert api.backend.content.warehouse.read(bytes.fromhex(hexhash(answer)), 0, len(data) + 1) == data
        track = (await api.client.get("/warehouse/create/track/uploadID", params={"id": upload_id["id"]})).json()
        assert track == {"apistatus": 0, "id": upload_id["id"], "uploadstatus": 5,
                         "progress": {"totalsize": len(data), "uploadedsize": len(data), "percentage": 100.0}}
        unknown = (await api.client.get("/warehouse/create/track/uploadID", params={"id": str(uuid.uuid4())})).json()
        assert unknown["apistatus"] == 1
        assert (await api.client.get("/warehouse/create/track/uploadID", params={"id": "nope"})).status_code == 400
        # the browser form (httpx) works too; no File part or no boundary is a 400
        answer = await api.client.post("/warehouse/create", files={"File": ("a.png", PNG)})
        assert answer.json()["status"] == 0
        answer = await api.client.post("/warehouse/create", files={"Other": ("a", b"x")})
        assert answer.status_code == 400
        bad = await api.client.post("/warehouse/create", content=b"x", headers={"content-type": "multipart/form-data"})
        assert bad.status_code == 400
        assert temp_files(api) == []


async def test_uploads_over_the_limit_are_refused_without_filling_the_disk(tmp_path):
    async with running_api(tmp_path, limits=ApiLimits(upload_size=1 << 20)) as api:
        declared = await api.client.post("/warehouse/create", content=bytes(2 << 20))
        assert declared.status_code == 413

        async def chunked():  # no Content-Length: counted while streaming
            for _ in range(64):
                yield bytes(64 << 10)

        streamed = await api.client.post("/warehouse/create", content=chunked())
        assert streamed.status_code == 413
        body, kind = dotnet_multipart(bytes(2 << 20), None)
        multipart = await api.client.post("/warehouse/create", content=body, headers={"content-type": kind,
                                                                                      "transfer-encoding": "chunked"})
        assert multipart.status_code == 413
        assert temp_files(api) == [] and list(api.backend.content.warehouse) == []
        assert (await api.client.post("/warehouse/create", content=bytes(1 << 20))).json()["status"] == 0
    async with running_api(tmp_path, limits=ApiLimits(free_space_reserve=1 << 60)) as api:
        full = await api.client.post("/warehouse/create", content=b"some data")
        assert full.json() == {"status": 2, "hash": None} and temp_files(api) == []


async def test_warehouse_read_path_and_delete(tmp_path):
    async with running_api(tmp_path) as api:
        source = tmp_path / "source.txt"
        source.write_bytes(b"0123456789")
        answer = await api.client.get("/warehouse/create/path", params={"path": str(source)})
        assert answer.json()["status"] == 0
        file_hash = hexhash(answer)
        assert (await api.client.get("/warehouse/create/path", params={"path": str(tmp_path / "no")})).json()[
            "status"] == 9
        outside = await api.client.get("/warehouse/create/path", params={"path": "/etc/hostname"})
        assert outside.json() == {"status": 7, "hash": None}
        relative = await api.client.get("/warehouse/create/path", params={"path": "source.txt"})
        assert relative.json()["status"] == 7
        read = await api.client.get("/warehouse/read", params={"hash": file_hash, "offset": "2", "limit": "3"})
        assert read.content == b"234"
        assert (await api.client.get("/warehouse/read", params={"hash": file_hash})).content == b"0123456789"
        assert (await api.client.get("/warehouse/read", params={"hash": "00" * 32})).status_code == 404
        assert (await api.client.get("/warehouse/read", params={"hash": "zz"})).status_code == 400
        target = tmp_path / "out dir" / "copy.txt"
        target.parent.mkdir()
        params = {"hash": file_hash, "path": str(target)}
        assert (await api.client.get("/warehouse/read/path", params=params)).json()["status"] == 0
        assert target.read_bytes() == b"0123456789"
        assert (await api.client.get("/warehouse/read/path", params=params)).json()["status"] == 13
        # published files are kept unless forced
        file = {"hash": base64.b64encode(bytes.fromhex(file_hash)).decode(), "type": 1, "format": 10}
        assert (await api.client.post("/blockchain/file/add", json={"files": [file]})).json()["status"] == 0
        assert (await api.client.get("/warehouse/delete", params={"hash": file_hash})).json()["status"] == 10
        forced = await api.client.get("/warehouse/delete", params={"hash": file_hash, "force": "1"})
        assert forced.json()["status"] == 0
        assert (await api.client.get("/warehouse/delete", params={"hash": file_hash})).json()["status"] == 9


async def test_file_read_and_view_with_ranges(tmp_path):
    async with running_api(tmp_path) as api:
        data = bytes(range(256)) * 8
        file_hash = hexhash(await api.client.post("/warehouse/create", content=data))
        node = "AB" * 32
        base = {"hash": file_hash.upper(), "node": node}
        whole = await api.client.get("/file/read", params=base)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "application/octet-stream"
        cases = {"bytes=10-19": (10, 20), "bytes=2000-": (2000, 2048), "bytes=-5": (2043, 2048),
                 "bytes=2040-9999": (2040, 2048)}
        for header, (start, end) in cases.items():
            part = await api.client.get("/file/read", params=base, headers={"range": header})
            assert part.status_code == 206 and part.content == data[start:end], header
            assert part.headers["content-range"] == f"bytes {start}-{end - 1}/2048"
        assert (await api.client.get("/file/read", params=base, headers={"range": "bytes=2048-"})).status_code == 416
        for header in ("bytes=1-2,4-5", "items=1-2", "bytes=5-1"):
            assert (await api.client.get("/file/read", params=base, headers={"range": header})).status_code == 400
        window = await api.client.get("/file/read", params={**base, "offset": "100", "limit": "10"})
        assert window.status_code == 200 and window.content == data[100:110]
        over = await api.client.get("/file/read", params={**base, "offset": "2000", "limit": "100"})
        assert over.status_code == 400 and over.text == "invalid limit\n"
        assert (await api.client.get("/file/read", params={"hash": file_hash, "node": "12"})).status_code == 400
        assert (await api.client.get("/file/read", params={"hash": "00" * 32, "node": node})).status_code == 502
        view = await api.client.get("/file/view", params={**base, "format": "14"}, headers={"range": "bytes=0-0"})
        assert view.status_code == 206 and view.headers["content-type"] == "video/mp4"
        assert view.headers["accept-ranges"] == "bytes"
        head = await api.client.head("/file/view", params=base)
        assert head.status_code == 200 and head.headers["content-length"] == "2048" and head.content == b""
        nocache = await api.client.get("/file/view", params={**base, "nocache": "true"})
        assert nocache.status_code == 502
        png = hexhash(await api.client.post("/warehouse/create", content=PNG))
        assert (await api.client.get("/file/read", params={"hash": png, "node": node})).headers[
            "content-type"] == "image/png"
        text = hexhash(await api.client.post("/warehouse/create", content=b"plain words\n"))
        assert (await api.client.get("/file/read", params={"hash": text, "node": node})).headers[
            "content-type"] == "text/plain; charset=utf-8"


async def test_file_format(tmp_path):
    async with running_api(tmp_path) as api:
        async def detect(path: str) -> dict[str, int]:
            return dict((await api.client.get("/file/format", params={"path": path})).json())

        assert await detect("C:\\Users\\me\\My Videos\\clip.MKV") == {"status": 0, "filetype": 3, "fileformat": 7}
        assert await detect(str(tmp_path / "missing.pdf")) == {"status": 0, "filetype": 5, "fileformat": 1}
        assert await detect("/x/y.unknownext") == {"status": 0, "filetype": 0, "fileformat": 0}
        (tmp_path / "picture").write_bytes(PNG)
        (tmp_path / "notes").write_bytes(b"hello\n")
        assert await detect(str(tmp_path / "picture")) == {"status": 0, "filetype": 2, "fileformat": 5}
        assert await detect(str(tmp_path / "notes")) == {"status": 0, "filetype": 1, "fileformat": 10}
        assert await detect(str(tmp_path / "nothing")) == {"status": 1, "filetype": 0, "fileformat": 0}
        assert (await api.client.get("/file/format")).status_code == 400
