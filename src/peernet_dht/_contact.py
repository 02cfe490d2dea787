"""Contacts: what the DHT knows about a peer (its public key; the node ID derives from it)."""

from __future__ import annotations

from typing import Protocol, TypeVar

import attrs

from peernet_proto import PublicKey

__all__ = ["C", "Contact", "HasNodeId"]


class HasNodeId(Protocol):
    """Anything the routing table and lookups can hold: it only needs a 32-byte node ID."""

    @property
    def node_id(self) -> bytes: ...


C = TypeVar("C", bound=HasNodeId)


@attrs.frozen(slots=True)
class Contact:
    """A peer as the DHT sees it. Addresses live in the engine's peer list, not here."""

    public_key: PublicKey

    @property
    def node_id(self) -> bytes:
        return self.public_key.node_id

    def __repr__(self) -> str:
        return f"Contact({self.node_id[:6].hex()}…)"
