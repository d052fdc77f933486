"""The report triage's persistence activities: one activity type per step (so replay
detects reordered steps by their types), all writing through `store.reports.ReportStore`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.persistence import one_per_step
from models.report import ReportReceipt, ReportStep, ReportStepRecord
from store.reports import ReportStore


def report_activities(store: ReportStore) -> list[Callable[..., Any]]:
    return [_persist_activity(store, step) for step in ReportStep]


def _persist_activity(store: ReportStore, step: ReportStep) -> Callable[..., Any]:
    def write(record: ReportStepRecord) -> ReportReceipt:
        written = store.record_step(record)
        activity.logger.debug(
            "persisted report %s seq %d%s",
            step.value,
            record.seq,
            "" if written else " (already there)",
            extra={"step": step.value, "seq": record.seq, "written": written},
        )
        return ReportReceipt(step=step, seq=record.seq, status=record.state.status, written=written)

    return one_per_step(step, ReportStepRecord, ReportReceipt, write)
