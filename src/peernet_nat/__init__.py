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
from ._gateway import default_gateway, parse_proc_net_route
from ._http import HttpResponse, encode_http_request, http_request, parse_http_response
from ._igd import IgdDescription, UpnpService, decode_igd_description
from ._mapper import (
    MappingClient,
    MappingEvent,
    MappingEventKind,
    MappingRequest,
    PortMapper,
    probe_gateway,
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
from ._reachability import (
    FEATURE_FIREWALL_BIT,
    Endpoint,
    Reachability,
    ReachabilityChanged,
    ReachabilityClass,
    ReachabilityTracker,
)
from ._soap import SoapFault, decode_soap_response, encode_soap_request
from ._ssdp import SsdpResponse, decode_ssdp_response, encode_msearch
from ._types import IPAddress, MappingMethod, PortMapping, TransportProtocol, is_public_address
from ._upnp_client import UpnpClient, UpnpMappingEntry, discover_upnp, search_igd_locations
from ._xml import parse_xml

__version__ = "0.1.0"

__all__ = [
    "FEATURE_FIREWALL_BIT",
    "NATPMP_PORT",
    "PCP_PORT",
    "Endpoint",
    "EpochTracker",
    "GatewayNotFoundError",
    "HttpError",
    "HttpResponse",
    "IPAddress",
    "IgdDescription",
    "MappingClient",
    "MappingEvent",
    "MappingEventKind",
    "MappingMethod",
    "MappingRefusedError",
    "MappingRequest",
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
    "PortMapper",
    "PortMapping",
    "Reachability",
    "ReachabilityChanged",
    "ReachabilityClass",
    "ReachabilityTracker",
    "SoapFault",
    "SsdpResponse",
    "TransportProtocol",
    "UnexpectedOpcodeError",
    "UnsafeXmlError",
    "UnsupportedVersionError",
    "UpnpClient",
    "UpnpMappingEntry",
    "UpnpService",
    "__version__",
    "decode_igd_description",
    "decode_natpmp_response",
    "decode_pcp_response",
    "decode_soap_response",
    "decode_ssdp_response",
    "default_gateway",
    "discover_upnp",
    "encode_http_request",
    "encode_msearch",
    "encode_natpmp_external_address_request",
    "encode_natpmp_map_request",
    "encode_pcp_announce_request",
    "encode_pcp_map_request",
    "encode_soap_request",
    "http_request",
    "is_public_address",
    "parse_http_response",
    "parse_proc_net_route",
    "parse_xml",
    "probe_gateway",
    "search_igd_locations",
]
