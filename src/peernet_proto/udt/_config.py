"""Settings of one UDT connection (spec wire.md §12.4)."""

from __future__ import annotations

import attrs

from .._constants import TRANSFER_MAX_EMBED_SIZE_LITE

__all__ = ["UDT_HEADER_SIZE", "UdtConfig"]

UDT_HEADER_SIZE = 16


@attrs.frozen
class UdtConfig:
    """UDT parameters. Frame 1214 bytes and SYN 10 ms as Peernet's; the flow window (Go: 64) and the
    ACK interval (Go: 4) are larger, so one connection fills loopback (each side keeps to the window
    the other announces).

    ``flow_window`` bounds the receive buffer (packets held, in order or not) and what we tell the
    peer it may have in flight; memory per connection is about ``2 × flow_window × max_frame_size``
    (receive buffer plus unacknowledged sent packets) plus ``send_buffer`` bytes.
    """

    max_frame_size: int = TRANSFER_MAX_EMBED_SIZE_LITE
    flow_window: int = 256
    send_buffer: int = 64 * 1198
    syn_interval: float = 0.01
    handshake_retry: float = 0.25
    connect_timeout: float = 3.0
    peer_timeout: float = 10.0  # silence while we wait for acknowledgements
    idle_timeout: float = 60.0  # silence in any state
    ack_every: int = 64  # data packets per ACK while nothing is lost (Go: 4; fewer ACK/ACK2 pairs per MiB)
    ack_every_after_loss: int = 4  # ... in the first flow window and within one after a loss
    initial_congestion_window: float = 16.0
    min_congestion_window: float = 8.0
    send_shutdown: bool = True  # Go never sends one; a transfer ends by byte count
    linger: float = 1.0  # how long a closed sender keeps re-sending its Shutdown

    @property
    def payload_size(self) -> int:
        """Data bytes per data frame."""
        return self.max_frame_size - UDT_HEADER_SIZE

    def __attrs_post_init__(self) -> None:
        if (
            self.max_frame_size <= UDT_HEADER_SIZE or self.flow_window < 2
            or min(self.ack_every, self.ack_every_after_loss) < 1
        ):
            raise ValueError("UDT config: frame size, flow window or ACK interval too small")
