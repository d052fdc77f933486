"""The bench's phases against a running system: T, saturated, paced, open cases, listing.
Each phase reports its figures with the CPU every process spent on it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client

from bench import bare, listing
from bench.load import Driver, closed_loop, http_session, open_loop
from bench.stats import Stats, latency_summary
from bench.system import System
from bench.usage import DRIVER, ModeUsage, between, driver_peak_mb, memory_mb, sample
from core.memory import settle_heap

T = TypeVar("T")
Say = Callable[[str], None]


async def _measured(system: System, work: Awaitable[T]) -> tuple[T, ModeUsage]:
    before = sample(system.children)
    result = await work
    return result, between(before, sample(system.children))


def _usage_figures(usage: ModeUsage, units: int) -> dict[str, Any]:
    return {
        "cpu_seconds": {k: round(v, 3) for k, v in usage.cpu.items()},
        "cpu_per_unit": {k: round(v, 5) for k, v in usage.per_unit(units).items()},
        "cpu_share_of_core": {k: round(v, 3) for k, v in usage.share_of_core().items()},
        "driver_bound": usage.driver_bound,
    }


def _mode_figures(stats: Stats, usage: ModeUsage, t: float) -> dict[str, Any]:
    seconds = max(stats.last_finish - stats.first_start, 1e-9)
    rate = stats.finished / seconds
    return {
        **stats.summary(),
        "seconds": round(seconds, 2),
        "cases_per_s": round(rate, 3),
        "ratio_to_T": round(rate / t, 4) if t else None,
        **_usage_figures(usage, stats.finished),
    }


async def bare_phase(system: System, args: argparse.Namespace, say: Say) -> dict[str, Any]:
    worker = system.spawn("bare_worker", [sys.executable, "-m", "bench.bare_worker",
                                          system.temporal_target])  # fmt: skip
    try:
        say(f"bare Temporal: warm-up, then {args.bare_seconds:.0f} s closed loop, C={args.clients}")
        client = await Client.connect(system.temporal_target)
        await bare.warm_up(client, args.clients, 2 * args.clients)
        result, usage = await _measured(
            system, bare.measure(client, args.clients, args.bare_seconds)
        )
        peak = memory_mb(worker.proc.pid)[1]
    finally:
        system.stop_child("bare_worker")
    return {
        "per_second": round(result.per_second, 3),
        "completed": result.completed,
        "failed": result.failed,
        "seconds": round(result.seconds, 2),
        "drain_seconds": round(result.drain_seconds, 2),
        "concurrency": result.concurrency,
        "workflow": latency_summary(result.latencies),
        "workflow_max_ms": round(max(result.latencies, default=0.0) * 1000, 1),
        "bare_worker_peak_mb": round(peak, 1),
        **_usage_figures(usage, result.completed),
    }


async def run_phases(system: System, args: argparse.Namespace, say: Say) -> dict[str, Any]:
    # The driver's own full collections would hold up its clients and count as latency.
    settle_heap()
    b = await bare_phase(system, args, say)
    report: dict[str, Any] = {"bare": b, "modes": {}}
    t = b["per_second"]
    say(f"T = {t:.2f} workflows/s")
    async with http_session(max(200, 2 * args.clients)) as http:
        driver = Driver(http, system.api_url, system.tokens)
        numbered = 0
        if not args.skip_saturated:
            say(f"saturated: {args.cases} cases, {args.clients} clients")
            stats, usage = await _measured(system, closed_loop(driver, args.cases, args.clients))
            report["modes"]["saturated"] = _mode_figures(stats, usage, t)
            numbered += args.cases
        if not args.skip_paced:
            rate = args.pace * t
            say(f"paced: {rate:.2f} cases/s ({args.pace} × T) for {args.pace_seconds:.0f} s")
            if rate <= 0:
                raise RuntimeError("T is 0: nothing to pace against")
            stats, usage = await _measured(
                system, open_loop(driver, rate, args.pace_seconds, first=numbered)
            )
            report["modes"]["paced"] = {
                **_mode_figures(stats, usage, t),
                "offered_per_s": round(rate, 3),
                "window_s": args.pace_seconds,
            }
            numbered += stats.started
        if args.open_cases:
            report["open_cases"] = await open_cases_phase(system, driver, args, numbered, say)
        if args.list_rows:
            say(f"listing: filling {args.list_rows} synthetic rows")
            fill = await asyncio.to_thread(listing.fill_cases, system.db_url, args.list_rows)
            say(f"  filled in {fill:.1f} s; {len(listing.FILTERS)} filters × 2 principals")
            results = await listing.time_listing(
                http, system.api_url, system.tokens, args.list_requests
            )
            report["listing"] = {"rows": args.list_rows, "fill_seconds": round(fill, 2),
                                 "requests_per_filter": args.list_requests,
                                 "results": results}  # fmt: skip
    peaks = {name: memory_mb(c.proc.pid)[1] for name, c in system.children.items() if c.alive()}
    peaks["bare_worker"] = b["bare_worker_peak_mb"]
    peaks[DRIVER] = driver_peak_mb()
    report["peak_rss_mb"] = {k: round(v, 1) for k, v in peaks.items()}
    return report


async def open_cases_phase(
    system: System, driver: Driver, args: argparse.Namespace, first: int, say: Say
) -> dict[str, Any]:
    worker = system.children["worker"]
    rss_before = memory_mb(worker.proc.pid)[0]
    say(f"open cases: {args.open_cases} intakes, {args.clients} clients")
    stats, usage = await _measured(
        system, closed_loop(driver, args.open_cases, args.clients, intake_only=True, first=first)
    )
    await asyncio.sleep(2)  # the routing's trailing activities (outbox, notifications) settle
    rss, peak = memory_mb(worker.proc.pid)
    figures = _mode_figures(stats, usage, 0.0)
    figures.pop("ratio_to_T")
    return {
        **figures,
        "worker_rss_mb_before": round(rss_before, 1),
        "worker_rss_mb": round(rss, 1),
        "worker_peak_mb": round(peak, 1),
    }
