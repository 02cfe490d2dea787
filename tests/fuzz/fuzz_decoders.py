"""Coverage-guided fuzzing of every wire decoder with atheris (a long run, outside the test suite).

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz/fuzz_decoders.py -max_total_time=3600

Any exception other than DecodeError is a bug and stops the run with the crashing input saved.
"""

import sys

import atheris

with atheris.instrument_imports():
    from peernet_proto import DecodeError, PrivateKey, decode_message, decode_packet
    from peernet_proto.wire import decode_lite_packet, decode_udt_frame

RECEIVER = PrivateKey(bytes([2]) * 32).public_key


def test_one_input(data: bytes) -> None:
    if not data:
        return
    selector, body = data[0], data[1:]
    try:
        if selector < 200:
            decode_message(selector % 11, body)
        elif selector < 220:
            decode_udt_frame(body)
        elif selector < 240:
            decode_lite_packet(body)
        else:
            decode_packet(body, receiver=RECEIVER)
    except DecodeError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
