"""The bench's figures: a readable table on the terminal, the same as JSON on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.stats import ROUTES


def _f(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _summary(report: dict[str, Any]) -> Table:
    bare = report["bare"]
    t = Table(title="Throughput (T = bare Temporal, one activity per workflow)")
    for col in ("figure", "rate /s", "ratio to T", "done", "failures", "404s to mediator",
                "503 retried", "wall s"):  # fmt: skip
        t.add_column(col, justify="left" if col == "figure" else "right")
    t.add_row(
        f"T (bare, C={bare['concurrency']})",
        _f(bare["per_second"]),
        "1.00",
        str(bare["completed"]),
        str(bare["failed"]),
        "",
        "",
        _f(bare["seconds"], 1),
    )
    for name, m in report["modes"].items():
        label = name if name != "paced" else f"paced (offered {m['offered_per_s']:.2f}/s)"
        t.add_row(
            label,
            _f(m["cases_per_s"]),
            _f(m["ratio_to_T"], 3),
            f"{m['finished']}/{m['started']}",
            str(m["failures"]),
            str(m["mediator_404s"]),
            str(m.get("retried_503", 0)),
            _f(m["seconds"], 1),
        )
    return t


def _routes(report: dict[str, Any]) -> Table:
    t = Table(title="Latency per route, ms (p50 / p99; paced: how many over issue 11's target)")
    t.add_column("route")
    modes = report["modes"]
    for name in modes:
        t.add_column(name, justify="right")
    for route in (*ROUTES, "case"):
        cells = []
        for name, m in modes.items():
            s = m["case"] if route == "case" else m["routes"].get(route)
            cells.append(_latency(s, paced=name == "paced") if s else "-")
        t.add_row(route if route != "case" else "whole case", *cells)
    return t


def _latency(s: dict[str, Any], paced: bool) -> str:
    """The targets are the paced mode's: a closed loop runs as fast as it can."""
    over = f", {s['over_budget']} > {s['budget_ms']}" if paced and "budget_ms" in s else ""
    return f"{s['p50_ms']:.0f} / {s['p99_ms']:.0f}  (n={s['n']}{over})"


def _cpu(report: dict[str, Any]) -> Table:
    t = Table(title="CPU seconds per case (per workflow for bare) · share of one core · peak RSS")
    t.add_column("process")
    phases = {"bare": report["bare"], **report["modes"]}
    if "open_cases" in report:
        phases["open_cases"] = report["open_cases"]
    for name in phases:
        t.add_column(name, justify="right")
    t.add_column("peak RSS MB", justify="right")
    procs = sorted({p for ph in phases.values() for p in ph["cpu_per_unit"]})
    for p in procs:
        cells = [
            f"{ph['cpu_per_unit'][p] * 1000:.1f} ms · {ph['cpu_share_of_core'][p]:.0%}"
            if p in ph["cpu_per_unit"]
            else "-"
            for ph in phases.values()
        ]
        t.add_row(p, *cells, _f(report["peak_rss_mb"].get(p, "-"), 0))
    return t


def _listing(listing: dict[str, Any]) -> Table:
    t = Table(title=f"GET /api/v1/cases over {listing['rows']} synthetic rows, ms (p50 / p99)")
    t.add_column("filter")
    results = listing["results"]
    for principal in results:
        t.add_column(principal, justify="right")
    for name in next(iter(results.values())):
        cells = []
        for by_filter in results.values():
            s = by_filter[name]
            err = f" {s['errors']} errors" if s["errors"] else ""
            cells.append(f"{s['p50_ms']:.0f} / {s['p99_ms']:.0f}  ({s['total']} rows){err}")
        t.add_row(name, *cells)
    return t


def print_report(report: dict[str, Any], console: Console) -> None:
    console.print()
    console.print(f"store: {report['store']}  run dir: {report['run_dir']}")
    if report["args"].get("dynamic_config"):
        extra = ", ".join(report["args"]["dynamic_config"])
        console.print(f"[yellow]dev server differs from make up's:[/] {extra}")
    console.print(_summary(report))
    bare = report["bare"]
    console.print(
        f"bare workflow latency: p50 {bare['workflow']['p50_ms']:.0f} ms, p99 "
        f"{bare['workflow']['p99_ms']:.0f} ms, max {bare['workflow_max_ms']:.0f} ms; "
        f"{bare['drain_seconds']:.1f} s to drain the ones in flight after the window"
    )
    if report["modes"]:
        console.print(_routes(report))
    console.print(_cpu(report))
    for name, phase in {"bare": report["bare"], **report["modes"]}.items():
        if phase.get("driver_bound"):
            console.print(
                f"[bold red]WARNING[/] {name}: the load driver used "
                f"{phase['cpu_share_of_core']['driver']:.0%} of one core (>50%): it may be "
                "the bottleneck of this figure"
            )
        for example in phase.get("failure_examples", [])[:5]:
            console.print(f"  [red]{name} failure[/] {example}")
    if "open_cases" in report:
        oc = report["open_cases"]
        console.print(
            f"worker memory with {oc['finished']} open cases (of {oc['started']} intakes, "
            f"{oc['failures']} failed): RSS {oc['worker_rss_mb']:.0f} MB "
            f"(before them {oc['worker_rss_mb_before']:.0f} MB), "
            f"peak {oc['worker_peak_mb']:.0f} MB"
        )
    if "listing" in report:
        console.print(f"listing: {report['listing']['rows']} rows filled in "
                      f"{report['listing']['fill_seconds']:.1f} s")  # fmt: skip
        console.print(_listing(report["listing"]))


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
