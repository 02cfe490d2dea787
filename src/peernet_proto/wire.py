"""peernet_proto.wire: lower-level pieces of the wire format that a client rarely needs.

Conformance tests, fuzzers and tools use these: size constants, the well-known local discovery
identities, lite packets, the sub-frames inside a :class:`~peernet_proto.Transfer` message, the
observed-address extension, UDT frames and the bound on a packet's random garbage.

Constants (spec wire.md): ``MAX_PAYLOAD_SIZE`` and ``INTERNET_SAFE_MTU`` (bytes on the wire),
``PACKET_LENGTH_MIN`` (the shortest valid packet, bytes), ``EMBEDDED_FILE_SIZE_MAX`` (largest file
embedded in a Response, bytes), ``TRANSFER_MAX_EMBED_SIZE_LITE`` (largest data in one lite packet,
bytes), ``LOCAL_DISCOVERY_PORT`` and ``IPV6_MULTICAST_GROUP`` (where local discovery is sent),
``IPV4_BROADCAST_PRIVATE_KEY``/``IPV6_MULTICAST_PRIVATE_KEY`` (the well-known keys local discovery
packets are encrypted to) and their public keys ``IPV4_BROADCAST_PUBLIC_KEY``/``IPV6_MULTICAST_PUBLIC_KEY``.
"""

from ._constants import (
    EMBEDDED_FILE_SIZE_MAX,
    INTERNET_SAFE_MTU,
    IPV4_BROADCAST_PRIVATE_KEY,
    IPV6_MULTICAST_GROUP,
    IPV6_MULTICAST_PRIVATE_KEY,
    LOCAL_DISCOVERY_PORT,
    MAX_PAYLOAD_SIZE,
    PACKET_LENGTH_MIN,
    TRANSFER_MAX_EMBED_SIZE_LITE,
    Action,
    ResponseAction,
)
from ._extensions import decode_observed_address, encode_observed_address
from ._keys import PrivateKey
from ._lite import LitePacket, decode_lite_packet, encode_lite_packet
from ._packet import garbage_length_bound
from ._transfer import (
    BlockAvailability,
    BlockRange,
    BlockTransferHeader,
    FileTransferHeader,
    GetBlock,
    GetBlockControl,
    TransferControl,
)
from ._udt import (
    UdtAck,
    UdtAck2,
    UdtCongestionWarning,
    UdtControlType,
    UdtData,
    UdtError,
    UdtFrame,
    UdtHandshake,
    UdtKeepAlive,
    UdtMessageDropRequest,
    UdtNak,
    UdtShutdown,
    UdtUserDefined,
    decode_udt_frame,
    encode_udt_frame,
)

#: The well-known identities that local discovery packets are encrypted to (spec wire.md §10.3).
IPV4_BROADCAST_PUBLIC_KEY = PrivateKey(IPV4_BROADCAST_PRIVATE_KEY).public_key
IPV6_MULTICAST_PUBLIC_KEY = PrivateKey(IPV6_MULTICAST_PRIVATE_KEY).public_key

__all__ = [
    "EMBEDDED_FILE_SIZE_MAX",
    "INTERNET_SAFE_MTU",
    "IPV4_BROADCAST_PRIVATE_KEY",
    "IPV4_BROADCAST_PUBLIC_KEY",
    "IPV6_MULTICAST_GROUP",
    "IPV6_MULTICAST_PRIVATE_KEY",
    "IPV6_MULTICAST_PUBLIC_KEY",
    "LOCAL_DISCOVERY_PORT",
    "MAX_PAYLOAD_SIZE",
    "PACKET_LENGTH_MIN",
    "TRANSFER_MAX_EMBED_SIZE_LITE",
    "Action",
    "BlockAvailability",
    "BlockRange",
    "BlockTransferHeader",
    "FileTransferHeader",
    "GetBlock",
    "GetBlockControl",
    "LitePacket",
    "ResponseAction",
    "TransferControl",
    "UdtAck",
    "UdtAck2",
    "UdtCongestionWarning",
    "UdtControlType",
    "UdtData",
    "UdtError",
    "UdtFrame",
    "UdtHandshake",
    "UdtKeepAlive",
    "UdtMessageDropRequest",
    "UdtNak",
    "UdtShutdown",
    "UdtUserDefined",
    "decode_lite_packet",
    "decode_observed_address",
    "decode_udt_frame",
    "encode_lite_packet",
    "encode_observed_address",
    "encode_udt_frame",
    "garbage_length_bound",
]
