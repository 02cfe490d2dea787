"""The wire layer alone: build an Announcement, seal it into a packet for one peer, open it again.

Shows that a packet is encrypted to its receiver's public key and signed by its sender, that the
receiver learns who sent it from the signature alone, and that a tampered packet is refused with a
typed error. No sockets, no engine: bytes in, values out.

    python examples/wire_packet.py
"""

from __future__ import annotations

from peernet_proto import (
    Announcement,
    Command,
    DecodeError,
    Feature,
    Packet,
    PrivateKey,
    Response,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
)


def main() -> None:
    alice, bob = PrivateKey.generate(), PrivateKey.generate()

    # Alice's first packet to Bob: "here I am, who is near me?" (FIND_SELF), with her user agent.
    hello = Announcement(features=Feature.IPV4_LISTEN, user_agent="example/1.0", find_self=True)
    (payload,) = encode_message(hello)  # big messages may need several payloads; this one needs one
    raw = encode_packet(
        Packet(protocol=0, command=Command.ANNOUNCEMENT, sequence=7, payload=payload),
        sender=alice, receiver=bob.public_key,
    )
    print(f"packet: {len(raw)} bytes for a {len(payload)}-byte payload")

    # Bob opens it with his own public key and recovers the sender from the signature.
    packet, sender = decode_packet(raw, receiver=bob.public_key)
    message = decode_message(packet.command, packet.payload)
    assert isinstance(message, Announcement)
    print(f"sender is alice: {sender == alice.public_key}")
    print(f"command {Command(packet.command).name}, sequence {packet.sequence}, user agent {message.user_agent!r}")
    print(f"find_self: {message.find_self}")

    # Bob's answer carries the same sequence; an empty Response is a valid answer.
    (answer,) = encode_message(Response(user_agent="example/1.0"))
    reply = encode_packet(Packet(0, Command.RESPONSE, packet.sequence, answer), sender=bob, receiver=alice.public_key)
    reply_packet, reply_sender = decode_packet(reply, receiver=alice.public_key)
    print(f"reply from bob: {reply_sender == bob.public_key}, sequence {reply_packet.sequence}")

    # Flip one byte. Signatures are recoverable, so there is no separate "verify" step: a changed
    # packet either fails to open (a DecodeError) or opens as coming from some unknown key. Either
    # way it is no longer Alice's: compare the sender with the key you expect.
    tampered = bytearray(raw)
    tampered[20] ^= 0x01
    try:
        _, who = decode_packet(bytes(tampered), receiver=bob.public_key)
        from_alice = who == alice.public_key
    except DecodeError:
        from_alice = False
    print(f"tampered packet still from alice: {from_alice}")


if __name__ == "__main__":
    main()
