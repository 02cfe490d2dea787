"""Search jobs (spec webapi.md §2.5) without I/O: results arrive, clients page through them with
a filter and a sort. Three lists as the reference keeps them: ``all`` (every result), ``frozen``
(already delivered, fixed order) and the queue (matching results not yet delivered)."""

from __future__ import annotations

import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, Final

import attrs

from ._encoding import go_date

__all__ = ["JobFilter", "SearchJob", "SearchJobs"]

MAX_RESULTS: Final = 10_000
_SORTS: Final[dict[int, tuple[Callable[[dict[str, Any]], Any], bool]]] = {
    1: (lambda f: f["_datekey"], False), 2: (lambda f: f["_datekey"], True),
    3: (lambda f: f["_datekey"], False), 4: (lambda f: f["_datekey"], True),
    5: (lambda f: f["name"].encode(), False), 6: (lambda f: f["name"].encode(), True),
    7: (lambda f: f["size"], False), 8: (lambda f: f["size"], True), 9: (lambda f: f["_shared"], False),
    10: (lambda f: f["_shared"], True),
}


@attrs.frozen
class JobFilter:
    """Runtime filter; −1 (or None) means "not used"."""

    file_type: int = -1
    file_format: int = -1
    date_from: int | None = None
    date_to: int | None = None
    size_min: int = -1
    size_max: int = -1
    node: bytes | None = None
    sort: int = 0

    def matches(self, file: dict[str, Any]) -> bool:
        """Whether a result passes (dates only when both ends are set and ordered)."""
        if self.file_type >= 0 and file["type"] != self.file_type:
            return False
        if self.file_format >= 0 and file["format"] != self.file_format:
            return False
        dated = self.date_from is not None and self.date_to is not None and self.date_from < self.date_to
        if dated and (file["_date"] is None or not self.date_from <= file["_date"] <= self.date_to):
            return False
        if (self.size_min >= 0 and file["size"] < self.size_min) or (0 <= self.size_max < file["size"]):
            return False
        return self.node is None or file["_node"] == self.node


@attrs.define
class SearchJob:
    """One job; files are apiFile dicts with private keys: ``_date`` (seconds or None), ``_datekey``
    (for sorting), ``_node`` (owner node ID) and ``_shared`` (shared-by count)."""

    id: uuid.UUID
    expires: float
    filter: JobFilter = attrs.field(factory=JobFilter)
    live: bool = True
    all: list[dict[str, Any]] = attrs.field(factory=list)
    frozen: list[dict[str, Any]] = attrs.field(factory=list)
    cursor: int = 0

    def add(self, files: list[dict[str, Any]]) -> None:
        """New results (beyond :data:`MAX_RESULTS` they are dropped)."""
        self.all.extend(files[: MAX_RESULTS - len(self.all)])

    def reset(self, new_filter: JobFilter) -> None:
        """Replace the filter and start delivery over."""
        self.filter, self.frozen, self.cursor = new_filter, [], 0

    def _queue(self) -> list[dict[str, Any]]:
        delivered = {id(f) for f in self.frozen}
        queue = [f for f in self.all if id(f) not in delivered and self.filter.matches(f)]
        if self.filter.sort in _SORTS:
            key, reverse = _SORTS[self.filter.sort]
            queue.sort(key=key, reverse=reverse)
        return queue

    def take(self, limit: int, offset: int | None) -> tuple[int, list[dict[str, Any]]]:
        """(status, files): from ``offset``, or after the cursor when None."""
        view = self.frozen + self._queue()
        start = self.cursor if offset is None else offset
        files = view[start : start + max(0, limit)]
        end = start + len(files)
        self.frozen = view[: max(len(self.frozen), end)]
        if offset is None:
            self.cursor = end
        if files:
            return (0 if len(view) > end or self.live else 1), files
        return (3 if self.live else 1), files

    def statistic(self) -> dict[str, Any]:
        """SearchStatisticData over every result."""
        if not self.all:
            return {"date": None, "filetype": None, "fileformat": None, "total": 0}
        days = Counter(f["_date"] // 86400 * 86400 for f in self.all if f["_date"] is not None)
        return {
            "date": [{"date": go_date(day), "count": n} for day, n in sorted(days.items())],
            "filetype": [{"key": k, "count": n} for k, n in Counter(f["type"] for f in self.all).items()],
            "fileformat": [{"key": k, "count": n} for k, n in Counter(f["format"] for f in self.all).items()],
            "total": len(self.all),
        }


@attrs.define
class SearchJobs:
    """At most ``limit`` jobs; each is dropped at its expiry time."""

    limit: int = 32
    jobs: OrderedDict[uuid.UUID, SearchJob] = attrs.field(factory=OrderedDict)

    def create(self, now: float, lifetime: float, job_filter: JobFilter) -> SearchJob | None:
        """A new live job, or None when too many exist."""
        self.expire(now)
        if len(self.jobs) >= self.limit:
            return None
        job = SearchJob(uuid.uuid4(), now + lifetime, job_filter)
        self.jobs[job.id] = job
        return job

    def get(self, job_id: uuid.UUID, now: float) -> SearchJob | None:
        """The job, if it exists and has not expired."""
        self.expire(now)
        return self.jobs.get(job_id)

    def remove(self, job_id: uuid.UUID) -> SearchJob | None:
        """Stop and forget a job."""
        job = self.jobs.pop(job_id, None)
        if job is not None:
            job.live = False
        return job

    def expire(self, now: float) -> None:
        """Drop jobs past their expiry time."""
        for job_id in [j.id for j in self.jobs.values() if j.expires <= now]:
            self.remove(job_id)
