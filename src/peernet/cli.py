"""The ``peernet`` command line: run a node, show its identity, list its peers, search, share, list
files, download (see :mod:`peernet._cli_content`), open the web UI, run a demo.

Every expected error (bad input, a damaged file, an OSError, a node already running) is reported
as one line naming the file or option, with exit code 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import trio

from peernet_chain import ChainCorruptError

from . import __version__
from ._cli_content import NoNodeError, add_content_commands
from ._config import default_data_dir, load_config, parse_option
from ._errors import NodeError

__all__ = ["main"]

log = logging.getLogger("peernet")
EXIT_ERROR = 2
EXIT_NO_NODE = 1
EXIT_STOPPED = 9  # stopped through the API or because the watched process ended (as the Go launcher)
EXIT_BAD_API_KEY = 10
_EXPECTED = (NodeError, OSError, ChainCorruptError)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line values checked by the config schema (None: not given)."""
    given = {
        "listen": ("--listen", args.listen),
        "root_peers": ("--root", args.root),
        "user_agent": ("--user-agent", args.user_agent),
        "local_discovery": ("--local-discovery", args.local_discovery),
        "map_ports": ("--map-ports", args.map_ports),
    }
    return {field: None if value is None else parse_option(option, field, value)
            for field, (option, value) in given.items()}


def _cmd_run(args: argparse.Namespace) -> int:
    from ._datadir import DataDirLock
    from ._run import run_node

    try:
        api_key = uuid.UUID(args.apikey) if args.apikey else None
    except ValueError:
        print(f"peernet run: error: invalid -apikey {args.apikey!r}: expected a UUID", file=sys.stderr)
        return EXIT_BAD_API_KEY
    overrides = _overrides(args)
    data_dir = Path(args.data_dir)
    config, key = load_config(data_dir, overrides)
    with DataDirLock(data_dir):
        stopped = trio.run(run_node, config, key, args.webapi or ["127.0.0.1:0"], api_key, args.watchpid)
    return EXIT_STOPPED if stopped else 0


