"""Statistics of the peer engine: what it dropped, refused, relayed and punched.

The engine counts into a mutable :class:`EngineCounters`; :meth:`PeerEngine.statistics` returns
a frozen :class:`EngineStatistics` snapshot (trio's ``statistics()`` style).
"""

from __future__ import annotations

import attrs

__all__ = ["EngineCounters", "EngineStatistics"]


@attrs.define(slots=True)
class EngineCounters:
    """Running counts, one attribute each (so that a misspelt name fails type checking)."""

    too_short: int = 0
    undecryptable: int = 0
    dropped_self_or_protocol: int = 0
    discovery_wrong_command: int = 0
    not_admitted: int = 0
    undecodable_message: int = 0
    handler_errors: int = 0
    identities_per_ip_exceeded: int = 0
    peer_table_full: int = 0
    connections_per_peer_exceeded: int = 0
    unmatched_response: int = 0
    unmatched_pong: int = 0
    bad_extension: int = 0
    value_too_large: int = 0
    requests_refused: int = 0
    requests_timed_out: int = 0
    outgoing_dropped: int = 0
    events_dropped: int = 0
    traverse_sent: int = 0
    traverse_relayed: int = 0
    traverse_relay_refused: int = 0
    traverse_relay_rate_limited: int = 0
    traverse_relay_no_address: int = 0
    traverse_ignored: int = 0
    traverse_invalid: int = 0
    traverse_answered: int = 0
    traverse_not_for_us: int = 0
    punched: int = 0
    lite_received: int = 0
    lite_wrong_endpoint: int = 0
    lite_sessions_refused: int = 0
    unmatched_transfer: int = 0
    behaviour_errors: int = 0
    shed_unknown_source: int = 0  # dropped before decryption: the source prefix's bucket was empty
    replayed: int = 0  # exact replays of a datagram accepted before
    answered_statelessly: int = 0  # Announcements of unknown senders answered without state
    unproven_dropped: int = 0  # other packets of senders not (yet) proven to receive at their address
    admitted_by_token: int = 0  # unknown senders that echoed our routability token
    challenges_repeated_later: int = 0  # unknown senders not challenged again: one challenge is on its way
    unproven_path_kept: int = 0  # packets on a new path that did not move a working connection
    identities_per_prefix_exceeded: int = 0  # new identities refused: their /24 or /64 holds its share
    over_work_budget: int = 0  # requests dropped: their sender or its prefix used up its work budget
    pending_share_exceeded: int = 0  # our requests refused: the peer's prefix or identity holds its share
    traverse_target_unreported: int = 0  # Traverses refused: we never reported the target to the signer
    unexpected_signers: int = 0  # packets from a peer's address not signed by that peer (spoofing, a new key)


@attrs.frozen(kw_only=True)
class EngineStatistics(EngineCounters):
    """A snapshot of the engine's counters (the fields of :class:`EngineCounters`) and table sizes."""

    peers: int
    pending_requests: int
    lite_sessions: int
    punches: int  # hole punches in progress
    outgoing_queued: int = 0  # datagrams waiting in the outbox
    events_queued: int = 0  # events the application has not collected
    relay_windows: int = 0  # signers with a Traverse relay rate window
    identities_by_ip: int = 0  # peer identities counted against their introducing IP
    busiest_ip_identities: int = 0  # the most identities introduced by one IP
    busiest_prefix_pending: int = 0  # the most pending requests to one source prefix

    @classmethod
    def of(cls, counters: EngineCounters, **sizes: int) -> EngineStatistics:
        """A snapshot of ``counters`` with the current table sizes."""
        return cls(**sizes, **attrs.asdict(counters))

    def counts(self) -> dict[str, int]:
        """The non-zero event counts by name (table sizes excluded), e.g. for a JSON report."""
        counted = attrs.fields_dict(EngineCounters)
        return {name: value for name, value in attrs.asdict(self).items() if value and name in counted}
