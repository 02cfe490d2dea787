"""Protocol constants shared by the codecs and the engine (spec wire.md §2, §5, §6.1, §13)."""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "Action",
    "Command",
    "Feature",
    "ResponseAction",
]

PROTOCOL_VERSION: Final = 0
SIGNATURE_SIZE: Final = 65
PACKET_HEADER_SIZE: Final = 12  # nonce 4 + protocol 1 + command 1 + sequence 4 + payload size 2
PACKET_LENGTH_MIN: Final = PACKET_HEADER_SIZE + SIGNATURE_SIZE  # 77
MAX_RANDOM_GARBAGE: Final = 20
UDP_MAX_PACKET_SIZE: Final = 65535 - 8 - 40  # 65487
MAX_PAYLOAD_SIZE: Final = UDP_MAX_PACKET_SIZE - PACKET_LENGTH_MIN  # 65410
INTERNET_SAFE_MTU: Final = 1280 - 8 - 40  # 1232
NO_FRAGMENT_SIZE: Final = 508
RECEIVE_BUFFER_SIZE: Final = 65536

ANNOUNCEMENT_HEADER_SIZE: Final = 24
RESPONSE_HEADER_SIZE: Final = ANNOUNCEMENT_HEADER_SIZE + 6
USER_AGENT_MAX: Final = 255
PEER_RECORD_SIZE: Final = 70
HASH2PEER_HEADER_SIZE: Final = 34
EMBEDDED_FILE_HEADER_SIZE: Final = 34
INFO_STORE_RECORD_SIZE: Final = 41
KEY_SIZE: Final = 32
# The reference's limit on embedded files; only 65346 bytes really fit next to a 30-byte header.
EMBEDDED_FILE_SIZE_MAX: Final = UDP_MAX_PACKET_SIZE - PACKET_LENGTH_MIN - ANNOUNCEMENT_HEADER_SIZE - 2 - 35
TRAVERSE_HEADER_SIZE: Final = 76 + SIGNATURE_SIZE + 28  # 169
TRANSFER_HEADER_SIZE: Final = 34
TRANSFER_REQUEST_SIZE: Final = 66
GET_BLOCK_HEADER_SIZE: Final = 34
GET_BLOCK_REQUEST_HEADER_SIZE: Final = 68
TRANSFER_MAX_EMBED_SIZE: Final = INTERNET_SAFE_MTU - PACKET_LENGTH_MIN - TRANSFER_HEADER_SIZE  # 1121
LITE_HEADER_SIZE: Final = 18
TRANSFER_MAX_EMBED_SIZE_LITE: Final = INTERNET_SAFE_MTU - LITE_HEADER_SIZE  # 1214

#: The UDP port a node listens on unless configured otherwise.
DEFAULT_PORT: Final = 112
LOCAL_DISCOVERY_PORT: Final = 12912
IPV6_MULTICAST_GROUP: Final = "ff05::112"
IPV4_BROADCAST_PRIVATE_KEY: Final = bytes.fromhex(
    "5e27ecc8e54a24e71dca9ba84a9bf465400e27b8c46a977d34962d3d88558c8e"
)
IPV6_MULTICAST_PRIVATE_KEY: Final = bytes.fromhex(
    "016ad30bfb369926523bf18d136298b6c31d0817e9fb6c21feed89ae22cad788"
)


class Command(enum.IntEnum):
    """The command byte of a full packet."""

    ANNOUNCEMENT = 0
    RESPONSE = 1
    PING = 2
    PONG = 3
    LOCAL_DISCOVERY = 4
    TRAVERSE = 5
    GET_BLOCK = 6
    TRANSFER = 8
    CHAT = 10


class Feature(enum.IntFlag):
    """Feature bits of Announcement, Response and peer records."""

    IPV4_LISTEN = 1 << 0
    IPV6_LISTEN = 1 << 1
    FIREWALL = 1 << 2
    # Bits 3-6 are unused by the reference and preserved in peer records (spec wire.md §16).
    KEYWORD_SEARCH = 1 << 3  # serves network keyword search (peernet_dht)
    EXTENSIONS = 1 << 4  # reads and writes extension items after the last block


class Action(enum.IntFlag):
    """Action bits of an Announcement."""

    FIND_SELF = 1 << 0
    FIND_PEER = 1 << 1
    FIND_VALUE = 1 << 2
    INFO_STORE = 1 << 3


class ResponseAction(enum.IntFlag):
    """Action bits of a Response."""

    SEQUENCE_LAST = 1 << 0
