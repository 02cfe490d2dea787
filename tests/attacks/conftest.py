"""Shared fixtures of the attack scenarios (in-memory lab, scaled down by ``SCALE``)."""

from __future__ import annotations

import pytest

from .harness import GoodPeer, Identities, Lab, shared_identities

SCALE = 10  # rates and table limits divided by this, CPU time multiplied (see harness.Lab)
START = 3.0  # the attack starts here, after the good peer has joined
DURATION = 8.0  # seconds of attack (scaled scenarios keep per-second rates of the full-size ones)
# The targets.
ANSWERED_DURING = 0.95  # share of the good peer's pings answered (within 1 s) during the attack
RECOVERY = 5.0  # seconds after the attack until every ping is answered again
RELAY_BUDGET = 10_000_000 / 20  # bytes a second the victim may relay under attack (10 MB over 20 s)
MEMORY_GROWTH = 100_000_000  # bytes of growth allowed at full size


@pytest.fixture(scope="session")
def pool() -> Identities:
    """The key pool, generated once per session."""
    return shared_identities()


def lab_with_good_peer(scale: int = SCALE) -> tuple[Lab, GoodPeer]:
    """A victim with the good peer joined and pinging every 0.5 s."""
    lab = Lab(scale=scale)
    good = GoodPeer(lab.node.public_key)
    lab.add(good)
    return lab, good
