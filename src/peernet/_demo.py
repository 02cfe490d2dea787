"""``peernet demo``: a few content nodes on loopback, end to end.

The nodes bootstrap from the first one; the second shares a file; the last finds it by keyword
(the hit verified against the owner's blockchain, fetched over GetBlock), downloads it over the
transfer layer (UDT in lite packets) and checks its BLAKE3 hash. Every step prints its timing.
Each node keeps its key, blockchain, warehouse and chain cache in its own data directory.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import trio

from peernet_chain import ProfileField
from peernet_proto import PrivateKey, RootPeer, UdpTransport, hash_data

from ._config import format_endpoint
from ._content import NodeContent
from ._node import Node
from ._services import ContentService
from .downloads import DownloadStatus

__all__ = ["run_demo"]

DEMO_FILE = "sunrise over the lighthouse.bin"
DEMO_SIZE = 16 << 20


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def step(self, text: str) -> None:
        now = time.monotonic()
        print(f"[{now - self.start:6.2f} s  +{now - self.last:5.2f} s] {text}", flush=True)
        self.last = now


async def _open_node(stack: AsyncExitStack, base: Path, index: int, roots: list[RootPeer]) -> ContentService:
    directory = base / f"node{index}"
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / "private.key"
    key = PrivateKey.load(key_path) if key_path.exists() else PrivateKey.generate()
    key.save(key_path)
    content = stack.enter_context(NodeContent(directory, key))
    if content.chain.height == 0:
        content.chain.write_profile([ProfileField(0, f"demo node {index}".encode())], int(time.time()))
    transport = await stack.enter_async_context(UdpTransport.open([("127.0.0.1", 0)]))
    node = Node(key, transport, user_agent=f"peernet-py demo/{index}", root_peers=roots, content=content,
                refresh_interval=10.0)
    return ContentService(node, content, sync_interval=0.25)


async def _wait_connected(services: list[ContentService], seconds: float) -> None:
    with trio.move_on_after(seconds):
        while min(len(s.node.engine) for s in services) < len(services) - 1:
            await trio.sleep(0.1)


async def run_demo(count: int, seconds: float, data_dir: Path | None) -> None:
    """Run the demo with ``count`` nodes (at least 3); ``seconds`` bounds each waiting step."""
    count = max(3, count)
    clock = _Clock()
    with tempfile.TemporaryDirectory(prefix="peernet-demo-") as scratch:
        base = data_dir or Path(scratch)
        async with AsyncExitStack() as stack:
            services: list[ContentService] = []
            roots: list[RootPeer] = []
            for index in range(count):
                service = await _open_node(stack, base, index, roots)
                services.append(service)
                endpoint, *_ = service.node.runner.transport.local_endpoints()
                print(f"  node {index}  {format_endpoint(endpoint)}  {service.node.public_key.hex()}")
                if not roots:
                    roots = [RootPeer(service.node.public_key, (endpoint,))]
            async with trio.open_nursery() as nursery:
                for service in services:
                    await nursery.start(service.node.run)
                    await nursery.start(service.run)
                clock.step(f"{count} nodes on loopback (data in {base}); node 0 is the root peer")
                await _wait_connected(services, seconds)
                clock.step(f"peers per node: {[len(s.node.engine) for s in services]}")
                await _share_find_download(services, clock, base, seconds)
                nursery.cancel_scope.cancel()


async def _share_find_download(services: list[ContentService], clock: _Clock, base: Path, seconds: float) -> None:
    owner, seeker = services[1], services[-1]
    source = base / DEMO_FILE
    data = os.urandom(DEMO_SIZE)
    source.write_bytes(data)
    owner.content.share(source, int(time.time()))
    clock.step(f"node 1 shared {DEMO_FILE!r} ({DEMO_SIZE >> 20} MiB, BLAKE3 {hash_data(data).hex()[:16]}…)")
    hit = None
    with trio.move_on_after(seconds):
        while hit is None:
            result = await seeker.search("lighthouse")
            hit = next((h for h in result.hits if h.file_hash == hash_data(data)), None)
            if hit is None:
                await trio.sleep(0.25)
    if hit is None:
        clock.step(f"node {len(services) - 1} did not find the file in time")
        return
    clock.step(f"node {len(services) - 1} found {hit.name!r} by searching 'lighthouse', verified against the "
               f"owner's blockchain ({result.answered} of {result.asked} search peers answered)")
    target = base / "downloads"
    target.mkdir(exist_ok=True)
    download_id = await seeker.start_download(hit.file_hash, None, target)
    with trio.move_on_after(max(seconds, 60.0)):
        while (info := seeker.downloads.info(download_id)) is not None and info.status < DownloadStatus.CANCELED:
            await seeker.downloads.wait_changed()
    info = seeker.downloads.info(download_id)
    if info is None or info.status != DownloadStatus.FINISHED:
        clock.step(f"download did not finish: {info.error if info else 'unknown'}")
        return
    elapsed = time.monotonic() - clock.last
    ok = (target / hit.name).read_bytes() == data
    clock.step(f"downloaded into {target / hit.name}: {DEMO_SIZE / elapsed / (1 << 20):.1f} MiB/s, "
               f"BLAKE3 {'verified' if ok else 'MISMATCH'}")
