"""What a load mode records: latency per route, failures, the 404s the assigned mediator
saw, and the intake polls."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ROUTES = ("intake", "intake_poll", "get", "accept", "agreement", "follow_ups")
# Issue 11's p99 targets, ms: each route's answers over them are counted, a steadier sign
# of the tail than one run's p99 (the second-slowest of 200).
BUDGET_MS = {"intake": 300, "accept": 100, "agreement": 100, "follow_ups": 100}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (q in 0..100); 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: list[float], budget_ms: float | None = None) -> dict[str, Any]:
    summary = {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
    }
    if budget_ms is not None:
        summary["over_budget"] = sum(s * 1000 > budget_ms for s in seconds)
        summary["budget_ms"] = budget_ms
    return summary


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    case_seconds: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    failure_examples: list[str] = field(default_factory=list)
    mediator_404s: Counter[str] = field(default_factory=Counter)
    intake_polls: int = 0
    retried_503: int = 0  # answers of 503 + Retry-After, tried again with the same key
    started: int = 0
    finished: int = 0  # closed (happy path) or routed (open cases)
    first_start: float = 0.0
    last_finish: float = 0.0
    max_in_flight: int = 0
    _in_flight: int = 0

    def fail(self, route: str, what: str, example: str = "") -> None:
        self.failures[f"{route}: {what}"] += 1
        if len(self.failure_examples) < 10:
            self.failure_examples.append(f"{route}: {what} {example}"[:300])

    def begin(self, now: float) -> None:
        self.started += 1
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        if self.started == 1:
            self.first_start = now

    def end(self, now: float) -> None:
        self._in_flight -= 1
        self.last_finish = max(self.last_finish, now)

    def summary(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "finished": self.finished,
            "failures": sum(self.failures.values()),
            "failures_by_kind": dict(self.failures.most_common()),
            "failure_examples": self.failure_examples,
            "mediator_404s": sum(self.mediator_404s.values()),
            "mediator_404s_by_route": dict(self.mediator_404s),
            "intake_polls": self.intake_polls,
            "retried_503": self.retried_503,
            "max_in_flight": self.max_in_flight,
            "routes": {
                r: latency_summary(v, BUDGET_MS.get(r)) for r, v in self.latencies.items() if v
            },
            "case": latency_summary(self.case_seconds),
        }
