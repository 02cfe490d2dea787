"""peernet_proto: the Peernet wire format, peer engine and transports.

No other Peernet layer is imported from here. The codecs are sans-IO: they take and return bytes,
and on invalid input raise only :class:`DecodeError` subclasses.

This namespace holds what a client needs: keys, packets and messages with their codecs, errors, the
engine and its runners (trio's, and a plain-socket one for programs without an event loop),
transports and events. Lower-level wire pieces (lite packets, transfer
sub-frames, UDT frames, size constants) are in :mod:`peernet_proto.wire`; in-memory networks for
tests and simulations in :mod:`peernet_proto.testing`.
"""

from ._announcement import Announcement, InfoStoreFile, LocalDiscovery
from ._behaviour import BaseBehaviour, Behaviour, EngineHost
from ._blocking import SocketRunner
from ._codec import PacketCodec, SignedPacketCodec, TrustedPacketCodec
from ._constants import DEFAULT_PORT, Command, Feature
from ._distance import sort_by_distance
from ._engine import (
    AdmissionPolicy,
    BlockList,
    EngineConfig,
    EngineLimits,
    Outgoing,
    PeerDirectory,
    PeerEngine,
    PeerInfo,
    RequestHandler,
    RootPeer,
    needs_traverse,
    record_endpoints,
)
from ._errors import (
    DecodeError,
    EncodeError,
    InvalidFieldError,
    InvalidKeyError,
    LocalProtocolError,
    MessageTooLargeError,
    PeernetError,
    RemoteProtocolError,
    SignatureError,
    TruncatedError,
)
from ._events import (
    AddressObserved,
    EngineEvent,
    MessageReceived,
    PeerConnected,
    PeerRemoved,
    PongReceived,
    RequestTimedOut,
    ResponseReceived,
)
from ._extensions import ExtensionType, decode_extensions, encode_extensions
from ._interfaces import InterfaceAddress, list_interface_addresses
from ._keys import PrivateKey, PublicKey, hash_data, recover_compact
from ._messages import Message, UnknownCommandError, decode_message, encode_message
from ._packet import Packet, decode_packet, encode_packet
from ._peertable import CLOSEST_PER_KEY
from ._response import EmbeddedFile, Hash2Peer, PeerRecord, Response
from ._runner import EngineRunner
from ._shedding import source_prefix
from ._simple import Chat, Ping, Pong
from ._stats import EngineStatistics
from ._transfer import Transfer
from ._transport import Datagram, DatagramTransport, Endpoint, format_endpoint
from ._traverse import Traverse
from ._udp import ListenAddress, UdpStatistics, UdpTransport, machine_listen_addresses

__version__ = "0.1.0"

__all__ = [
    "CLOSEST_PER_KEY",
    "DEFAULT_PORT",
    "AddressObserved",
    "AdmissionPolicy",
    "Announcement",
    "BaseBehaviour",
    "Behaviour",
    "BlockList",
    "Chat",
    "Command",
    "Datagram",
    "DatagramTransport",
    "DecodeError",
    "EmbeddedFile",
    "EncodeError",
    "Endpoint",
    "EngineConfig",
    "EngineEvent",
    "EngineHost",
    "EngineLimits",
    "EngineRunner",
    "EngineStatistics",
    "ExtensionType",
    "Feature",
    "Hash2Peer",
    "InfoStoreFile",
    "InterfaceAddress",
    "InvalidFieldError",
    "InvalidKeyError",
    "ListenAddress",
    "LocalDiscovery",
    "LocalProtocolError",
    "Message",
    "MessageReceived",
    "MessageTooLargeError",
    "Outgoing",
    "Packet",
    "PacketCodec",
    "PeerConnected",
    "PeerDirectory",
    "PeerEngine",
    "PeerInfo",
    "PeerRecord",
    "PeerRemoved",
    "PeernetError",
    "Ping",
    "Pong",
    "PongReceived",
    "PrivateKey",
    "PublicKey",
    "RemoteProtocolError",
    "RequestHandler",
    "RequestTimedOut",
    "Response",
    "ResponseReceived",
    "RootPeer",
    "SignatureError",
    "SignedPacketCodec",
    "SocketRunner",
    "Transfer",
    "Traverse",
    "TruncatedError",
    "TrustedPacketCodec",
    "UdpStatistics",
    "UdpTransport",
    "UnknownCommandError",
    "__version__",
    "decode_extensions",
    "decode_message",
    "decode_packet",
    "encode_extensions",
    "encode_message",
    "encode_packet",
    "format_endpoint",
    "hash_data",
    "list_interface_addresses",
    "machine_listen_addresses",
    "needs_traverse",
    "record_endpoints",
    "recover_compact",
    "sort_by_distance",
    "source_prefix",
]
