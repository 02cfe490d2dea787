"""Keeps port mappings alive: probe, map, renew at half life, re-map after a gateway restart,
resolve conflicts, delete everything on shutdown."""

from __future__ import annotations

import enum
import functools
import ipaddress
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import attrs
import trio

from peernet_proto import PeernetError

from ._errors import MappingRefusedError
from ._gateway import default_gateway
from ._natpmp_client import NatPmpClient
from ._pcp_client import PcpClient
from ._types import IPAddress, MappingMethod, PortMapping, TransportProtocol, is_public_address
from ._upnp_client import discover_upnp

__all__ = [
    "MappingClient",
    "MappingEvent",
    "MappingEventKind",
    "MappingRequest",
    "PortMapper",
    "probe_gateway",
]

logger = logging.getLogger(__name__)

DEFAULT_METHODS = (MappingMethod.PCP, MappingMethod.NATPMP, MappingMethod.UPNP)
UPNP_CONFLICT_CODES = frozenset({718, 724, 727, 728})  # conflict, same-port, wildcard, no-ports
UPNP_ONLY_PERMANENT = 725
PCP_CANNOT_PROVIDE_EXTERNAL = 11
MAX_CONFLICT_RETRIES = 3
FAILURES_BEFORE_REDISCOVERY = 3
MAX_RETRY_DELAY = 60.0


class MappingClient(Protocol):
    """A client of one port mapping protocol (UPnP, NAT-PMP or PCP) as :class:`PortMapper` drives it."""
    method: MappingMethod

    def take_restart(self) -> bool: ...

    async def map(
        self, protocol: TransportProtocol, internal_port: int, external_port: int, lifetime: int
    ) -> PortMapping: ...

    async def unmap(self, mapping: PortMapping) -> None: ...


@attrs.frozen
class MappingRequest:
    """Forward ``external_port`` (0: the same as ``internal_port``) to our ``internal_port``."""

    protocol: TransportProtocol
    internal_port: int
    external_port: int = 0

    @property
    def wanted_external_port(self) -> int:
        return self.external_port or self.internal_port


class MappingEventKind(enum.Enum):
    """What happened to a port mapping."""
    MAPPED = "mapped"
    RENEWED = "renewed"
    REMAPPED = "remapped"  # the gateway lost our mapping (restart) and we made it again
    FAILED = "failed"
    REMOVED = "removed"
    DOUBLE_NAT = "double-nat"  # the external address is private or CGNAT


@attrs.frozen
class MappingEvent:
    """A change of a port mapping requested from the gateway; ``detail`` explains failures."""
    kind: MappingEventKind
    request: MappingRequest
    mapping: PortMapping | None = None
    detail: str = ""


async def probe_gateway(
    methods: Sequence[MappingMethod] = DEFAULT_METHODS,
    *,
    gateway: ipaddress.IPv4Address | None = None,
    timeouts: Sequence[float] = (0.25, 0.5),
    upnp_search_time: float = 1.0,
) -> list[MappingClient]:
    """Probe all ``methods`` concurrently; return the clients that answered, in the order of
    ``methods`` (the order of preference)."""
    gateway = gateway or default_gateway()
    found: dict[MappingMethod, MappingClient] = {}

    async def try_pcp(address: ipaddress.IPv4Address) -> None:
        client = PcpClient(address, timeouts=timeouts)
        await client.announce()
        found[MappingMethod.PCP] = client

    async def try_natpmp(address: ipaddress.IPv4Address) -> None:
        client = NatPmpClient(address, timeouts=timeouts)
        await client.external_address()
        found[MappingMethod.NATPMP] = client

    async def try_upnp() -> None:
        client = await discover_upnp(search_time=upnp_search_time)
        if client is not None:
            found[MappingMethod.UPNP] = client

    async def quietly(method: MappingMethod, probe: Callable[[], Awaitable[None]]) -> None:
        try:
            await probe()
        except (PeernetError, OSError) as exc:
            logger.debug("%s probe failed: %s", method.value, exc)

    async with trio.open_nursery() as nursery:
        for method in methods:
            if method is MappingMethod.UPNP:
                nursery.start_soon(quietly, method, try_upnp)
            elif gateway is not None:
                probe = try_pcp if method is MappingMethod.PCP else try_natpmp
                nursery.start_soon(quietly, method, functools.partial(probe, gateway))
    return [found[method] for method in methods if method in found]


@attrs.define
class _Lease:
    request: MappingRequest
    mapping: PortMapping | None = None
    failures: int = 0
    retry_at: float = 0.0


