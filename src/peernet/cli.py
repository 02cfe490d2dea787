"""The ``peernet`` command line: run a node, show its identity, list its peers, run a demo network."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import trio

from ._config import default_data_dir, load_config, parse_endpoint, parse_root

__all__ = ["main"]

log = logging.getLogger("peernet")


def _peer_json(info: Any) -> dict[str, Any]:
    return {
        "public_key": info.public_key.hex(),
        "node_id": info.node_id.hex(),
        "user_agent": info.user_agent,
        "blockchain_height": info.blockchain_height,
        "blockchain_version": info.blockchain_version,
        "connections": [
            {"remote": f"{r[0]}:{r[1]}", "local": f"{l[0]}:{l[1]}", "status": s, "rtt_ms": None if t is None else round(t * 1000, 2)}
            for r, l, s, t in info.connections
        ],
    }


def _hit_json(hit: Any) -> dict[str, Any]:
    return {
        "name": hit.name,
        "size": hit.size,
        "file_hash": hit.file_hash.hex(),
        "file_id": hit.file_id.hex(),
        "owner": hit.owner.hex(),
        "keywords": sorted(hit.keywords),
        "exact": hit.exact,
        "sources": hit.sources,
    }


async def _run_node(args: argparse.Namespace) -> None:
    from peernet_proto import UdpTransport

    from ._api import serve_api
    from ._node import Node

    overrides = {
        "listen": args.listen,
        "root_peers": args.root,
        "user_agent": args.user_agent,
        "local_discovery": True if args.local_discovery else None,
        "map_ports": True if args.map_ports else None,
    }
    config, key = load_config(Path(args.data_dir), overrides)
    async with UdpTransport.open(list(config.listen), discovery=config.local_discovery) as transport:
        node = Node(key, transport, user_agent=config.user_agent, root_peers=config.root_peers,
                    local_discovery=config.local_discovery, map_ports=config.map_ports)
        service = node.dht.service
        routes = {
            "/peers": lambda: [_peer_json(p) for p in node.engine.peers()],
            "/status": lambda: {"public_key": key.public_key.hex(), "node_id": key.public_key.node_id.hex(),
                                "listen": [f"{h}:{p}" for h, p in transport.local_endpoints()],
                                "peers": len(node.engine),
                                "dht": {"values": len(service.values), "providers": service.values.provider_count,
                                        "keyword_entries": len(service.keywords), "own_entries": service.own_entries}},
        }

        async def search(params: Mapping[str, str]) -> Any:
            text = params.get("q", "")
            if not text:
                raise ValueError("missing q")
            return [_hit_json(hit) for hit in await node.search(text)]

        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            await nursery.start(partial(serve_api, config.data_dir, routes, async_routes={"/search": search}))
            endpoints = ", ".join(f"{h}:{p}" for h, p in transport.local_endpoints())
            log.info("node %s listening on %s (data in %s)", key.public_key.hex(), endpoints, config.data_dir)


def _cmd_run(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(_run_node, args)
    return 0


def _cmd_id(args: argparse.Namespace) -> int:
    _, key = load_config(Path(args.data_dir), {})
    print(f"public key {key.public_key.hex()}\nnode ID    {key.public_key.node_id.hex()}")
    return 0


def _cmd_peers(args: argparse.Namespace) -> int:
    from ._api import query

    try:
        peers = trio.run(query, Path(args.data_dir), "/peers")
    except (OSError, RuntimeError) as error:
        print(f"no running node found in {args.data_dir}: {error}", file=sys.stderr)
        return 1
    for peer in peers:
        where = ", ".join(f"{c['remote']} ({c['status']}, rtt {c['rtt_ms']} ms)" for c in peer["connections"])
        print(f"{peer['public_key']}  {peer['user_agent'] or '-':<24} {where}")
    print(f"{len(peers)} peers")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from ._api import query, search_route

    try:
        hits = trio.run(query, Path(args.data_dir), search_route(" ".join(args.text)))
    except (OSError, RuntimeError) as error:
        print(f"no running node found in {args.data_dir}: {error}", file=sys.stderr)
        return 1
    for hit in hits:
        print(f"{hit['name']}  {hit['size']} bytes  owner {hit['owner'][:16]}  "
              f"matched {', '.join(hit['keywords'])}{' (exact)' if hit['exact'] else ''}  from {hit['sources']} peers")
    print(f"{len(hits)} results")
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    """Print (and with ``--open`` open) the link to the running node's web UI; the key rides in the fragment.

    The browser is given a forwarding page in the data directory, not the link: command lines are public.
    """
    import json
    import webbrowser

    from .ui import ui_link, write_launch_page

    try:
        info = json.loads((Path(args.data_dir) / "api.json").read_text())
        link = ui_link(str(info["host"]), int(info["port"]), str(info["key"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"no running node found in {args.data_dir}: {error}", file=sys.stderr)
        return 1
    print(link)
    if args.open and not webbrowser.open(write_launch_page(Path(args.data_dir), link).as_uri()):
        print("could not start a web browser; open the link above", file=sys.stderr)
    return 0


def _add_ui_command(commands: Any, data_dir: str) -> None:
    ui = commands.add_parser("ui", help="print the link to the running node's web UI (it holds the API key)")
    ui.add_argument("--data-dir", default=data_dir)
    ui.add_argument("--open", action="store_true", help="also open it in the default web browser")
    ui.set_defaults(run=_cmd_ui)


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

    _add_ui_command(commands, data_dir)

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
