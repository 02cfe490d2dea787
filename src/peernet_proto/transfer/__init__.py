"""File and block transfer over UDT in lite packets (spec wire.md §6.8–§6.10, §12), as an engine behaviour."""

from __future__ import annotations

from ._behaviour import TransferBehaviour
from ._client import TransferClient
from ._contract import BehaviourLike, EngineHostLike
from ._limits import RateLimiter, TransferError, TransferLimits
from ._owner import BlockUpload, FileUpload, planned_blocks
from ._requester import BlockDownload, FileDownload
from ._session import SessionState, TransferSession
from ._sources import BlockProvider, FileSource, MemoryBlocks, MemoryFiles
from ._streams import LiteStreams

__all__ = [
    "BehaviourLike",
    "BlockDownload",
    "BlockProvider",
    "BlockUpload",
    "EngineHostLike",
    "FileDownload",
    "FileSource",
    "FileUpload",
    "LiteStreams",
    "MemoryBlocks",
    "MemoryFiles",
    "RateLimiter",
    "SessionState",
    "TransferBehaviour",
    "TransferClient",
    "TransferError",
    "TransferLimits",
    "TransferSession",
    "planned_blocks",
]
