"""Running the engine model: windows of simulated time over one or more shards, then the report.

:class:`EngineSimulator` runs every node in this process. :func:`run_windows` is the loop both it
and the sharded run (:mod:`peernet_dht._sim_shards`) use: time advances in windows of the
smallest link latency (aligned to multiples of it), datagrams crossing shards are exchanged
between windows, and the run ends with the window in which the last lookup ends.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ._sim_engine import PUNCH_COUNTERS, EngineShard
from ._sim_join import join_figures
from ._sim_memory import building, release
from ._sim_nat import lookup_figures
from ._sim_plan import SimPlan
from ._sim_progress import Progress
from ._sim_report import LookupRecord, SimConfig, SimReport, current_rss_bytes

__all__ = ["EngineSimulator", "ShardLike", "assemble_report", "peak_rss_bytes", "run_windows"]


class ShardLike(Protocol):
    """What :func:`run_windows` needs of a shard (local or remote)."""

    def step(self, until: float, incoming: list[Any]) -> tuple[dict[int, list[Any]], int, float | None]:
        """Take ``incoming`` datagrams, run to ``until``; return (outbox per shard, lookups left, next time)."""
        ...


def peak_rss_bytes() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_windows(
    step: Callable[[int, float, list[Any]], Any],
    shards: int,
    window: float,
    progress: Progress,
    lookups: int,
    gather: Callable[[list[Any]], list[tuple[dict[int, list[Any]], int, float | None]]] = lambda results: results,
) -> int:
    """Advance all shards window by window until no lookup is left; returns the windows run."""
    inboxes: list[list[Any]] = [[] for _ in range(shards)]
    position = 0  # the current window starts at position * window
    windows = 0
    while True:
        until = (position + 1) * window
        results = gather([step(s, until, inboxes[s]) for s in range(shards)])
        windows += 1
        inboxes = [[] for _ in range(shards)]
        remaining = 0
        upcoming = math.inf
        for outbox, left, next_time in results:
            for target, events in outbox.items():
                inboxes[target].extend(events)
                upcoming = min(upcoming, *(event[0] for event in events))
            remaining += left
            if next_time is not None:
                upcoming = min(upcoming, next_time)
        progress.update("lookups", lookups - remaining, lookups)
        if (remaining == 0 and until > 0) or upcoming == math.inf:
            return windows
        position = max(position + 1, math.floor(upcoming / window))


class _LocalShard:
    def __init__(self, shard: EngineShard) -> None:
        self.shard = shard

    def step(self, until: float, incoming: list[Any]) -> tuple[dict[int, list[Any]], int, float | None]:
        shard = self.shard
        shard.deliver(incoming)
        shard.advance(until)
        outbox, shard.outbox = shard.outbox, {}
        left = shard.remaining if shard.filled_at is not None else shard.remaining + 1
        if shard.workload is not None:
            left += shard.workload.remaining
        return outbox, left, shard.next_time()


class EngineSimulator:
    """The engine model in this process; :meth:`run` simulates and returns the report (once)."""

    def __init__(self, config: SimConfig, progress: Progress | None = None) -> None:
        config.check()
        self.config = config
        self.progress = progress or Progress()
        self._began = time.perf_counter()
        self._cpu_began = time.process_time()
        self._rss_began = current_rss_bytes()
        with building():
            self.plan = SimPlan(config)
            self.shard = EngineShard(self.plan)

    def run(self) -> SimReport:
        """Fill the tables, run the lookups, report."""
        plan, shard, progress = self.plan, self.shard, self.progress
        with building():
            tables = plan.tables()
            if self.config.fill == "direct":
                total = sum(len(t) for t in tables)
                fill = shard.fill_direct(tables, lambda n: progress.update("fill", n, max(n, 2 * total)))
                progress.update("fill", fill, fill)
                figures: dict[str, Any] = {"fill_entries": fill, "fill_handshakes": 0}
            else:
                figures = {"fill_handshakes": shard.fill_handshake(tables)}
            del tables
        setup = time.perf_counter() - self._began
        local = _LocalShard(shard)
        windows = run_windows(lambda _, until, incoming: local.step(until, incoming), 1, plan.min_latency, progress,
                              self.config.lookups)  # fmt: skip
        progress.close()
        release()
        figures.update(shard.figures())
        if shard.workload is not None:
            figures["workload"] = shard.workload.figures()
        figures.update(fill_missing=shard.fill_missing, fill_rounds=shard.fill_round, windows=windows)
        figures.update(simulated_seconds_fill=shard.filled_at or 0.0, last_finish=shard.last_finish)
        if self.config.nat:
            figures.update(lookup_figures(plan.nat, shard.lookups, shard.records))
        if self.config.joins:
            figures.update(join_figures(plan.join_at, plan.lookups(), shard.records))
        wall, cpu = time.perf_counter() - self._began, time.process_time() - self._cpu_began
        return assemble_report(self.config, shard.records, figures, setup, wall, cpu, peak_rss_bytes(),
                               loads=shard.loads(), baseline_rss=self._rss_began)  # fmt: skip


def assemble_report(
    config: SimConfig,
    records: dict[int, LookupRecord],
    figures: dict[str, Any],
    setup: float,
    wall: float,
    cpu: float,
    peak_rss: int,
    peak_rss_per_process: Sequence[int] = (),
    loads: Sequence[int] = (),
    baseline_rss: int = 0,
) -> SimReport:
    """The report from the lookups' records and the shards' summed figures; memory per node is
    the peak resident memory of all processes, less ``baseline_rss`` (before the run), per node."""
    ordered = tuple(records[number] for number in sorted(records))
    assert len(ordered) == config.lookups
    lookups = max(len(ordered), 1)
    live = max(figures["live"], 1)
    filled = figures["simulated_seconds_fill"]
    extra = {
        "fill": config.fill,
        "packets": config.packets,
        "workers": config.workers,
        "fill_handshakes": figures.get("fill_handshakes", 0),
        "fill_entries": figures.get("fill_entries", 0),
        "fill_missing": figures.get("fill_missing", 0),
        "fill_rounds": figures.get("fill_rounds", 0),
        "fill_packets": figures["sent_fill"],
        "packets_per_lookup": round(figures["sent_lookups"] / lookups, 1),
        "keepalive_pongs": figures["pongs"],
        "packets_lost": figures["lost"],
        "packets_unroutable": figures["unroutable"],
        "table_size_mean": round(figures["table_entries"] / live, 1),
        "engine_peers_mean": round(figures["engine_peers"] / live, 1),
        "simulated_seconds_fill": round(filled, 3),
        "simulated_seconds_lookups": round(max(figures["last_finish"] - filled, 0.0), 3),
        "windows": figures.get("windows", 0),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_bytes": peak_rss,
        "peak_rss_per_process": list(peak_rss_per_process) or [peak_rss],
        "memory_per_node_bytes": round((sum(peak_rss_per_process or [peak_rss]) - baseline_rss) / config.nodes),
    }
    extra.update(figures.get("workload", {}))
    extra.update(_schedule_figures(config, figures))
    return SimReport(
        config, ordered, int(figures["requests"] + figures["answers"]),
        "FIND_PEER requests the lookups sent plus the Responses that reached them", setup, wall, extra,
        tuple(sorted(loads)),
    )  # fmt: skip


def _schedule_figures(config: SimConfig, figures: dict[str, Any]) -> dict[str, Any]:
    """The report's figures of joining nodes and of a NAT mix (none without them)."""
    out: dict[str, Any] = {}
    if config.joins:
        out["join_schedule"] = [list(pair) for pair in config.joins]
        out["nodes_joining"] = sum(int(fraction * config.nodes) for _, fraction in config.joins)
        out["nodes_joined"] = figures.get("joined", 0)  # joining nodes that know a peer at the end
        out.update(
            (name, figures[name]) for name in ("lookups_after_joins", "lookups_for_joined", "lookups_from_joined")
        )
    if config.nat:
        out["nat_mix"] = config.nat_mix()
        out["nat_dropped"] = figures.get("nat_dropped", 0)
        out["punches"] = {name: figures.get(name, 0) for name in PUNCH_COUNTERS}
        out.update((name, figures[name]) for name in ("lookups_by_target_nat", "success_by_nat_pair"))
    if config.leaves:
        out["churn_schedule"] = [list(pair) for pair in config.leaves]
        out["left_during_lookups"] = figures.get("left_during_lookups", 0)
    return out
