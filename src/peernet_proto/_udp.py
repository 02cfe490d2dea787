"""The trio UDP transport: one socket per listen address, plus the local-discovery sockets.

Spec wire.md §1 (one socket per local IP, port 112 else OS-chosen, 65 536-byte receive buffer),
§9.3 (sending never fails loudly) and §10.3 (discovery on port 12912: IPv4 broadcast, IPv6
multicast group ff05::112).
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Final

import attrs
import trio

from ._constants import DEFAULT_PORT, IPV6_MULTICAST_GROUP, LOCAL_DISCOVERY_PORT, RECEIVE_BUFFER_SIZE
from ._interfaces import InterfaceAddress, list_interface_addresses
from ._transport import Datagram, Endpoint, format_endpoint

__all__ = ["ListenAddress", "UdpStatistics", "UdpTransport", "machine_listen_addresses"]

logger = logging.getLogger(__name__)

#: A bare IP listens on port 112, or an OS-chosen port when 112 cannot be bound (as the
#: reference); an ``(ip, port)`` pair binds exactly that port (0: OS-chosen).
ListenAddress = str | Endpoint

IPV4_LIMITED_BROADCAST: Final = "255.255.255.255"
SOCKET_RECEIVE_BUFFER = 4 << 20  # bytes asked for each main socket's kernel receive buffer
_BURST = 32  # datagrams handled in a row before the receive task yields
_MAX_READ_BACKOFF = 8  # datagrams at most followed by a wait without trying to read more
_DEFAULT_PORT_REFUSALS = (errno.EADDRINUSE, errno.EACCES)
# (ip, port or None for "112, else any")
_ListenSpec = tuple[str, int | None]


@attrs.frozen
class UdpStatistics:
    """Counters of a :class:`UdpTransport` since it was opened."""

    datagrams_sent: int
    bytes_sent: int
    datagrams_received: int
    bytes_received: int
    send_errors: int  # swallowed OSErrors and sends from an endpoint that is not open
    dropped: int  # received while the queue was full


@attrs.define(eq=False)
class _Socket:
    sock: trio.socket.SocketType
    raw: socket.socket  # the same socket, for non-blocking calls without a trio checkpoint
    endpoint: Endpoint
    spec: _ListenSpec | None  # None for a discovery socket
    interface: InterfaceAddress | None
    cancel_scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)


def machine_listen_addresses() -> list[InterfaceAddress]:
    """What the wildcard mode listens on: every non-loopback address of the machine."""
    return [address for address in list_interface_addresses() if not address.is_loopback]


def _canonical_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def _family(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _spec(listen: ListenAddress) -> _ListenSpec:
    if isinstance(listen, str):
        return (_canonical_ip(listen), None)
    return (_canonical_ip(listen[0]), listen[1])


class UdpTransport:
    """A :class:`~peernet_proto.DatagramTransport` over trio UDP sockets.

    Open it with ``async with UdpTransport.open(...) as transport``. Received datagrams of every
    socket share one bounded queue; when it is full new datagrams are dropped and counted."""

    def __init__(self, queue_size: int, list_addresses: Callable[[], Sequence[InterfaceAddress]]) -> None:
        self._nursery: trio.Nursery | None = None  # set by open(), once the sockets are bound
        self._list_addresses = list_addresses
        self._sockets: dict[Endpoint, _Socket] = {}
        self._discovery: dict[Endpoint, _Socket] = {}
        self._joined_interfaces: set[int] = set()
        self._queue_in, self._queue_out = trio.open_memory_channel[Datagram](queue_size)
        self._datagrams_sent = self._bytes_sent = self._send_errors = 0
        self._datagrams_received = self._bytes_received = self._dropped = 0
        self._watcher_scope = trio.CancelScope()
        self._receiver: Callable[[bytes, Endpoint, Endpoint], None] | None = None
        self._batch_end: Callable[[], None] | None = None
        self._wildcard = False
        self._closed = False

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        listen: Sequence[ListenAddress] | None = None,
        *,
        discovery: bool = False,
        discovery_port: int = LOCAL_DISCOVERY_PORT,
        queue_size: int = 1000,
        poll_interval: float | None = 10.0,
        list_addresses: Callable[[], Sequence[InterfaceAddress]] = machine_listen_addresses,
    ) -> AsyncIterator[UdpTransport]:
        """Open the sockets; close them all on exit.

        ``listen=None`` is the wildcard mode: one socket (port 112, else any) per address that
        ``list_addresses`` returns, re-read every ``poll_interval`` seconds (None: only on
        :meth:`refresh`). ``discovery`` also opens the two discovery sockets (§10.3)."""
        transport = cls(queue_size, list_addresses)
        try:  # bind first, so that a bind error is raised as is, not in an exception group
            if listen is None:
                transport._wildcard = True
                await transport.refresh()
            else:
                await transport.update(listen)
            if discovery:
                await transport._open_discovery(discovery_port)
        except BaseException:
            transport._close()
            raise
        async with trio.open_nursery() as nursery:
            transport._nursery = nursery
            for entry in [*transport._sockets.values(), *transport._discovery.values()]:
                transport._start_receiving(entry)
            if listen is None and poll_interval is not None:
                nursery.start_soon(transport._watch_addresses, poll_interval)
            try:
                yield transport
            finally:
                transport._close()

    # ---- the DatagramTransport interface ----------------------------------------------------

    def local_endpoints(self) -> Sequence[Endpoint]:
        """The main sockets' endpoints, in the order they were opened."""
        return list(self._sockets)

    def discovery_endpoints(self) -> Sequence[Endpoint]:
        """The discovery sockets' endpoints (``Datagram.local`` of what they receive)."""
        return list(self._discovery)

    async def send(self, data: bytes, destination: Endpoint, local: Endpoint) -> None:
        entry = self._sockets.get(local) or self._sockets.get((_canonical_ip(local[0]), local[1]))
        if entry is None:
            await trio.lowlevel.checkpoint()
            if self._closed:
                raise trio.ClosedResourceError("transport is closed")
            self._send_errors += 1
            logger.info("not sending to %s: no socket on %s", format_endpoint(destination), format_endpoint(local))
            return
        try:
            await entry.sock.sendto(data, destination)
        except (OSError, trio.ClosedResourceError) as error:
            if self._closed:
                raise trio.ClosedResourceError("transport is closed") from error
            self._send_errors += 1
            logger.debug(
                "sending from %s to %s failed: %s", format_endpoint(local), format_endpoint(destination), error
            )
            return
        self._datagrams_sent += 1
        self._bytes_sent += len(data)

    async def receive(self) -> Datagram:
        return await self._queue_out.receive()

    def set_receiver(self, receiver: Callable[[bytes, Endpoint, Endpoint], None] | None) -> None:
        """Hand every datagram to ``receiver(data, source, local)`` straight from the socket's
        receive task instead of queueing it for :meth:`receive` (None: queue again)."""
        self._receiver = receiver

    def set_batch_end(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback()`` after each batch of datagrams handed to the receiver: when a socket has
        nothing more to read, or after a burst of them before other tasks run. A receiver that
        sends its answers from here sends once per wake-up, not once per datagram."""
        self._batch_end = callback

    def send_nowait(self, data: bytes, destination: Endpoint, local: Endpoint) -> bool:
        """Send without waiting; False when the socket would block or ``local`` is not open
        (then :meth:`send` does it, or reports it). Other network errors drop the datagram."""
        entry = self._sockets.get(local)
        if entry is None:
            return False
        try:
            entry.raw.sendto(data, destination)
        except BlockingIOError:
            return False
        except OSError as error:
            self._send_errors += 1
            logger.debug("sending from %s to %s failed: %s", local, destination, error)
            return True
        self._datagrams_sent += 1
        self._bytes_sent += len(data)
        return True

    async def aclose(self) -> None:
        self._close()
        await trio.lowlevel.checkpoint()

    def _close(self) -> None:
        # Only this transport's own tasks are cancelled: never the caller's enclosing scope.
        self._closed = True
        for entry in [*self._sockets.values(), *self._discovery.values()]:
            self._close_socket(entry)
        self._sockets.clear()
        self._discovery.clear()
        self._watcher_scope.cancel()
        self._queue_out.close()

    def statistics(self) -> UdpStatistics:
        return UdpStatistics(
            datagrams_sent=self._datagrams_sent,
            bytes_sent=self._bytes_sent,
            datagrams_received=self._datagrams_received,
            bytes_received=self._bytes_received,
            send_errors=self._send_errors,
            dropped=self._dropped,
        )

    # ---- address changes --------------------------------------------------------------------

    async def update(self, listen: Sequence[ListenAddress]) -> None:
        """Listen on exactly ``listen`` (a set: repeated entries open one socket): open sockets for
        new entries, close the others.

        Raises ``OSError`` if a new socket cannot be bound (those opened before stay open)."""
        await self._apply([_spec(item) for item in listen], strict=True)

    async def refresh(self) -> None:
        """Re-join the multicast group on new interfaces; in the wildcard mode also re-read the
        machine's addresses and follow them (bind failures are logged)."""
        if not self._wildcard:
            self._join_multicast_group()
            await trio.lowlevel.checkpoint()
            return
        await self._apply([(_canonical_ip(item.address), None) for item in self._list_addresses()])
        self._join_multicast_group()

    async def _watch_addresses(self, interval: float) -> None:
        with self._watcher_scope:
            while True:
                await trio.sleep(interval)
                await self.refresh()

    async def _apply(self, wanted: list[_ListenSpec], strict: bool = False) -> None:
        if self._closed:
            raise trio.ClosedResourceError("transport is closed")
        for endpoint, entry in list(self._sockets.items()):
            if entry.spec not in wanted:
                logger.info("closing the socket on %s", format_endpoint(endpoint))
                del self._sockets[endpoint]
                self._close_socket(entry)
        open_specs = {entry.spec for entry in self._sockets.values()}
        missing = [spec for spec in dict.fromkeys(wanted) if spec not in open_specs]
        if not missing:
            await trio.lowlevel.checkpoint()
            return
        interfaces = {_canonical_ip(item.address): item for item in list_interface_addresses()}
        for spec in missing:
            try:
                entry = await self._open_main_socket(spec, interfaces.get(spec[0]))
            except OSError as error:
                if strict:
                    raise
                logger.warning("cannot listen on %s: %s", spec[0], error)
                continue
            logger.info("listening on %s", format_endpoint(entry.endpoint))
            self._start(entry, self._sockets)

    async def _open_main_socket(self, spec: _ListenSpec, interface: InterfaceAddress | None) -> _Socket:
        ip, port = spec
        family = _family(ip)
        raw = socket.socket(family, socket.SOCK_DGRAM)
        sock = trio.socket.from_stdlib_socket(raw)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if interface is not None and interface.index:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, interface.index)
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            _large_buffers(raw)
            try:
                await sock.bind((ip, DEFAULT_PORT if port is None else port))
            except OSError as error:
                if port is not None or error.errno not in _DEFAULT_PORT_REFUSALS:
                    raise
                logger.info("port %d on %s is not available (%s), using any", DEFAULT_PORT, ip, error)
                await sock.bind((ip, 0))
        except BaseException:
            sock.close()
            raise
        name = sock.getsockname()
        return _Socket(sock, raw, (str(name[0]), int(name[1])), spec, interface)

    def _start(self, entry: _Socket, table: dict[Endpoint, _Socket]) -> None:
        table[entry.endpoint] = entry
        if self._nursery is not None:
            self._start_receiving(entry)

    def _start_receiving(self, entry: _Socket) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._receive_loop, entry, name=f"UDP receive {entry.endpoint}")

    def _close_socket(self, entry: _Socket) -> None:
        entry.cancel_scope.cancel()
        entry.sock.close()

    async def _receive_loop(self, entry: _Socket) -> None:
        # After a datagram the socket is read again before waiting, which batches a burst into one
        # wake-up. When such a read finds nothing (one datagram per wake-up: requests and answers
        # in turn), the next 1, 2, 4, then 8 datagrams are followed by the wait straight away.
        with entry.cancel_scope:
            burst = skip = backoff = 0
            draining = False  # the next read follows a datagram, without a wait in between
            while True:
                data: bytes | None = None
                if draining and skip:
                    skip -= 1
                else:
                    try:
                        data, address = entry.raw.recvfrom(RECEIVE_BUFFER_SIZE)
                    except BlockingIOError:
                        pass
                    except ConnectionError as error:  # ICMP reports on some systems; UDP goes on
                        logger.debug("%s: %s", format_endpoint(entry.endpoint), error)
                        continue
                    except OSError as error:
                        if entry.raw.fileno() != -1:  # else closed
                            logger.error("receiving on %s stopped: %s", format_endpoint(entry.endpoint), error)
                        return
                    if draining:
                        backoff = 0 if data is not None else min(_MAX_READ_BACKOFF, 2 * backoff or 1)
                        skip = backoff
                if data is None:
                    if burst:
                        self._end_batch()
                    burst = 0
                    try:
                        await trio.lowlevel.wait_readable(entry.raw)
                    except trio.ClosedResourceError:
                        return
                    draining = False
                    continue
                source = address if len(address) == 2 else (address[0], address[1])  # IPv6: no flow, scope
                if not self._deliver(data, source, entry.endpoint):
                    return
                draining = True
                burst += 1
                if burst >= _BURST:  # let other tasks run during a flood
                    self._end_batch()
                    burst = 0
                    await trio.lowlevel.checkpoint()

    def _end_batch(self) -> None:
        callback = self._batch_end
        if callback is not None and self._receiver is not None:
            try:
                callback()
            except Exception:  # the receiver's bug must not stop the socket
                logger.exception("end-of-batch callback failed")

    def _deliver(self, data: bytes, source: Endpoint, local: Endpoint) -> bool:
        """Hand over one datagram; False when the transport was closed."""
        self._datagrams_received += 1
        self._bytes_received += len(data)
        receiver = self._receiver
        if receiver is not None:
            try:
                receiver(data, source, local)
            except Exception:  # the receiver's bug must not stop the socket
                logger.exception("datagram receiver failed")
            return True
        try:
            self._queue_in.send_nowait(Datagram(data, source, local))
        except trio.WouldBlock:
            self._dropped += 1
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        return True

    # ---- local discovery (§10.3) ------------------------------------------------------------

    async def _open_discovery(self, port: int) -> None:
        for ip in ("0.0.0.0", "::"):
            family = _family(ip)
            raw = socket.socket(family, socket.SOCK_DGRAM)
            sock = trio.socket.from_stdlib_socket(raw)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT"):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                await sock.bind((ip, port))
            except OSError as error:
                sock.close()
                logger.warning("no local discovery on [%s]:%d: %s", ip, port, error)
                continue
            name = sock.getsockname()
            self._start(_Socket(sock, raw, (str(name[0]), int(name[1])), None, None), self._discovery)
        self._join_multicast_group()

    def _join_multicast_group(self) -> None:
        """Join ff05::112 on every interface that has an IPv6 address and was not joined yet."""
        receiver = next((entry for entry in self._discovery.values() if ":" in entry.endpoint[0]), None)
        if receiver is None:
            return
        group = socket.inet_pton(socket.AF_INET6, IPV6_MULTICAST_GROUP)
        for item in list_interface_addresses():
            if not item.is_ipv6 or not item.index or item.index in self._joined_interfaces:
                continue
            try:
                receiver.sock.setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group + struct.pack("@I", item.index)
                )
            except OSError as error:
                logger.debug("cannot join %s on %s: %s", IPV6_MULTICAST_GROUP, item.interface, error)
                continue
            self._joined_interfaces.add(item.index)

    def discovery_destinations(self, local: Endpoint, port: int = LOCAL_DISCOVERY_PORT) -> list[Endpoint]:
        """Where a discovery packet from the main socket ``local`` goes: 255.255.255.255 and the
        directed broadcast (every one for a wildcard socket), or [ff05::112]."""
        if ":" in local[0]:
            return [(IPV6_MULTICAST_GROUP, port)]
        targets = [IPV4_LIMITED_BROADCAST]
        entry = self._sockets.get(local)
        interfaces = [entry.interface] if entry is not None and entry.interface is not None else []
        if local[0] == "0.0.0.0":
            interfaces = [item for item in list_interface_addresses() if not item.is_ipv6]
        for item in interfaces:
            if item.broadcast and not item.address.startswith("169.254."):
                targets.append(item.broadcast)
        return [(target, port) for target in dict.fromkeys(targets)]

    async def send_discovery(self, data: bytes, local: Endpoint, port: int = LOCAL_DISCOVERY_PORT) -> None:
        """Send a discovery packet from the main socket ``local`` to every discovery destination."""
        for destination in self.discovery_destinations(local, port):
            await self.send(data, destination, local)


SOCKET_BUFFER = SOCKET_RECEIVE_BUFFER  # transfers burst whole UDT windows; the kernel caps this at its maximum


def _large_buffers(sock: socket.socket) -> None:
    """Ask for large send and receive buffers (at least 1 MiB where the system allows it)."""
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        except OSError as error:
            logger.debug("cannot set socket buffer %d: %s", option, error)
