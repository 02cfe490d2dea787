"""Downloads: a queue of verified multi-source downloads that survives restarts.

:class:`DownloadManager` (trio) over :class:`DownloadCore` (sans-IO), fetching through a
:class:`RangeSource` that the transfer layer implements. See the modules for details.
"""

from ._core import PIECE_SIZE, DownloadCore, DownloadStatus, Progress
from ._manager import RUN_BYTES, DownloadInfo, DownloadManager
from ._paths import DownloadPathError, safe_target, temp_path
from ._source import MemorySource, RangeSource, SourceUnavailableError

__all__ = [
    "PIECE_SIZE",
    "RUN_BYTES",
    "DownloadCore",
    "DownloadInfo",
    "DownloadManager",
    "DownloadPathError",
    "DownloadStatus",
    "MemorySource",
    "Progress",
    "RangeSource",
    "SourceUnavailableError",
    "safe_target",
    "temp_path",
]
