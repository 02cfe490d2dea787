"""``peernet demo``: several nodes on loopback bootstrap from one root and fill their peer tables.

Each node has its own data directory with a key and an LMDB blockchain holding a profile name, so
the blockchain height in every Announcement and Response is real.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import trio

from peernet_chain import LocalChain, ProfileField
from peernet_proto import PrivateKey, RootPeer, UdpTransport

from ._node import Node

__all__ = ["run_demo"]


async def run_demo(count: int, seconds: float, data_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="peernet-demo-") as scratch:
        base = data_dir or Path(scratch)
        async with AsyncExitStack() as stack:
            nodes: list[Node] = []
            for index in range(count):
                directory = base / f"node{index}"
                directory.mkdir(parents=True, exist_ok=True)
                key_path = directory / "private.key"
                key = PrivateKey.load(key_path) if key_path.exists() else PrivateKey.generate()
                key.save(key_path)
                chain = stack.enter_context(LocalChain(directory / "blockchain", key))
                if chain.height == 0:
                    chain.write_profile([ProfileField(0, f"demo node {index}".encode())], int(time.time()))
                transport = await stack.enter_async_context(UdpTransport.open([("127.0.0.1", 0)]))
                roots = []
                if nodes:
                    roots = [RootPeer(nodes[0].public_key, tuple(nodes[0].runner.transport.local_endpoints()))]
                nodes.append(Node(key, transport, user_agent=f"peernet-py demo/{index}", root_peers=roots, chain=chain))
            print(f"{count} nodes on loopback, data in {base}; node 0 is the root peer")
            for index, node in enumerate(nodes):
                (host, port), *_ = node.runner.transport.local_endpoints()
                print(f"  node {index}  {host}:{port}  {node.public_key.hex()}")
            async with trio.open_nursery() as nursery:
                for node in nodes:
                    await nursery.start(node.run)
                start = trio.current_time()
                while trio.current_time() - start < seconds:
                    await trio.sleep(2.0)
                    sizes = [len(node.engine) for node in nodes]
                    print(f"t={trio.current_time() - start:4.1f}s peers per node: {sizes}")
                    if all(size == count - 1 for size in sizes):
                        break
                for node in nodes[:2]:
                    print(f"peer table of {node.engine.config.user_agent}:")
                    for peer in node.engine.peers():
                        remote, _, status, rtt = peer.connections[0]
                        rtt_text = "-" if rtt is None else f"{rtt * 1000:.2f} ms"
                        print(f"  {peer.public_key.hex()[:20]}… {peer.user_agent:<20} {remote[0]}:{remote[1]} {status}"
                              f" rtt {rtt_text} blockchain height {peer.blockchain_height}")
                nursery.cancel_scope.cancel()
