"""Keeping other users' chains: when to fetch, back-off, and the fetch itself.

:class:`ChainPolicy` is the sans-IO part. A peer's Announcement or Response carries its chain
height and version; :meth:`ChainPolicy.decide` turns that into a :class:`~peernet_chain.RefreshPlan`
or nothing, given the cache and the peer's history:

* nothing when the cache already holds that state, or the announcement is older (no downgrade);
* at most one fetch per owner per ``min_interval`` (a peer that keeps changing its chain costs
  one fetch per interval, not one per announcement), and one fetch per owner at a time;
* after a failed fetch (forged, inconsistent or truncated answer, transfer error) the owner is
  backed off exponentially from ``backoff_initial`` to ``backoff_max``; success resets it.

The state is bounded (``max_tracked`` owners, least recently seen forgotten first).
:func:`sync_chain` is the async shell: decide, fetch through a :class:`~peernet_chain.BlockSource`
with strict validation (``peernet_chain.fetch_chain``), record the outcome. A bad chain changes
nothing in the cache.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from typing import Final

import attrs

from peernet_chain import BlockSource, ChainCache, ChainValidationError, RefreshPlan, fetch_chain
from peernet_proto import PublicKey, RemoteProtocolError

__all__ = ["ChainPolicy", "SyncOutcome", "SyncResult", "sync_chain"]

log = logging.getLogger(__name__)

_MAX_TRACKED: Final = 10_000


class SyncOutcome(enum.Enum):
    """What :func:`sync_chain` did."""

    UP_TO_DATE = "up-to-date"
    SKIPPED = "skipped"  # back-off, rate limit or a fetch already running
    FETCHED = "fetched"
    PARTIAL = "partial"  # a valid prefix was stored; the peer did not deliver the rest
    REJECTED = "rejected"  # invalid chain or transfer error; nothing changed


@attrs.frozen
class SyncResult:
    """Outcome, blocks newly stored and whether the cached chain changed."""

    outcome: SyncOutcome
    fetched: int = 0
    changed: bool = False


@attrs.define
class _Peer:
    last_fetch: float = float("-inf")
    failures: int = 0
    retry_at: float = float("-inf")
    running: bool = False


class ChainPolicy:
    """Per-owner fetch decisions (sans-IO; pass ``now``)."""

    def __init__(
        self,
        *,
        min_interval: float = 60.0,
        backoff_initial: float = 60.0,
        backoff_max: float = 3600.0,
        max_tracked: int = _MAX_TRACKED,
    ) -> None:
        self.min_interval, self.backoff_initial, self.backoff_max = min_interval, backoff_initial, backoff_max
        self.max_tracked = max_tracked
        self._peers: OrderedDict[PublicKey, _Peer] = OrderedDict()
        self.counters: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _peer(self, owner: PublicKey) -> _Peer:
        peer = self._peers.pop(owner, None) or _Peer()
        self._peers[owner] = peer
        while len(self._peers) > self.max_tracked:
            oldest, state = next(iter(self._peers.items()))
            if state.running:
                break
            del self._peers[oldest]
        return peer

    def decide(self, cache: ChainCache, owner: PublicKey, version: int, height: int, now: float) -> RefreshPlan | None:
        """The fetch to start now for an announced (version, height), or None. A returned plan
        marks the owner as being fetched until :meth:`finished` is called."""
        plan = cache.plan(owner, version, height)
        if plan is None:
            return None
        peer = self._peer(owner)
        if peer.running or now < peer.retry_at or now < peer.last_fetch + self.min_interval:
            self._count("deferred")
            return None
        peer.running, peer.last_fetch = True, now
        return plan

    def finished(self, owner: PublicKey, ok: bool, now: float) -> None:
        """Record the end of a fetch ``decide`` allowed."""
        peer = self._peer(owner)
        peer.running = False
        if ok:
            peer.failures, peer.retry_at = 0, float("-inf")
            return
        peer.failures += 1
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (peer.failures - 1))
        peer.retry_at = now + delay
        self._count("failures")

    def retry_at(self, owner: PublicKey) -> float | None:
        """When a backed-off owner may be fetched again (None when not backed off)."""
        peer = self._peers.get(owner)
        return None if peer is None or peer.failures == 0 else peer.retry_at


async def sync_chain(
    source: BlockSource,
    cache: ChainCache,
    policy: ChainPolicy,
    owner: PublicKey,
    version: int,
    height: int,
    now: float,
) -> SyncResult:
    """Bring the cached chain of ``owner`` to the announced state if the policy allows it now."""
    if cache.plan(owner, version, height) is None:
        return SyncResult(SyncOutcome.UP_TO_DATE)
    if policy.decide(cache, owner, version, height, now) is None:
        return SyncResult(SyncOutcome.SKIPPED)
    before = cache.get(owner)
    try:
        result = await fetch_chain(source, cache, owner, version, height)
    except (ChainValidationError, RemoteProtocolError, OSError) as exc:  # FetchError included
        log.info("chain of %s rejected: %s", owner.hex(), exc)
        policy.finished(owner, False, now)
        return SyncResult(SyncOutcome.REJECTED)
    except BaseException:
        policy.finished(owner, False, now)
        raise
    policy.finished(owner, result.complete, now)
    changed = result.chain != before
    outcome = SyncOutcome.FETCHED if result.complete else SyncOutcome.PARTIAL
    return SyncResult(outcome, result.fetched, changed)
