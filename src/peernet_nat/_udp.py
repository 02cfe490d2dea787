"""Request/response over UDP with retransmission: the thin I/O shell of NAT-PMP and PCP."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from typing import TypeVar

import trio

from peernet_proto import DecodeError

from ._errors import GatewayNotFoundError, NonceMismatchError, UnexpectedOpcodeError
from ._types import IPAddress

__all__ = ["DEFAULT_RETRY_TIMEOUTS", "local_address_towards", "udp_request"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 6886 starts at 250 ms and doubles; we stop early so that probing stays short.
DEFAULT_RETRY_TIMEOUTS = (0.25, 0.5, 1.0)
MAX_DATAGRAM = 1100


def _family(address: IPAddress) -> socket.AddressFamily:
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


async def udp_request(
    server: IPAddress,
    port: int,
    payload: bytes,
    decode: Callable[[bytes], T],
    *,
    timeouts: Sequence[float] = DEFAULT_RETRY_TIMEOUTS,
    what: str = "request",
) -> T:
    """Send ``payload`` to ``server:port`` and return the first reply ``decode`` accepts.

    Replies that do not decode, or answer another request, are logged and ignored; if none is
    accepted after the last timeout, raise :class:`GatewayNotFoundError` (chained to the last
    decode error, if any)."""
    last_error: DecodeError | None = None
    with trio.socket.socket(_family(server), socket.SOCK_DGRAM) as sock:
        await sock.connect((str(server), port))
        for timeout in timeouts:
            await sock.send(payload)
            with trio.move_on_after(timeout):
                while True:
                    try:
                        data = await sock.recv(MAX_DATAGRAM + 1)
                    except ConnectionRefusedError:
                        # ICMP port unreachable: nothing listens there; wait for the next try
                        await trio.sleep(timeout)
                        continue
                    try:
                        return decode(data)
                    except (NonceMismatchError, UnexpectedOpcodeError) as exc:
                        logger.debug("ignoring stray %s reply from %s: %s", what, server, exc)
                        last_error = exc
                    except DecodeError as exc:
                        logger.info("malformed %s reply from %s: %s", what, server, exc)
                        last_error = exc
    raise GatewayNotFoundError(f"no valid {what} reply from {server}:{port}") from last_error


async def local_address_towards(server: IPAddress) -> IPAddress:
    """The local address the kernel picks to reach ``server`` (no packet is sent)."""
    with trio.socket.socket(_family(server), socket.SOCK_DGRAM) as sock:
        await sock.connect((str(server), 9))
        return ipaddress.ip_address(sock.getsockname()[0])