class PortMapper:
    """Keeps ``requests`` mapped on the first gateway protocol that answers.

    Run :meth:`run` in a nursery; cancel it to stop. On the way out every mapping is deleted
    under a shielded cancel scope bounded by ``cleanup_timeout``. Leases of ``lifetime``
    seconds are renewed at half their lifetime; a gateway restart (epoch check) or three
    failures in a row lead to re-discovery and re-mapping. ``on_event`` gets every change."""

    def __init__(
        self,
        requests: Sequence[MappingRequest],
        *,
        methods: Sequence[MappingMethod] = DEFAULT_METHODS,
        gateway: ipaddress.IPv4Address | None = None,
        lifetime: int = 3600,
        probe_timeouts: Sequence[float] = (0.25, 0.5),
        upnp_search_time: float = 1.0,
        cleanup_timeout: float = 2.0,
        on_event: Callable[[MappingEvent], None] | None = None,
        random_port: Callable[[], int] | None = None,
    ) -> None:
        self._leases = [_Lease(request) for request in requests]
        self._methods = tuple(methods)
        self._gateway = gateway
        self._lifetime = lifetime
        self._probe_timeouts = probe_timeouts
        self._upnp_search_time = upnp_search_time
        self._cleanup_timeout = cleanup_timeout
        self._on_event = on_event or (lambda event: None)
        self._random_port = random_port or (lambda: random.randint(1024, 65535))
        self._client: MappingClient | None = None
        self.double_nat = False
        self._changed = trio.Event()

    @property
    def method(self) -> MappingMethod | None:
        return self._client.method if self._client else None

    @property
    def mappings(self) -> list[PortMapping]:
        return [lease.mapping for lease in self._leases if lease.mapping is not None]

    def external_endpoint(self, internal_port: int) -> tuple[IPAddress, int] | None:
        for mapping in self.mappings:
            if mapping.internal_port == internal_port and mapping.external_ip is not None:
                return mapping.external_ip, mapping.external_port
        return None

    async def wait_changed(self) -> None:
        await self._changed.wait()

    def _emit(self, event: MappingEvent) -> None:
        logger.info("%s %s %s", event.kind.value, event.request, event.detail)
        self._on_event(event)
        self._changed.set()
        self._changed = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Map, then keep mapping until cancelled; ``started`` fires after the first attempt."""
        started = False
        try:
            while True:
                if self._client is None:
                    self._client = await self._discover()
                if self._client is not None:
                    await self._refresh_due()
                if not started:
                    task_status.started()
                    started = True
                await trio.sleep_until(self._next_wakeup())
        finally:
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + self._cleanup_timeout
                await self._remove_all()

    async def _discover(self) -> MappingClient | None:
        clients = await probe_gateway(
            self._methods, gateway=self._gateway, timeouts=self._probe_timeouts,
            upnp_search_time=self._upnp_search_time,
        )
        if not clients:
            for lease in self._leases:
                lease.failures += 1
                lease.retry_at = trio.current_time() + self._retry_delay(lease.failures)
            logger.info("no gateway answered %s", [m.value for m in self._methods])
            return None
        logger.info("mapping with %s", clients[0].method.value)
        return clients[0]

    def _retry_delay(self, failures: int) -> float:
        return float(min(MAX_RETRY_DELAY, 2 ** max(0, failures - 1)))

    def _next_wakeup(self) -> float:
        moments = []
        for lease in self._leases:
            if lease.mapping is None or lease.failures:
                moments.append(lease.retry_at)
            else:
                moments.append(lease.mapping.renew_at)
        return min(moments, default=float("inf"))

    async def _refresh_due(self) -> None:
        now = trio.current_time()
        for lease in self._leases:
            due = lease.retry_at if lease.mapping is None or lease.failures else lease.mapping.renew_at
            if due <= now:
                await self._refresh(lease)
        if self._client is not None and self._client.take_restart():
            await self._remap_all("gateway restarted")

    async def _remap_all(self, reason: str) -> None:
        logger.info("re-mapping everything: %s", reason)
        for lease in self._leases:
            await self._refresh(lease, remap=True)

    async def _refresh(self, lease: _Lease, *, remap: bool = False) -> None:
        client = self._client
        if client is None:
            return
        previous = lease.mapping
        try:
            mapping = await self._map_resolving_conflicts(client, lease.request, previous)
        except (PeernetError, OSError) as exc:
            lease.failures += 1
            lease.retry_at = trio.current_time() + self._retry_delay(lease.failures)
            self._emit(MappingEvent(MappingEventKind.FAILED, lease.request, previous, str(exc)))
            if lease.failures >= FAILURES_BEFORE_REDISCOVERY:
                self._client = None
            return
        lease.mapping, lease.failures = mapping, 0
        if previous is None:
            kind = MappingEventKind.MAPPED
        else:
            kind = MappingEventKind.REMAPPED if remap else MappingEventKind.RENEWED
        self._emit(MappingEvent(kind, lease.request, mapping))
        if mapping.external_ip is not None and not is_public_address(mapping.external_ip) and not self.double_nat:
            self.double_nat = True
            self._emit(
                MappingEvent(MappingEventKind.DOUBLE_NAT, lease.request, mapping,
                             f"external address {mapping.external_ip} is not public")
            )

    async def _map_resolving_conflicts(
        self, client: MappingClient, request: MappingRequest, previous: PortMapping | None
    ) -> PortMapping:
        external_port = previous.external_port if previous else request.wanted_external_port
        lifetime = self._lifetime
        for _ in range(MAX_CONFLICT_RETRIES + 1):
            try:
                return await client.map(request.protocol, request.internal_port, external_port, lifetime)
            except MappingRefusedError as exc:
                if client.method is MappingMethod.UPNP and exc.code == UPNP_ONLY_PERMANENT and lifetime:
                    lifetime = 0
                elif _is_conflict(client.method, exc.code):
                    external_port = self._random_port()
                else:
                    raise
        raise MappingRefusedError(client.method.value, -1, "no free external port found")

    async def _remove_all(self) -> None:
        client = self._client
        for lease in self._leases:
            mapping, lease.mapping = lease.mapping, None
            if mapping is None or client is None:
                continue
            try:
                await client.unmap(mapping)
            except (PeernetError, OSError) as exc:
                logger.info("could not delete %s: %s", mapping, exc)
                continue
            self._emit(MappingEvent(MappingEventKind.REMOVED, lease.request, mapping))


def _is_conflict(method: MappingMethod, code: int) -> bool:
    if method is MappingMethod.UPNP:
        return code in UPNP_CONFLICT_CODES
    return method is MappingMethod.PCP and code == PCP_CANNOT_PROVIDE_EXTERNAL
