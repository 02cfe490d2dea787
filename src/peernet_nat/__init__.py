"""peernet_nat: port mapping (UPnP IGD, NAT-PMP, PCP) and reachability for Peernet nodes.

Codecs and state machines are sans-IO (bytes and ``now`` in, values out); the clients are thin
trio shells. Only :mod:`peernet_proto` is imported from the other layers.
"""

from ._epoch import EpochTracker
from ._errors import (
    GatewayNotFoundError,
    HttpError,
    MappingRefusedError,
    NonceMismatchError,
    UnexpectedOpcodeError,
    UnsafeXmlError,
    UnsupportedVersionError,
)
from ._natpmp import (
    NATPMP_PORT,
    NatPmpExternalAddress,
    NatPmpFailure,
    NatPmpMapResponse,
    NatPmpResult,
    decode_natpmp_response,
    encode_natpmp_external_address_request,
    encode_natpmp_map_request,
)
from ._natpmp_client import NatPmpClient
from ._pcp import (
    PCP_PORT,
    PcpMapResult,
    PcpOpcode,
    PcpResponse,
    PcpResult,
    decode_pcp_response,
    encode_pcp_announce_request,
    encode_pcp_map_request,
)
from ._pcp_client import PcpClient
from ._types import IPAddress, MappingMethod, PortMapping, TransportProtocol, is_public_address

__all__ = [
    "NATPMP_PORT",
    "PCP_PORT",
    "EpochTracker",
    "GatewayNotFoundError",
    "HttpError",
    "IPAddress",
    "MappingMethod",
    "MappingRefusedError",
    "NatPmpClient",
    "NatPmpExternalAddress",
    "NatPmpFailure",
    "NatPmpMapResponse",
    "NatPmpResult",
    "NonceMismatchError",
    "PcpClient",
    "PcpMapResult",
    "PcpOpcode",
    "PcpResponse",
    "PcpResult",
    "PortMapping",
    "TransportProtocol",
    "UnexpectedOpcodeError",
    "UnsafeXmlError",
    "UnsupportedVersionError",
    "decode_natpmp_response",
    "decode_pcp_response",
    "encode_natpmp_external_address_request",
    "encode_natpmp_map_request",
    "encode_pcp_announce_request",
    "encode_pcp_map_request",
    "is_public_address",
]