def _cmd_id(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    _, key = load_config(data_dir, {})
    if args.json:
        _print_json({"public_key": key.public_key.hex(), "node_id": key.public_key.node_id.hex(),
                     "data_dir": str(data_dir)})
    else:
        print(f"public key {key.public_key.hex()}\nnode ID    {key.public_key.node_id.hex()}")
    return 0


def _query(args: argparse.Namespace, route: str, params: dict[str, str] | None = None) -> Any:
    """GET ``route`` of the running node's local API (its address and key from ``api.json``)."""
    import httpx

    from ._apifile import read_api_file
    from ._config import format_endpoint

    try:
        info = read_api_file(Path(args.data_dir))
    except FileNotFoundError:
        raise _NoNode(f"no running node found in {args.data_dir} (no api.json)") from None
    try:
        with httpx.Client(base_url=f"http://{format_endpoint((info.host, info.port))}",
                          headers={"x-api-key": info.key}, timeout=120) as client:
            response = client.get(route, params=params)
            response.raise_for_status()
            return response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise _NoNode(f"no running node answers for {args.data_dir}: {error}") from error


class _NoNode(NodeError):
    """No node runs on the data directory (exit 1)."""


def _cmd_peers(args: argparse.Namespace) -> int:
    peers = _query(args, "/status/peers")
    if args.json:
        _print_json(peers)
        return 0
    for peer in peers:
        print(f"{base64.b64decode(peer['peerid']).hex()}  {peer['useragent'] or '-':<24} "
              f"height {peer['blockchainheight']}{'  root' if peer['isroot'] else ''}  "
              f"{', '.join(peer.get('connections', []))}")
    print(f"{len(peers)} peers")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    result = _query(args, "/search/network", {"term": " ".join(args.text)})
    if args.json:
        _print_json(result)
        return 0
    hits, asked, answered = result["hits"], result["asked"], result["answered"]
    for hit in hits:
        exact = " (exact)" if hit["exact"] else ""
        verified = "verified  " if hit.get("verified") else ""
        print(f"{hit['name']}  {hit['size']} bytes  {hit.get('hash', hit['file_hash'])}  "
              f"node {hit.get('node', '')[:16]}  {verified}matched {', '.join(hit['keywords'])}{exact}  "
              f"from {hit['sources']} peers")
    if asked == 0:
        print(f"{len(hits)} results; no peer to ask (the node knows no search peers yet)")
    else:
        print(f"{len(hits)} results; {answered} of {asked} peers answered, {asked - answered} timed out")
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    """Print (and with ``--open`` open) the link to the running node's web UI; the key rides in the fragment.

    The browser is given a forwarding page in the data directory, not the link: command lines are public.
    """
    import webbrowser

    from ._apifile import read_api_file
    from .ui import ui_link, write_launch_page

    try:
        info = read_api_file(Path(args.data_dir))
    except FileNotFoundError:
        raise _NoNode(f"no running node found in {args.data_dir} (no api.json)") from None
    link = ui_link(info.host, info.port, info.key)
    print(link)
    if args.open and not webbrowser.open(write_launch_page(Path(args.data_dir), link).as_uri()):
        print("could not start a web browser; open the link above", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    if not getattr(args, "log_level", None) and not getattr(args, "verbose", False):
        logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own steps

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


def _common() -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="debug logging, and a traceback with every error")
    common.add_argument("--log-level", default=argparse.SUPPRESS, type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], help="log level (default INFO)")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="peernet", description="A Peernet node and tools.", parents=[common])
    parser.add_argument("--version", action="version", version=f"peernet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = str(default_data_dir())

    def command(name: str, help_text: str, run: Any, *, data: bool = True, json_output: bool = False) -> Any:
        sub = commands.add_parser(name, help=help_text, parents=[common])
        if data:
            sub.add_argument("--data-dir", default=data_dir, help=f"key, config and state (default {data_dir})")
        if json_output:
            sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(run=run)
        return sub

    run = command("run", "start a node and log its connections", _cmd_run)
    run.add_argument("--listen", action="append", metavar="HOST:PORT", help="listen address (repeatable)")
    run.add_argument("--root", action="append", metavar="PUBKEYHEX@HOST:PORT", help="root peer (repeatable)")
    run.add_argument("--user-agent", metavar="TEXT")
    run.add_argument("--local-discovery", action=argparse.BooleanOptionalAction,
                     help="IPv4 broadcast / IPv6 multicast discovery")
    run.add_argument("--map-ports", action=argparse.BooleanOptionalAction,
                     help="map the listening ports with UPnP / NAT-PMP / PCP")
    run.add_argument("--webapi", "-webapi", type=lambda text: text.split(","), metavar="HOST:PORT[,HOST:PORT]",
                     help="local API listen addresses (default 127.0.0.1 on a free port)")
    run.add_argument("--apikey", "-apikey", metavar="UUID", help="local API key (default: a random one)")
    run.add_argument("--watchpid", "-watchpid", type=int, metavar="PID", help="stop when this process ends")
    command("id", "show the node's public key and node ID", _cmd_id, json_output=True)
    command("peers", "list the peers of a running node", _cmd_peers, json_output=True)
    search = command("search", "search the network by keyword through the running node", _cmd_search,
                     json_output=True)
    search.add_argument("text", nargs="+", help="words; quote the whole term for an exact search")
    add_content_commands(command)
    ui = command("ui", "print the link to the running node's web UI (it holds the API key)", _cmd_ui)
    ui.add_argument("--open", action="store_true", help="also open it in the default web browser")
    demo = command("demo", "nodes on loopback: share a file on one, find it and download it verified on another",
                   _cmd_demo, data=False)
    demo.add_argument("--nodes", type=int, default=4)
    demo.add_argument("--seconds", type=float, default=20.0, help="the longest wait of each step")
    demo.add_argument("--data-dir", default=None, help="where the demo nodes keep their data (default: temporary)")
    command("packet-demo", "encode and decode one packet between two fresh identities", _cmd_packet_demo, data=False)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = getattr(args, "log_level", None) or (
        "DEBUG" if getattr(args, "verbose", False) or getattr(args, "debug", False) else "INFO"
    )
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    if level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per local API request otherwise


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    if isinstance(error, ChainCorruptError):
        return f"damaged blockchain: {error}"
    return str(error) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 fine, 1 no running node, 2 an error)."""
    args = _parser().parse_args(argv)
    _configure_logging(args)
    try:
        result: int = args.run(args)
        return result
    except KeyboardInterrupt:  # before the node's own signal handling is in place
        return 0 if args.command == "run" else 130
    except BaseException as error:
        leaves = _leaves(error)
        if not all(isinstance(leaf, _EXPECTED) for leaf in leaves):
            raise
        if getattr(args, "debug", False):
            traceback.print_exception(error)
        for leaf in leaves[:1]:
            print(f"peernet {args.command}: error: {_describe(leaf)}", file=sys.stderr)
        return EXIT_NO_NODE if isinstance(leaves[0], _NoNode | NoNodeError) else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
