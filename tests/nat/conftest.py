"""Fixtures of the NAT tests: the namespace lab (root only; skips with the reason elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab import NatLab, lab_unavailable_reason


@pytest.fixture(scope="module")
def natlab() -> Iterator[NatLab]:
    """Two cone NATs with miniupnpd, a rendezvous host; torn down after the module."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with NatLab(nat1="cone", nat2="symmetric") as lab:
        yield lab
