"""Server epoch check shared by NAT-PMP (RFC 6886 §3.6) and PCP (RFC 6887 §8.5).

A gateway reports the seconds since it (re)started. If that clock runs backwards or drifts too far
from ours, the gateway lost its state (reboot, restart): every mapping must be made again.
"""

from __future__ import annotations

import attrs

__all__ = ["EpochTracker"]


@attrs.define
class EpochTracker:
    """Feed every reply's epoch with the local time it arrived; ``observe`` says whether the
    gateway lost its mappings since the previous reply."""

    _last_epoch: int | None = None
    _last_time: float = 0.0

    def observe(self, epoch: int, now: float) -> bool:
        previous, previous_time = self._last_epoch, self._last_time
        self._last_epoch, self._last_time = epoch, now
        if previous is None:
            return False
        if epoch < previous - 1:
            return True
        client_delta = now - previous_time
        server_delta = epoch - previous
        return (
            client_delta + 2 < server_delta - server_delta / 16
            or server_delta + 2 < client_delta - client_delta / 16
        )

    def reset(self) -> None:
        self._last_epoch = None
