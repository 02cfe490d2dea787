"""The ``peernet`` command line."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]


def _packet_demo(args: argparse.Namespace) -> int:
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
    print(f"alice {alice.public_key.hex()}\nbob   {bob.public_key.hex()}")
    print(f"packet alice -> bob, {len(raw)} bytes: {raw.hex()}")
    print(f"bob recovers sender {sender.hex()} (alice: {sender == alice.public_key})")
    print(f"message: {decode_message(packet.command, packet.payload)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peernet", description="A Peernet node and tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    packet_demo = commands.add_parser("packet-demo", help="encode and decode a packet between two fresh identities")
    packet_demo.set_defaults(run=_packet_demo)
    demo = commands.add_parser("demo", help="a small demonstration on this machine")
    demo.set_defaults(run=_packet_demo)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
