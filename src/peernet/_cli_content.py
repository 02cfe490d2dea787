"""The content commands of ``peernet``: share, files, get, downloads. Each talks to the running node
through its local API (address and key from ``api.json`` in the data directory)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._apifile import read_api_file
from ._config import format_endpoint
from ._errors import NodeError

if TYPE_CHECKING:
    import httpx

__all__ = ["NoNodeError", "add_content_commands", "api_client"]

_FINISHED, _CANCELED = 5, 4


class NoNodeError(NodeError):
    """No node runs on the data directory (exit 1)."""


@contextmanager
def api_client(args: argparse.Namespace, timeout: float = 120.0) -> Iterator[httpx.Client]:
    """An HTTP client for the running node's local API."""
    import httpx  # only the commands that talk to a node need it

    try:
        info = read_api_file(Path(args.data_dir))
    except FileNotFoundError:
        raise NoNodeError(f"no running node found in {args.data_dir} (no api.json)") from None
    with httpx.Client(base_url=f"http://{format_endpoint((info.host, info.port))}",
                      headers={"x-api-key": info.key}, timeout=timeout) as client:
        yield client


def _call(args: argparse.Namespace, method: str, route: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with api_client(args) as client:
            response = client.request(method, route, **kwargs)
    except httpx.HTTPError as error:
        raise NoNodeError(f"no running node answers for {args.data_dir}: {error}") from error
    try:
        body = response.json()
    except ValueError as error:
        raise NodeError(f"{route}: HTTP {response.status_code}, not JSON") from error
    if response.status_code >= 400:
        message = body.get("error") if isinstance(body, dict) else None
        raise NodeError(message or f"{route}: HTTP {response.status_code}")
    return body


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _hex(b64: str | None) -> str:
    return base64.b64decode(b64).hex() if b64 else ""


def _cmd_share(args: argparse.Namespace) -> int:
    shared = []
    for path in args.paths:
        with open(path, "rb") as data:
            stored = _call(args, "POST", "/warehouse/create", content=data)
        if stored.get("status") != 0 or not stored.get("hash"):
            raise NodeError(f"{path}: the node did not store the file (status {stored.get('status')})")
        name = os.path.basename(path)
        added = _call(args, "POST", "/blockchain/file/add", json={"files": [{"hash": stored["hash"], "name": name}]})
        if added.get("status") != 0:
            raise NodeError(f"{path}: the node did not publish the file (status {added.get('status')})")
        shared.append({"hash": _hex(stored["hash"]), "name": name, "size": os.path.getsize(path)})
    if args.json:
        _print_json(shared)
    else:
        for item in shared:
            print(f"shared {item['name']}  {item['size']} bytes  {item['hash']}")
    return 0


def _cmd_files(args: argparse.Namespace) -> int:
    if args.node:
        files = _call(args, "GET", "/blockchain/view", params={"node": args.node, "limit": "10000"})["files"]
    else:
        files = _call(args, "GET", "/blockchain/file/list")["files"]
    rows = [{"hash": _hex(f["hash"]), "name": f["name"], "size": f["size"], "id": f["id"],
             "node": _hex(f.get("nodeid"))} for f in files]
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['hash']}  {row['size']:>12}  {row['name']}")
    print(f"{len(rows)} files")
    return 0


def _target(args: argparse.Namespace) -> tuple[Path, str | None]:
    if args.output is None:
        return Path.cwd(), None
    path = Path(args.output).absolute()
    if path.is_dir():
        return path, None
    return path.parent, path.name


def _cmd_get(args: argparse.Namespace) -> int:
    directory, name = _target(args)
    params = {"hash": args.hash, "directory": str(directory)}
    if args.source:
        params["node"] = args.source
    if name:
        params["name"] = name
    download_id = _call(args, "GET", "/peernet/get", params=params)["id"]
    status = _follow(args, download_id)
    if args.json:
        _print_json(status)
    if status["status"] != _FINISHED:
        print(f"peernet get: error: download failed: {status['error'] or status['status_name']}", file=sys.stderr)
        return 2
    if not args.json:
        print(f"{status['target']}  {status['total']} bytes, verified")
    return 0


def _follow(args: argparse.Namespace, download_id: str) -> Any:
    """Poll the download until it ends; a progress bar on a terminal."""
    def poll() -> Any:
        return _call(args, "GET", "/peernet/downloads", params={"id": download_id})

    if args.json or not sys.stderr.isatty():
        return _wait(poll, lambda status: None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  transient=True) as progress:
        task = progress.add_task(args.hash[:16], total=None)

        def show(status: Any) -> None:
            progress.update(task, total=status["total"] or None, completed=status["done"],
                            description=status["name"] or args.hash[:16])

        return _wait(poll, show)


def _wait(poll: Callable[[], Any], show: Callable[[Any], None]) -> Any:
    while True:
        status = poll()
        show(status)
        if status["status"] in (_FINISHED, _CANCELED):
            return status
        time.sleep(0.2)


def _cmd_downloads(args: argparse.Namespace) -> int:
    downloads = _call(args, "GET", "/peernet/downloads")["downloads"]
    if args.json:
        _print_json(downloads)
        return 0
    for item in downloads:
        print(f"{item['id']}  {item['status_name']:<13} {item['percentage']:>6.2f} %  {item['name']}"
              f"{'  ' + item['error'] if item['error'] else ''}")
    print(f"{len(downloads)} downloads")
    return 0


def add_content_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the content commands with the parser's ``command(name, help, run, json_output=...)``."""
    share = command("share", "share files through the running node", _cmd_share, json_output=True)
    share.add_argument("paths", nargs="+", metavar="PATH")
    files = command("files", "list the files of the running node, or of another node", _cmd_files, json_output=True)
    files.add_argument("node", nargs="?", metavar="NODE", help="node ID (hex); default: the own node")
    get = command("get", "download a file (verified) through the running node", _cmd_get, json_output=True)
    get.add_argument("hash", metavar="HASH", help="BLAKE3 hash of the file (hex)")
    get.add_argument("--from", dest="source", metavar="NODE", help="node ID (hex) of the owner")
    get.add_argument("-o", "--output", metavar="PATH", help="target file or directory (default: here)")
    command("downloads", "list the running node's downloads", _cmd_downloads, json_output=True)
