"""Packet encode/decode throughput against the bare cryptography a packet needs, in the same run.

    .venv/bin/python benchmarks/bench_wire.py

Bare cost = what any implementation must do per packet: Salsa20 over body and signature, BLAKE3
over the signed region, and a secp256k1 compact sign (encode) or public-key recovery (decode),
called directly on the libraries. The ratio is ours / bare; the target is at most 1.25 at 1000 bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import blake3
import coincurve
from Crypto.Cipher import Salsa20

from peernet_proto import Packet, PrivateKey, decode_packet, encode_packet

SIZES = [0, 100, 1000, 1155]  # 1155: the largest payload that keeps a packet within 1232 bytes


def rate(function: Callable[[], object], seconds: float = 0.4, repeats: int = 5) -> float:
    """Best observed calls per second over several timed batches."""
    best = 0.0
    for _ in range(repeats):
        count = 0
        start = time.perf_counter()
        while True:
            for _ in range(50):
                function()
            count += 50
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, count / elapsed)
    return best


def main() -> None:
    sender = PrivateKey(os.urandom(32))
    receiver = PrivateKey(os.urandom(32)).public_key
    raw_sender = coincurve.PrivateKey(sender.to_bytes())
    key = receiver.salsa20_key
    print(f"{'payload':>8} {'encode/s':>10} {'bare/s':>10} {'ratio':>6}   {'decode/s':>10} {'bare/s':>10} {'ratio':>6}")
    for size in SIZES:
        payload = os.urandom(size)
        packet = Packet(0, 0, 1234, payload)
        raw = encode_packet(packet, sender=sender, receiver=receiver)
        body_length = len(raw) - 65 - 4
        plain = os.urandom(body_length)
        signed = raw[:-65]
        nonce8 = raw[:4] * 2

        def bare_encode(nonce8: bytes = nonce8, plain: bytes = plain, raw: bytes = raw) -> None:
            body = Salsa20.new(key=key, nonce=nonce8).encrypt(plain)
            digest = blake3.blake3(raw[:4] + body).digest()
            signature = raw_sender.sign_recoverable(digest, hasher=None)
            Salsa20.new(key=key, nonce=nonce8).encrypt(signature)

        def bare_decode(nonce8: bytes = nonce8, raw: bytes = raw, signed: bytes = signed) -> None:
            signature = Salsa20.new(key=key, nonce=nonce8).encrypt(raw[-65:])
            digest = blake3.blake3(signed).digest()
            rsv = signature[1:] + bytes(((signature[0] - 27) & 3,))
            coincurve.PublicKey.from_signature_and_message(rsv, digest, hasher=None).format()
            Salsa20.new(key=key, nonce=nonce8).encrypt(raw[4:-65])

        ours_encode = rate(lambda packet=packet: encode_packet(packet, sender=sender, receiver=receiver))
        base_encode = rate(bare_encode)
        ours_decode = rate(lambda raw=raw: decode_packet(raw, receiver=receiver))
        base_decode = rate(bare_decode)
        print(
            f"{size:>8} {ours_encode:>10.0f} {base_encode:>10.0f} {base_encode / ours_encode:>6.2f}   "
            f"{ours_decode:>10.0f} {base_decode:>10.0f} {base_decode / ours_decode:>6.2f}"
        )


if __name__ == "__main__":
    main()
