"""What the engine's events tell a routing table: the node's behaviours and the simulator share it."""

from __future__ import annotations

from peernet_dht import RoutingTable, TableUpkeep
from peernet_proto import (
    Command,
    PeerConnected,
    PeerRemoved,
    PrivateKey,
    PublicKey,
    RequestTimedOut,
    Response,
    ResponseReceived,
)


def _setup(*, failures: bool) -> tuple[RoutingTable[PublicKey], TableUpkeep, PublicKey]:
    table: RoutingTable[PublicKey] = RoutingTable(PrivateKey.generate().public_key.node_id)
    return table, TableUpkeep(table, failures=failures), PrivateKey.generate().public_key


def _timeout(peer: PublicKey, sequence: int) -> RequestTimedOut:
    return RequestTimedOut(peer, sequence, Command.ANNOUNCEMENT, answered=False)


def test_peers_join_with_their_answers_rtt_and_leave_when_dropped() -> None:
    table, upkeep, peer = _setup(failures=True)
    upkeep.handle_event(PeerConnected(peer, ("127.0.0.1", 9), "x"), 1.0)
    assert peer.node_id in table and table.rtt(peer.node_id) is None
    upkeep.handle_event(ResponseReceived(peer, Response(), 7, 0.042), 2.0)
    assert table.rtt(peer.node_id) == 0.042
    upkeep.handle_event(PeerRemoved(peer, "gone"), 3.0)
    assert peer.node_id not in table


def test_unanswered_dht_requests_remove_a_peer_after_the_tables_limit() -> None:
    table, upkeep, peer = _setup(failures=True)
    upkeep.handle_event(PeerConnected(peer, ("127.0.0.1", 9), "x"), 1.0)
    for sequence in range(table.max_failures - 1):
        upkeep.handle_event(_timeout(peer, sequence), 2.0)
    assert peer.node_id in table
    upkeep.handle_event(_timeout(peer, 99), 3.0)
    assert peer.node_id not in table


def test_timeouts_do_not_count_where_the_engine_decides_liveness() -> None:
    table, upkeep, peer = _setup(failures=False)
    upkeep.handle_event(PeerConnected(peer, ("127.0.0.1", 9), "x"), 1.0)
    for sequence in range(5):
        upkeep.handle_event(_timeout(peer, sequence), 2.0)
    assert peer.node_id in table
