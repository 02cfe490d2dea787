"""PCP client: a thin trio shell over :mod:`._pcp`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import trio

from ._epoch import EpochTracker
from ._errors import MappingRefusedError
from ._pcp import (
    NONCE_SIZE,
    PCP_PORT,
    PcpOpcode,
    PcpResponse,
    PcpResult,
    decode_pcp_response,
    encode_pcp_announce_request,
    encode_pcp_map_request,
)
from ._types import IPAddress, MappingMethod, PortMapping, TransportProtocol
from ._udp import DEFAULT_RETRY_TIMEOUTS, local_address_towards, udp_request

__all__ = ["PcpClient"]


class PcpClient:
    """Talks PCP to one server (IPv4 gateway, or an IPv6 firewall for pinholes). Each mapping
    keeps its nonce for renewals and deletion, as RFC 6887 §11.2 requires."""

    method = MappingMethod.PCP

    def __init__(
        self,
        server: IPAddress,
        *,
        timeouts: Sequence[float] = DEFAULT_RETRY_TIMEOUTS,
        port: int = PCP_PORT,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.gateway = server
        self._timeouts = timeouts
        self._port = port
        self._random_bytes = random_bytes
        self._nonces: dict[tuple[TransportProtocol, int], bytes] = {}
        self._epoch = EpochTracker()
        self._restarted = False

    def take_restart(self) -> bool:
        restarted, self._restarted = self._restarted, False
        return restarted

    async def _exchange(
        self, payload: bytes, opcode: PcpOpcode, nonce: bytes | None = None
    ) -> PcpResponse:
        reply = await udp_request(
            self.gateway, self._port, payload,
            lambda data: decode_pcp_response(data, expected_opcode=opcode, expected_nonce=nonce),
            timeouts=self._timeouts, what="PCP",
        )
        if self._epoch.observe(reply.epoch, trio.current_time()):
            self._restarted = True
        if reply.result != PcpResult.SUCCESS:
            raise MappingRefusedError("PCP", reply.result, reply.description)
        return reply

    async def announce(self) -> None:
        """Probe the server: an ANNOUNCE answered with SUCCESS."""
        client_ip = await local_address_towards(self.gateway)
        await self._exchange(encode_pcp_announce_request(client_ip), PcpOpcode.ANNOUNCE)

    async def map(
        self, protocol: TransportProtocol, internal_port: int, external_port: int, lifetime: int
    ) -> PortMapping:
        key = (protocol, internal_port)
        nonce = self._nonces.get(key) or self._random_bytes(NONCE_SIZE)
        client_ip = await local_address_towards(self.gateway)
        payload = encode_pcp_map_request(
            nonce=nonce, protocol=protocol, client_ip=client_ip, internal_port=internal_port,
            suggested_external_port=external_port, lifetime=lifetime,
        )
        reply = await self._exchange(payload, PcpOpcode.MAP, nonce)
        assert reply.map is not None
        self._nonces[key] = nonce
        return PortMapping(
            method=self.method, protocol=protocol, internal_ip=client_ip,
            internal_port=internal_port, external_ip=reply.map.external_ip,
            external_port=reply.map.external_port, lifetime=reply.lifetime,
            obtained_at=trio.current_time(),
        )

    async def unmap(self, mapping: PortMapping) -> None:
        key = (mapping.protocol, mapping.internal_port)
        nonce = self._nonces.get(key)
        if nonce is None:
            return
        payload = encode_pcp_map_request(
            nonce=nonce, protocol=mapping.protocol, client_ip=mapping.internal_ip,
            internal_port=mapping.internal_port, lifetime=0,
        )
        await self._exchange(payload, PcpOpcode.MAP, nonce)
        del self._nonces[key]
