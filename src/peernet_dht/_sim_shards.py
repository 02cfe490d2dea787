"""The engine model across processes with Ray: nodes sharded over workers, conservative windows.

Node ``i`` lives in shard ``i % workers``. Every shard builds the same :class:`SimPlan` from the
seed, installs the tables of its own nodes and runs their events; the driver advances all shards
window by window (the smallest link latency long, so nothing sent in a window can arrive in it)
and hands each shard the datagrams the others sent it. Events order themselves per node, so the
results equal the unsharded run's for the same seed.

Ray is optional (the ``sim`` extra): imported here only. Without ``ray_address`` a local Ray
instance with ``workers`` CPUs is started (and stopped afterwards); with one, the cluster is used
(``"auto"`` for the one this machine belongs to); peernet must be installed on its nodes.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from ._sim_engine import EngineShard
from ._sim_join import join_figures
from ._sim_memory import building, release
from ._sim_nat import lookup_figures
from ._sim_plan import SimPlan
from ._sim_progress import Progress
from ._sim_report import LookupRecord, SimConfig, SimReport
from ._sim_runner import assemble_report, peak_rss_bytes, run_windows

__all__ = ["ShardWorker", "run_sharded"]


class ShardWorker:
    """One shard in a worker process (a Ray actor)."""

    def __init__(self, config: SimConfig, shard: int, workers: int) -> None:
        with building():
            plan = SimPlan(config)
            self.shard = EngineShard(plan, range(shard, config.nodes, workers), lambda index: index % workers)
            self.fill_entries = self.shard.fill_direct(plan.tables())

    def step(self, until: float, incoming: list[Any]) -> tuple[dict[int, list[Any]], int, float | None]:
        """Take the datagrams other shards sent here, run to ``until``; (outbox, lookups left, next time)."""
        shard = self.shard
        shard.deliver(incoming)
        shard.advance(until)
        outbox, shard.outbox = shard.outbox, {}
        return outbox, shard.remaining, shard.next_time()

    def finish(self) -> tuple[dict[int, LookupRecord], dict[str, float], int, list[int]]:
        """The shard's lookup records, figures, peak memory and per-node loads."""
        release()
        figures = self.shard.figures()
        figures["fill_entries"] = self.fill_entries
        figures["last_finish"] = self.shard.last_finish
        return self.shard.records, figures, peak_rss_bytes(), self.shard.loads()


def _add(first: float, second: float) -> float:
    return first + second


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise RuntimeError("sharded runs need Ray: pip install 'peernet-dht[sim]'") from None


def run_sharded(config: SimConfig, progress: Progress | None = None, *, in_process: bool = False) -> SimReport:
    """Run the engine model in ``config.workers`` shards on Ray workers (or, ``in_process``, all
    shards in this process, for tests without Ray); the same report as unsharded."""
    if in_process:
        local = [ShardWorker(config, s, config.workers) for s in range(config.workers)]
        return _run(config, progress or Progress(), local,
                    lambda worker, name, *args: getattr(worker, name)(*args), lambda results: results)  # fmt: skip
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        if config.ray_address:
            ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=config.workers, include_dashboard=False, log_to_driver=False)
    try:
        actor = ray.remote(num_cpus=1)(ShardWorker)
        workers = [actor.remote(config, shard, config.workers) for shard in range(config.workers)]
        return _run(config, progress or Progress(), workers,
                    lambda worker, name, *args: getattr(worker, name).remote(*args), ray.get)  # fmt: skip
    finally:
        if started_here:
            ray.shutdown()


def _run(config: SimConfig, progress: Progress, workers: list[Any], call: Any, gather: Any) -> SimReport:
    """Drive the shards (``call(worker, method, *args)``, ``gather(handles)``) and merge their results."""
    began, cpu_began = time.perf_counter(), time.process_time()
    plan = SimPlan(config)
    gather([call(worker, "step", 0.0, []) for worker in workers])  # built and filled
    setup = time.perf_counter() - began
    windows = run_windows(
        lambda s, until, incoming: call(workers[s], "step", until, incoming),
        config.workers, plan.min_latency, progress, config.lookups, gather=gather,
    )  # fmt: skip
    progress.close()
    finished = gather([call(worker, "finish") for worker in workers])
    records: dict[int, LookupRecord] = {}
    figures: dict[str, Any] = {}
    peaks = [peak_rss_bytes()]
    loads: list[int] = []
    for shard_records, shard_figures, peak, shard_loads in finished:
        records.update(shard_records)
        loads.extend(shard_loads)
        for name, value in shard_figures.items():
            merged = max if name == "last_finish" else _add
            figures[name] = merged(figures.get(name, 0), value)
        if peak not in peaks or (workers and not isinstance(workers[0], ShardWorker)):
            peaks.append(peak)  # in-process shards share one process: counted once
    figures.update(windows=windows, simulated_seconds_fill=plan.fill_time)
    if config.nat:
        figures.update(lookup_figures(plan.nat, plan.lookups(), records))
    if config.joins:
        figures.update(join_figures(plan.join_at, plan.lookups(), records))
    return assemble_report(config, records, figures, setup, time.perf_counter() - began,
                           time.process_time() - cpu_began, max(peaks), peaks, loads)  # fmt: skip
