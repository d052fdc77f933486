"""The risk screen against the committed labelled set: precision and recall per level.

    make risk-eval            # or: .venv/bin/python -m ops.risk_eval [PATH]

The set (tests/data/risk_eval.jsonl) holds hand-written intake summaries, one JSON object a
line: `id`, `summary`, the expected `level` and `category` (a reason code, null for green),
and optionally `flags` and `headcount`. The screen is `activities.risk.assess_risk`, the
activity's own function. Exits 1 when red falls below its targets (issue 16): a missed red
is the worst error (防民转刑), a false red costs police liaison time.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from activities.risk import assess_risk, segmenter
from models.case import RiskScreeningInput
from models.enums import RiskFlag, RiskLevel

EVAL_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "risk_eval.jsonl"
RED_RECALL_TARGET = 0.98
RED_PRECISION_TARGET = 0.9
COLLECTIVE_HEADCOUNT = 10  # the policy's default (R11)


@dataclass(frozen=True)
class Example:
    id: str
    summary: str
    level: RiskLevel
    category: str | None
    flags: tuple[RiskFlag, ...] = ()
    headcount: int | None = None


@dataclass(frozen=True)
class Miss:
    id: str
    expected: RiskLevel
    got: RiskLevel
    reasons: tuple[str, ...]


@dataclass
class Evaluation:
    total: int = 0
    # level → [true positives, predicted, expected]
    counts: dict[RiskLevel, list[int]] = field(
        default_factory=lambda: {level: [0, 0, 0] for level in RiskLevel}
    )
    misses: list[Miss] = field(default_factory=list)
    # right level, but the expected category is not among the reasons
    wrong_category: list[str] = field(default_factory=list)

    def precision(self, level: RiskLevel) -> float:
        tp, predicted, _ = self.counts[level]
        return tp / predicted if predicted else 1.0

    def recall(self, level: RiskLevel) -> float:
        tp, _, expected = self.counts[level]
        return tp / expected if expected else 1.0

    def meets_targets(self) -> bool:
        return (
            self.recall(RiskLevel.red) >= RED_RECALL_TARGET
            and self.precision(RiskLevel.red) >= RED_PRECISION_TARGET
        )


def load(path: Path = EVAL_SET) -> list[Example]:
    examples = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        examples.append(
            Example(
                id=row["id"],
                summary=row["summary"],
                level=RiskLevel(row["level"]),
                category=row.get("category"),
                flags=tuple(RiskFlag(f) for f in row.get("flags", ())),
                headcount=row.get("headcount"),
            )
        )
    return examples


def evaluate(examples: list[Example]) -> Evaluation:
    ev = Evaluation(total=len(examples))
    for ex in examples:
        result = assess_risk(
            RiskScreeningInput(
                summary=ex.summary,
                risk_flags=list(ex.flags),
                headcount=ex.headcount,
                collective_headcount=COLLECTIVE_HEADCOUNT,
            )
        )
        ev.counts[ex.level][2] += 1
        ev.counts[result.level][1] += 1
        if result.level is ex.level:
            ev.counts[ex.level][0] += 1
            if ex.category is not None and ex.category not in result.reasons:
                ev.wrong_category.append(ex.id)
        else:
            ev.misses.append(Miss(ex.id, ex.level, result.level, tuple(result.reasons)))
    return ev


def report(ev: Evaluation) -> str:
    lines = [f"{ev.total} labelled summaries"]
    lines.append(f"{'level':<8}{'precision':>10}{'recall':>8}{'expected':>10}{'predicted':>11}")
    for level in (RiskLevel.red, RiskLevel.yellow, RiskLevel.green):
        _, predicted, expected = ev.counts[level]
        lines.append(
            f"{level.value:<8}{ev.precision(level):>10.3f}{ev.recall(level):>8.3f}"
            f"{expected:>10}{predicted:>11}"
        )
    lines.append(f"misclassified ({len(ev.misses)}):")
    lines += [
        f"  {m.id}: expected {m.expected.value}, got {m.got.value} {list(m.reasons)}"
        for m in ev.misses
    ]
    if ev.wrong_category:
        lines.append(f"right level, other category: {', '.join(ev.wrong_category)}")
    target = f"red recall ≥ {RED_RECALL_TARGET}, red precision ≥ {RED_PRECISION_TARGET}"
    lines.append(f"{target}: {'met' if ev.meets_targets() else 'NOT MET'}")
    return "\n".join(lines)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    examples = load(Path(args[0]) if args else EVAL_SET)
    before, started = _rss_mb(), time.perf_counter()
    segmenter()
    print(
        f"segmenter loaded in {time.perf_counter() - started:.2f} s, "
        f"RSS +{_rss_mb() - before:.1f} MB"
    )
    ev = evaluate(examples)
    print(report(ev))
    return 0 if ev.meets_targets() else 1


if __name__ == "__main__":
    sys.exit(main())
