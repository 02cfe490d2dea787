"""UDT over lite packets (spec wire.md §12.4–§12.5): the frame codec and a sans-IO connection."""

from __future__ import annotations

from .._udt import (
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
from ._config import UDT_HEADER_SIZE, UdtConfig
from ._connection import UDT_SOCKET_TYPE_STREAM, UDT_VERSION, UdtConnection
from ._events import UdtBroken, UdtConnected, UdtDataReceived, UdtEvent, UdtState, UdtStreamEnded
from ._stream import UdtStream

__all__ = [
    "UDT_HEADER_SIZE",
    "UDT_SOCKET_TYPE_STREAM",
    "UDT_VERSION",
    "UdtAck",
    "UdtAck2",
    "UdtBroken",
    "UdtConfig",
    "UdtCongestionWarning",
    "UdtConnected",
    "UdtConnection",
    "UdtControlType",
    "UdtData",
    "UdtDataReceived",
    "UdtError",
    "UdtEvent",
    "UdtFrame",
    "UdtHandshake",
    "UdtKeepAlive",
    "UdtMessageDropRequest",
    "UdtNak",
    "UdtShutdown",
    "UdtState",
    "UdtStream",
    "UdtStreamEnded",
    "UdtUserDefined",
    "decode_udt_frame",
    "encode_udt_frame",
]
