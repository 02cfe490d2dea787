"""The ``peernet`` command line: run a node, show its identity, list its peers, run a demo network."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import sys
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import trio

from ._config import default_data_dir, format_endpoint, load_config, parse_endpoint, parse_root

__all__ = ["main"]

log = logging.getLogger("peernet")

EXIT_STOPPED = 9  # stopped through the API or because the watched process ended (as the Go launcher)
EXIT_BAD_API_KEY = 10


async def _watch_pid(pid: int, stop: trio.CancelScope) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log.info("process %d ended: stopping", pid)
            stop.cancel()
            return
        except PermissionError:
            pass  # it exists, owned by someone else
        await trio.sleep(1.0)


async def _run_node(args: argparse.Namespace, api_key: uuid.UUID | None) -> int:
    from peernet_proto import UdpTransport

    from ._content import NodeContent
    from ._node import Node
    from .webapi import serve_node_api

    overrides = {
        "listen": args.listen,
        "root_peers": args.root,
        "user_agent": args.user_agent,
        "local_discovery": True if args.local_discovery else None,
        "map_ports": True if args.map_ports else None,
    }
    config, key = load_config(Path(args.data_dir), overrides)
    shutdown = trio.CancelScope()
    with NodeContent(config.data_dir, key) as content, shutdown:
        async with UdpTransport.open(list(config.listen), discovery=config.local_discovery) as transport:
            node = Node(key, transport, user_agent=config.user_agent, root_peers=config.root_peers,
                        local_discovery=config.local_discovery, map_ports=config.map_ports, chain=content.chain)
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                await nursery.start(partial(serve_node_api, key, node.engine, content, binds=args.webapi or
                                            ["127.0.0.1:0"], api_key=api_key, shutdown=shutdown.cancel,
                                            search=node.search))
                if args.watchpid:
                    nursery.start_soon(_watch_pid, args.watchpid, shutdown)
                endpoints = ", ".join(f"{h}:{p}" for h, p in transport.local_endpoints())
                log.info("node %s listening on %s (data in %s)", key.public_key.hex(), endpoints, config.data_dir)
    return EXIT_STOPPED if shutdown.cancel_called else 0


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        api_key = uuid.UUID(args.apikey) if args.apikey else None
    except ValueError:
        print("invalid -apikey: expected a UUID", file=sys.stderr)
        return EXIT_BAD_API_KEY
    with contextlib.suppress(KeyboardInterrupt):
        return trio.run(_run_node, args, api_key)
    return 0


def _cmd_id(args: argparse.Namespace) -> int:
    _, key = load_config(Path(args.data_dir), {})
    print(f"public key {key.public_key.hex()}\nnode ID    {key.public_key.node_id.hex()}")
    return 0


def _api_get(data_dir: str, route: str, params: dict[str, str] | None = None) -> Any:
    import httpx

    from .webapi import API_FILE

    info = json.loads((Path(data_dir) / API_FILE).read_text())
    with httpx.Client(base_url=f"http://{format_endpoint((info['host'], info['port']))}",
                      headers={"x-api-key": info["key"]}, timeout=60) as client:
        response = client.get(route, params=params)
        response.raise_for_status()
        return response.json()


def _cmd_peers(args: argparse.Namespace) -> int:
    import httpx

    try:
        peers = _api_get(args.data_dir, "/status/peers")
    except (OSError, ValueError, httpx.HTTPError) as error:
        print(f"no running node found in {args.data_dir}: {error}", file=sys.stderr)
        return 1
    for peer in peers:
        print(f"{base64.b64decode(peer['peerid']).hex()}  {peer['useragent'] or '-':<24} "
              f"height {peer['blockchainheight']}{'  root' if peer['isroot'] else ''}")
    print(f"{len(peers)} peers")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    import httpx

    try:
        hits = _api_get(args.data_dir, "/search/network", {"term": " ".join(args.text)})
    except (OSError, ValueError, httpx.HTTPError) as error:
        print(f"no running node found in {args.data_dir}: {error}", file=sys.stderr)
        return 1
    for hit in hits:
        print(f"{hit['name']}  {hit['size']} bytes  owner {hit['owner'][:16]}  "
              f"matched {', '.join(hit['keywords'])}{' (exact)' if hit['exact'] else ''}  from {hit['sources']} peers")
    print(f"{len(hits)} results")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    trio.run(run_demo, args.nodes, args.seconds, Path(args.data_dir) if args.data_dir else None)
    return 0


def _cmd_packet_demo(args: argparse.Namespace) -> int:
    from peernet_proto import (
        Announcement,
        Packet,
        PrivateKey,
        decode_message,
        decode_packet,
        encode_message,
        encode_packet,
    )

    alice, bob = PrivateKey.generate(), PrivateKey.generate()
    message = Announcement(features=1, user_agent="peernet-py demo/0.1", find_self=True)
    (payload,) = encode_message(message)
    raw = encode_packet(Packet(0, message.COMMAND, 1, payload), sender=alice, receiver=bob.public_key)
    packet, sender = decode_packet(raw, receiver=bob.public_key)
    print(f"packet alice -> bob, {len(raw)} bytes; bob recovers alice: {sender == alice.public_key}")
    print(decode_message(packet.command, packet.payload))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peernet", description="A Peernet node and tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = str(default_data_dir())

    run = commands.add_parser("run", help="start a node and log its connections")
    run.add_argument("--data-dir", default=data_dir, help=f"key, config and state (default {data_dir})")
    run.add_argument("--listen", action="append", metavar="HOST:PORT", help="listen address (repeatable)")
    run.add_argument("--root", action="append", metavar="PUBKEYHEX@HOST:PORT", help="root peer (repeatable)")
    run.add_argument("--user-agent", metavar="TEXT")
    run.add_argument("--local-discovery", action="store_true", help="IPv4 broadcast / IPv6 multicast discovery")
    run.add_argument("--map-ports", action="store_true", help="map the listening ports with UPnP / NAT-PMP / PCP")
    run.add_argument("--webapi", "-webapi", type=lambda text: text.split(","), metavar="HOST:PORT[,HOST:PORT]",
                     help="local API listen addresses (default 127.0.0.1 on a free port)")
    run.add_argument("--apikey", "-apikey", metavar="UUID", help="local API key (default: a random one)")
    run.add_argument("--watchpid", "-watchpid", type=int, metavar="PID", help="stop when this process ends")
    run.set_defaults(run=_cmd_run)

    ident = commands.add_parser("id", help="show the node's public key and node ID")
    ident.add_argument("--data-dir", default=data_dir)
    ident.set_defaults(run=_cmd_id)

    peers = commands.add_parser("peers", help="list the peers of a running node")
    peers.add_argument("--data-dir", default=data_dir)
    peers.set_defaults(run=_cmd_peers)

    search = commands.add_parser("search", help="search the network by keyword through the running node")
    search.add_argument("text", nargs="+", help="words; quote the whole term for an exact search")
    search.add_argument("--data-dir", default=data_dir)
    search.set_defaults(run=_cmd_search)

    demo = commands.add_parser("demo", help="a small network on loopback: nodes bootstrap from one root")
    demo.add_argument("--nodes", type=int, default=6)
    demo.add_argument("--seconds", type=float, default=12.0)
    demo.add_argument("--data-dir", default=None, help="where the demo nodes keep their data (default: a temporary dir)")
    demo.set_defaults(run=_cmd_demo)

    packet = commands.add_parser("packet-demo", help="encode and decode one packet between two fresh identities")
    packet.set_defaults(run=_cmd_packet_demo)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    for endpoint in getattr(args, "listen", None) or []:
        parse_endpoint(endpoint)
    for root in getattr(args, "root", None) or []:
        parse_root(root)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
