"""NAT in the engine simulator: which nodes sit behind which kind of NAT, and what gets through.

Every node has its own public IPv4 address (one node per address, so a datagram's address names
its node) and listens on one port. A node behind NAT keeps that address as its NAT's public
one and announces the FIREWALL feature bit, so the records others hand out say "reach me through a
Traverse" and lookups punch holes (spec wire.md §11). The kinds (RFC 4787 terms):

* ``none``: reachable by anyone.
* ``full_cone``: endpoint-independent mapping and filtering: once the node has sent anything,
  anyone may send to it.
* ``restricted`` (address and port restricted cone): endpoint-independent mapping (it keeps its
  port), but only an (address, port) it has sent to may send to it.
* ``symmetric``: address and port dependent mapping: towards each peer it sends from another public
  port (:func:`mapped_port`), and only that peer, at the (address, port) the node sent to, may
  reach it there. A peer therefore sees it at a per-peer port.

Pinholes never expire (runs last seconds of simulated time; real NATs keep UDP mappings for
30 s or more). Tables filled directly count as filled by handshakes: every installed pair has
talked, so its pinholes are open both ways. A pinhole is part of its node's state, opened by the
node's own datagrams and checked when a datagram reaches it, so a run split into shards gives
the same results.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ._sim_report import NAT_KINDS, LookupRecord

if TYPE_CHECKING:
    from ._sim_plan import LookupPlan

__all__ = [
    "FULL_CONE",
    "NAT_KINDS",
    "NONE",
    "RESTRICTED",
    "SYMMETRIC",
    "NatState",
    "assign_nat",
    "lookup_figures",
    "mapped_port",
]

NONE, FULL_CONE, RESTRICTED, SYMMETRIC = range(4)
_PORT_BITS: Final = 16


def assign_nat(mix: Sequence[tuple[str, float]], nodes: int, rng: random.Random) -> bytearray:
    """The NAT kind of every node (an index into :data:`NAT_KINDS`): ``int(fraction * nodes)`` nodes
    of each kind in ``mix``, drawn at random; the rest have none."""
    kinds = bytearray(nodes)
    order = list(range(nodes))
    rng.shuffle(order)
    position = 0
    for name, fraction in mix:
        count = int(fraction * nodes)
        for index in order[position : position + count]:
            kinds[index] = NAT_KINDS.index(name)
        position += count
    return kinds


def mapped_port(node: int, peer: int) -> int:
    """The public port a symmetric NAT gives ``node``'s datagrams to ``peer`` (a fixed mix of both
    indexes, in 1024..65023; never the port nodes listen on)."""
    return 1024 + (node * 2654435761 + peer * 40503 + 12345) % 64000


class NatState:
    """The NAT kinds of a run and the pinholes of the nodes it owns (see the module docstring)."""

    def __init__(self, kinds: bytearray, owned: Iterable[int], addresses: Sequence[str], port: int) -> None:
        self.kinds = kinds
        self._addresses = addresses  # every node's public address, by index
        self._port = port  # the port every node listens on (and every NAT but symmetric keeps)
        # node -> pinholes: peer << 16 | port of every (peer's address, port) the node sent to
        self._open: dict[int, set[int]] = {index: set() for index in owned if kinds[index] != NONE}
        self.dropped = 0  # datagrams a NAT did not let in (or sent to a port no NAT maps)

    def endpoint(self, node: int, viewer: int) -> tuple[str, int]:
        """Where ``viewer`` sees ``node`` (its address and the port its NAT shows ``viewer``)."""
        if self.kinds[node] == SYMMETRIC:
            return (self._addresses[node], mapped_port(node, viewer))
        return (self._addresses[node], self._port)

    def open(self, node: int, peer: int, port: int) -> None:
        """``node`` sent to ``peer`` at ``port``: its NAT lets answers from there in."""
        pinholes = self._open.get(node)
        if pinholes is not None:
            pinholes.add(peer << _PORT_BITS | port)

    def send(self, sender: int, receiver: int, port: int) -> bool:
        """``sender`` sends to ``receiver``'s address at ``port``: open the sender's pinhole; False when
        no mapping of the receiver's NAT answers at that port (the datagram is lost)."""
        self.open(sender, receiver, port)
        expected = mapped_port(receiver, sender) if self.kinds[receiver] == SYMMETRIC else self._port
        if port == expected:
            return True
        self.dropped += 1
        return False

    def admits(self, receiver: int, sender: int) -> bool:
        """Whether ``receiver``'s NAT lets a datagram from ``sender`` in (at the port mapped for it)."""
        kind = self.kinds[receiver]
        if kind == NONE:
            return True
        pinholes = self._open[receiver]
        if kind == FULL_CONE:
            allowed = bool(pinholes)
        else:
            port = mapped_port(sender, receiver) if self.kinds[sender] == SYMMETRIC else self._port
            allowed = (sender << _PORT_BITS | port) in pinholes
        if not allowed:
            self.dropped += 1
        return allowed


def lookup_figures(
    kinds: bytearray, lookups: Sequence[LookupPlan], records: Mapping[int, LookupRecord]
) -> dict[str, Any]:
    """Lookups by the NAT kind of their target (the truth node): how many, success, median hops;
    and success by source kind -> target kind."""
    by_target: dict[str, list[LookupRecord]] = {}
    by_pair: dict[str, list[bool]] = {}
    for number, record in sorted(records.items()):
        lookup = lookups[number]
        target = NAT_KINDS[kinds[lookup.target]]
        by_target.setdefault(target, []).append(record)
        by_pair.setdefault(f"{NAT_KINDS[kinds[lookup.source]]}->{target}", []).append(record.success)
    return {
        "lookups_by_target_nat": {
            kind: {
                "lookups": len(group),
                "success_rate": round(sum(r.success for r in group) / len(group), 4),
                "hops_median": statistics.median(r.hops for r in group),
            }
            for kind, group in sorted(by_target.items(), key=lambda item: NAT_KINDS.index(item[0]))
        },
        "success_by_nat_pair": {pair: round(sum(ok) / len(ok), 4) for pair, ok in sorted(by_pair.items())},
    }
