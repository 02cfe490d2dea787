"""Cost-aware rate limits: the work a sender's requests cause, charged to its identity and its
source prefix (issue 14's "a token bucket per peer and per prefix charged by the work").

Work is counted in units: one per request packet, one per key asked (FIND_SELF, FIND_PEER,
FIND_VALUE, INFO_STORE, and every 256 bytes of extension items such as keyword search), one per
record returned, one per KiB answered or relayed. A request is charged what it asks for before
any lookup (and dropped when either bucket cannot pay); what the answer cost is taken after it was
sent, into debt if need be, so the sender's next requests wait. While a peer or its prefix is in
debt, the datagrams from the peer's connections are dropped before decryption (before any
signature work), and its requests from elsewhere before their message is decoded. Other
commands (Transfer, GetBlock, lite packets, answers to our own requests) are not charged here:
their owners bound them.
"""

from __future__ import annotations

from collections.abc import Hashable

from ._announcement import Announcement
from ._constants import Command
from ._keys import PublicKey
from ._messages import Message
from ._response import Response
from ._shedding import PrivateSources, TokenBuckets, prefix_key
from ._simple import Ping
from ._traverse import Traverse

__all__ = ["CHARGED_COMMANDS", "WorkBudget", "answer_cost", "request_cost"]

# The commands whose work is charged: the requests a remote party makes us work for.
CHARGED_COMMANDS = frozenset({int(Command.ANNOUNCEMENT), int(Command.PING), int(Command.TRAVERSE)})
_EXTENSION_BYTES_PER_UNIT = 256
_BYTES_PER_UNIT = 1024


def request_cost(message: Message) -> float:
    """The units ``message`` is charged before it is handled."""
    if isinstance(message, Announcement):
        keys = len(message.find_peer) + len(message.find_value) + len(message.info_store) + int(message.find_self)
        return 1.0 + keys + len(message.extension) // _EXTENSION_BYTES_PER_UNIT
    if isinstance(message, Traverse):
        return 1.0 + len(message.embedded_packet) / _BYTES_PER_UNIT
    if isinstance(message, Ping):
        return 1.0
    return 0.0


def answer_cost(response: Response, payloads: list[bytes]) -> float:
    """The units the answer to a request cost: its records and its bytes."""
    records = sum(len(h.closest) + len(h.storing) for h in response.hash2peers)
    return records + sum(len(p) for p in payloads) / _BYTES_PER_UNIT


class WorkBudget:
    """Token buckets of work units per identity and per source prefix (see the module docstring)."""

    def __init__(
        self,
        *,
        peer_rate: float,
        peer_burst: float,
        prefix_rate: float,
        prefix_burst: float,
        max_buckets: int,
        private_sources: PrivateSources,
    ) -> None:
        self.peers = TokenBuckets(peer_rate, peer_burst, max_buckets)
        self.prefixes = TokenBuckets(prefix_rate, prefix_burst, max_buckets)
        self.private_sources = private_sources

    def _keys(self, sender: PublicKey, host: str) -> tuple[Hashable, str | None]:
        return sender, prefix_key(host, self.private_sources)

    def exhausted(self, sender: PublicKey, host: str, now: float) -> bool:
        """Whether the sender or its prefix is in debt (its requests are dropped undecoded)."""
        identity, prefix = self._keys(sender, host)
        if self.peers.level(identity, now) < 0:
            return True
        return prefix is not None and self.prefixes.level(prefix, now) < 0

    def charge(self, sender: PublicKey, host: str, cost: float, now: float) -> bool:
        """Take ``cost`` units from both buckets; False (nothing taken) when either lacks them."""
        identity, prefix = self._keys(sender, host)
        if not self.peers.charge(identity, cost, now):
            return False
        if prefix is not None and not self.prefixes.charge(prefix, cost, now):
            self.peers.refund(identity, cost)
            return False
        return True

    def debit(self, sender: PublicKey, host: str, cost: float, now: float) -> None:
        """Take ``cost`` units for work done, into debt if need be."""
        identity, prefix = self._keys(sender, host)
        self.peers.debit(identity, cost, now)
        if prefix is not None:
            self.prefixes.debit(prefix, cost, now)
