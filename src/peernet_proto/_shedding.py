"""Cheap drops before the costly work: source prefixes, per-prefix token buckets, a replay filter
and stateless return-routability tokens.

Everything here runs on the raw datagram (before decryption and signature recovery) or on a
decrypted packet's sender and source, costs O(1) per datagram and holds a bounded amount of state.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import ipaddress
import os
from collections.abc import Hashable
from typing import Generic, Literal, TypeVar, get_args

import attrs

from ._constants import SIGNATURE_SIZE
from ._keys import PublicKey
from ._peers import is_local_address
from ._transport import Endpoint

__all__ = [
    "PRIVATE_SOURCE_MODES",
    "PrivateSources",
    "RecentKeys",
    "ReplayFilter",
    "RoutabilityTokens",
    "Shedding",
    "TokenBuckets",
    "is_private_source",
    "prefix_key",
    "source_prefix",
]

# How loopback and private LAN sources are grouped for the per-prefix limits (see prefix_key).
PrivateSources = Literal["address", "prefix", "exempt"]
PRIVATE_SOURCE_MODES: tuple[str, ...] = get_args(PrivateSources)
_K = TypeVar("_K", bound=Hashable)


@functools.lru_cache(maxsize=4096)
def source_prefix(host: str) -> str:
    """The prefix a source address shares with its neighbours: /24 for IPv4, /64 for IPv6 (one
    subscriber's allocation), the address itself when it does not parse."""
    if ":" not in host:
        return host.rpartition(".")[0]
    try:
        address = ipaddress.IPv6Address(host.split("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped).rpartition(".")[0]
    return address.packed[:8].hex()


@functools.lru_cache(maxsize=4096)
def is_private_source(host: str) -> bool:
    """Loopback and private LAN sources (one shared prefix holds a whole network there)."""
    if host.startswith("127.") or host == "::1":
        return True
    return is_local_address(host)


@functools.lru_cache(maxsize=4096)  # per packet, for the same few sources
def prefix_key(host: str, private_sources: PrivateSources = "address") -> str | None:
    """The key a source's per-prefix limits are counted under; None when it has none.

    Public sources share their :func:`source_prefix` (/24, /64). Loopback and private LAN sources
    (where one prefix holds a whole network, or every node of a test on one machine) follow
    ``private_sources``: ``"address"`` (the default) gives each local address its own share, so
    local nodes do not crowd each other out while a local attacker on one address is limited like
    a remote prefix; ``"prefix"`` treats them as public sources; ``"exempt"`` applies no per-prefix
    limit to them at all."""
    if not is_private_source(host):
        return source_prefix(host)
    if private_sources == "address":
        return "=" + host
    if private_sources == "prefix":
        return source_prefix(host)
    return None


class TokenBuckets:
    """One token bucket per key (``rate`` tokens a second up to ``burst``), at most ``max_keys`` of
    them: when full, the least recently charged bucket is forgotten (it starts full again)."""

    def __init__(self, rate: float, burst: float, max_keys: int) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: collections.OrderedDict[Hashable, list[float]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def charge(self, key: Hashable, cost: float, now: float) -> bool:
        """Take ``cost`` tokens from ``key``'s bucket; False (and nothing taken) when it has too few."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.popitem(last=False)
            bucket = self._buckets[key] = [self.burst, now]
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] < cost:
            return False
        bucket[0] -= cost
        return True

    def refund(self, key: Hashable, cost: float) -> None:
        """Give back ``cost`` tokens just taken by :meth:`charge` (never above the burst)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + cost)

    def level(self, key: Hashable, now: float) -> float:
        """The tokens ``key``'s bucket holds at ``now`` (negative: in debt); a full bucket when unknown."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.burst
        return min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)

    def debit(self, key: Hashable, cost: float, now: float) -> None:
        """Take ``cost`` tokens for work already done, into debt if need be (at most one burst
        deep): the key's next requests wait until the debt is paid."""
        self.charge(key, 0.0, now)  # creates or refills the bucket (False when already in debt)
        bucket = self._buckets[key]
        bucket[0] = max(-self.burst, bucket[0] - cost)


class RecentKeys(Generic[_K]):
    """The last ``capacity`` keys remembered within ``window`` seconds: O(1) a call, bounded state
    (the oldest is forgotten when full; those out of the window are forgotten every 64 calls to
    :meth:`remember`, and :meth:`seen` ignores them meanwhile)."""

    def __init__(self, capacity: int, window: float) -> None:
        self.capacity, self.window = capacity, window
        self._seen: collections.OrderedDict[_K, float] = collections.OrderedDict()
        self._remembered = 0

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, key: _K, now: float) -> bool:
        """Whether ``key`` was remembered within the window."""
        at = self._seen.get(key)
        return at is not None and now - at <= self.window

    def remember(self, key: _K, now: float) -> None:
        """Remember ``key`` as seen at ``now``."""
        seen = self._seen
        if key in seen:
            seen.move_to_end(key)
        seen[key] = now
        if len(seen) > self.capacity:
            seen.popitem(last=False)
        self._remembered += 1
        if not self._remembered & 63:
            while seen:
                oldest, at = next(iter(seen.items()))
                if now - at <= self.window:
                    break
                del seen[oldest]

    def forget(self, key: _K) -> None:
        """Forget ``key`` (nothing when unknown)."""
        self._seen.pop(key, None)


class ReplayFilter(RecentKeys[bytes]):
    """Digests of the last ``capacity`` valid datagrams seen within ``window`` seconds: a datagram
    seen before is a replay (the sender's random nonce and padding make every genuine packet
    differ). Checked before decryption; remembered only once the packet proved valid."""

    @staticmethod
    def digest(data: bytes) -> bytes:
        """The digest a datagram is remembered by: that of its signed part (nonce and body), so a
        replay whose signature was re-encoded is still the same packet. ECDSA signatures are
        malleable: (r, n - s) with the other recovery id is valid too and recovers the same signer,
        and anyone can compute it, the obfuscation key being the receiver's public key."""
        signed = memoryview(data)[:-SIGNATURE_SIZE] if len(data) > SIGNATURE_SIZE else data
        return hashlib.blake2b(signed, digest_size=16).digest()


class RoutabilityTokens:
    """Stateless tokens proving that a sender receives at its source address: the sequence of a
    request we send there is a keyed hash of (key, address, epoch); the answer echoes it. Valid for
    the current and the previous epoch of ``epoch`` seconds."""

    def __init__(
        self, epoch: float = 30.0, secret: bytes | None = None, *, repeat_after: float = 2.0, remembered: int = 4096
    ) -> None:
        self.epoch = epoch
        self._secret = secret if secret is not None else os.urandom(32)
        self._challenged: RecentKeys[tuple[PublicKey, Endpoint]] = RecentKeys(remembered, repeat_after)

    def token(self, sender: PublicKey, source: Endpoint, now: float) -> int:
        """The sequence to send to ``sender`` at ``source``."""
        return self._at(sender, source, int(now // self.epoch))

    def should_challenge(self, sender: PublicKey, source: Endpoint, now: float) -> bool:
        """Whether to challenge ``sender`` at ``source`` now: not when a challenge went there within
        ``repeat_after`` seconds (its answer is on its way; a new one would carry the same token).
        Only the last ``remembered`` challenges are kept, so this state stays bounded."""
        key = (sender, source)
        if self._challenged.seen(key, now):
            return False
        self._challenged.remember(key, now)
        return True

    def forget(self, sender: PublicKey, source: Endpoint) -> None:
        """``sender`` proved ``source``: its challenge needs no remembering."""
        self._challenged.forget((sender, source))

    def valid(self, sender: PublicKey, source: Endpoint, sequence: int, now: float) -> bool:
        """Whether ``sequence`` is a token we gave ``sender`` at ``source`` recently."""
        epoch = int(now // self.epoch)
        return sequence in (self._at(sender, source, epoch), self._at(sender, source, epoch - 1))

    def _at(self, sender: PublicKey, source: Endpoint, epoch: int) -> int:
        text = f"{source[0]}|{source[1]}|{epoch}".encode()
        mac = hashlib.blake2b(sender.node_id + text, digest_size=4, key=self._secret).digest()
        return int.from_bytes(mac, "little")


@attrs.define
class Shedding:
    """The engine's cheap drops: prefix buckets for unknown sources, the replay filter, the tokens."""

    unknown_prefixes: TokenBuckets
    replays: ReplayFilter
    tokens: RoutabilityTokens
    private_sources: PrivateSources = "address"  # see prefix_key

    def admit_unknown_source(self, source: Endpoint, now: float) -> bool:
        """Whether a datagram from an address that is no peer's connection may be decrypted (its
        prefix's bucket has a token; see :func:`prefix_key` for loopback and private sources)."""
        key = prefix_key(source[0], self.private_sources)
        return key is None or self.unknown_prefixes.charge(key, 1.0, now)
