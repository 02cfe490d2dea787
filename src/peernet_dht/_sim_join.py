"""Figures of a run with joining nodes: how lookups fared once nodes joined, and for and from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._sim_report import LookupRecord

if TYPE_CHECKING:
    from ._sim_plan import LookupPlan

__all__ = ["join_figures"]


def _rate(records: list[LookupRecord]) -> dict[str, Any]:
    return {"lookups": len(records), "success_rate": round(sum(r.success for r in records) / max(len(records), 1), 4)}


def join_figures(
    join_at: Mapping[int, float], lookups: Sequence[LookupPlan], records: Mapping[int, LookupRecord]
) -> dict[str, Any]:
    """Lookups started after the first join, lookups whose target (the live node truly closest) is a
    joined node, and lookups a joined node started (``lookups`` as planned: starts and joins in
    seconds after the lookups begin)."""
    first = min(join_at.values(), default=0.0)
    after, for_joined, from_joined = [], [], []
    for number, record in records.items():
        lookup = lookups[number]
        if lookup.start >= first:
            after.append(record)
        if lookup.target in join_at:
            for_joined.append(record)
        if lookup.source in join_at:
            from_joined.append(record)
    return {
        "lookups_after_joins": _rate(after),
        "lookups_for_joined": _rate(for_joined),
        "lookups_from_joined": _rate(from_joined),
    }
