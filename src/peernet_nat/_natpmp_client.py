"""NAT-PMP client: a thin trio shell over :mod:`._natpmp`."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import trio

from ._epoch import EpochTracker
from ._errors import MappingRefusedError
from ._natpmp import (
    NATPMP_PORT,
    NatPmpExternalAddress,
    NatPmpFailure,
    NatPmpMapResponse,
    decode_natpmp_response,
    encode_natpmp_external_address_request,
    encode_natpmp_map_request,
    natpmp_opcode,
)
from ._types import MappingMethod, PortMapping, TransportProtocol
from ._udp import DEFAULT_RETRY_TIMEOUTS, local_address_towards, udp_request

__all__ = ["NatPmpClient"]


class NatPmpClient:
    """Talks NAT-PMP to one gateway. ``take_restart()`` tells whether the gateway's epoch showed
    it lost its state since the last call (then every mapping must be made again)."""

    method = MappingMethod.NATPMP

    def __init__(
        self,
        gateway: ipaddress.IPv4Address,
        *,
        timeouts: Sequence[float] = DEFAULT_RETRY_TIMEOUTS,
        port: int = NATPMP_PORT,
    ) -> None:
        self.gateway = gateway
        self._timeouts = timeouts
        self._port = port
        self._epoch = EpochTracker()
        self._restarted = False

    def take_restart(self) -> bool:
        restarted, self._restarted = self._restarted, False
        return restarted

    def _observe_epoch(self, epoch: int) -> None:
        if self._epoch.observe(epoch, trio.current_time()):
            self._restarted = True

    async def external_address(self) -> ipaddress.IPv4Address:
        reply = await udp_request(
            self.gateway, self._port, encode_natpmp_external_address_request(),
            lambda data: decode_natpmp_response(data, expected_opcode=0),
            timeouts=self._timeouts, what="NAT-PMP address",
        )
        self._observe_epoch(reply.epoch)
        if isinstance(reply, NatPmpFailure):
            raise MappingRefusedError("NAT-PMP", reply.result, reply.description)
        assert isinstance(reply, NatPmpExternalAddress)
        return reply.external_ip

    async def _request_mapping(
        self, protocol: TransportProtocol, internal_port: int, external_port: int, lifetime: int
    ) -> NatPmpMapResponse:
        reply = await udp_request(
            self.gateway, self._port,
            encode_natpmp_map_request(protocol, internal_port, external_port, lifetime),
            lambda data: decode_natpmp_response(data, expected_opcode=natpmp_opcode(protocol)),
            timeouts=self._timeouts, what="NAT-PMP mapping",
        )
        self._observe_epoch(reply.epoch)
        if isinstance(reply, NatPmpFailure):
            raise MappingRefusedError("NAT-PMP", reply.result, reply.description)
        assert isinstance(reply, NatPmpMapResponse)
        return reply

    async def map(
        self, protocol: TransportProtocol, internal_port: int, external_port: int, lifetime: int
    ) -> PortMapping:
        external_ip = await self.external_address()
        reply = await self._request_mapping(protocol, internal_port, external_port, lifetime)
        if reply.internal_port != internal_port:
            raise MappingRefusedError("NAT-PMP", -1, "reply for another internal port")
        return PortMapping(
            method=self.method, protocol=protocol,
            internal_ip=await local_address_towards(self.gateway), internal_port=internal_port,
            external_ip=external_ip, external_port=reply.external_port,
            lifetime=reply.lifetime, obtained_at=trio.current_time(),
        )

    async def unmap(self, mapping: PortMapping) -> None:
        await self._request_mapping(mapping.protocol, mapping.internal_port, 0, 0)
