"""Hypothesis strategies for UDT frames."""

from __future__ import annotations

from hypothesis import strategies as st

from peernet_proto.udt import (
    UdtAck,
    UdtAck2,
    UdtCongestionWarning,
    UdtData,
    UdtError,
    UdtFrame,
    UdtHandshake,
    UdtKeepAlive,
    UdtMessageDropRequest,
    UdtNak,
    UdtShutdown,
    UdtUserDefined,
)

__all__ = ["udt_frames"]

_u32 = st.integers(0, 2**32 - 1)
_i32 = st.integers(-(2**31), 2**31 - 1)
_seq = st.integers(0, 2**31 - 1)


def udt_frames() -> st.SearchStrategy[UdtFrame]:
    """Any encodable UDT frame, with field values spread over their ranges."""
    return st.one_of(
        st.builds(UdtData, _seq, st.integers(0, 2**29 - 1), _u32, _u32, st.binary(max_size=64)),
        st.builds(UdtHandshake, _u32, _u32, _u32, _u32, _seq, _u32, _u32, _i32, _u32),
        st.builds(UdtKeepAlive, _u32, _u32),
        st.builds(UdtAck, _u32, _u32, _u32, _seq, _u32, _u32, _u32),
        st.builds(UdtNak, _u32, _u32, st.lists(_u32, max_size=20)),
        st.builds(UdtCongestionWarning, _u32, _u32),
        st.builds(UdtShutdown, _u32, _u32),
        st.builds(UdtAck2, _u32, _u32, _u32),
        st.builds(UdtMessageDropRequest, _u32, _u32, _u32, _u32, _u32),
        st.builds(UdtError, _u32, _u32, _u32),
        st.builds(UdtUserDefined, _u32, _u32, st.integers(0, 0xFFFF), _u32, st.binary(max_size=16)),
    )
