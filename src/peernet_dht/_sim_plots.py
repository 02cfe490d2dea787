"""Plots of simulation results (matplotlib, optional): hops, lookup latency, messages per lookup,
load per node, success against churn."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._sim_report import SimReport

__all__ = ["write_churn_plot", "write_hops_plot", "write_plots"]


def _pyplot() -> Any:
    """matplotlib.pyplot with a file backend, or None when matplotlib is not installed."""
    try:  # optional: matplotlib is not a dependency
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None


def _title(report: SimReport) -> str:
    config = report.config
    return f"{config.nodes} nodes ({config.model}), loss {config.loss}, churn {config.churn}"


def _histogram(plt: Any, path: str, values: Sequence[float], xlabel: str, title: str, integer: bool) -> None:
    figure, axes = plt.subplots()
    if integer:
        top = int(max(values, default=0))
        axes.hist(values, bins=range(0, top + 2), align="left", rwidth=0.8)
    else:
        axes.hist(values, bins=40)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("count")
    axes.set_title(title)
    figure.savefig(path)
    plt.close(figure)


def write_hops_plot(report: SimReport, path: str) -> bool:
    """A histogram of hops per lookup as PNG; False if matplotlib is not installed."""
    plt = _pyplot()
    if plt is None:
        return False
    _histogram(plt, path, [r.hops for r in report.records], "hops", _title(report), integer=True)
    return True


def write_plots(report: SimReport, directory: str | Path, stem: str) -> list[str]:
    """Hops, lookup latency, requests per lookup and load per node as PNGs next to the results;
    returns the files written (none without matplotlib)."""
    plt = _pyplot()
    if plt is None:
        return []
    directory = Path(directory)
    title = _title(report)
    plots: list[tuple[str, Sequence[float], str, bool]] = [
        ("hops", [r.hops for r in report.records], "hops", True),
        ("latency", [r.duration for r in report.records], "lookup latency (simulated seconds)", False),
        ("messages", [r.requests for r in report.records], "requests per lookup", True),
    ]
    if report.loads:
        plots.append(("load", list(report.loads), "messages received per node during the lookups", True))
    written = []
    for name, values, xlabel, integer in plots:
        path = str(directory / f"{stem}.{name}.png")
        _histogram(plt, path, values, xlabel, title, integer)
        written.append(path)
    return written


def write_churn_plot(reports: Sequence[SimReport], path: str) -> bool:
    """Success rate against churn, one point per report, as PNG; False without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return False
    ordered = sorted(reports, key=lambda r: r.config.churn)
    figure, axes = plt.subplots()
    axes.plot([r.config.churn for r in ordered], [r.success_rate for r in ordered], marker="o")
    axes.set_xlabel("fraction of nodes gone without notice")
    axes.set_ylabel("success rate")
    axes.set_ylim(0, 1.05)
    if ordered:
        config = ordered[0].config
        axes.set_title(f"{config.nodes} nodes ({config.model}), {config.lookups} lookups, loss {config.loss}")
    figure.savefig(path)
    plt.close(figure)
    return True
