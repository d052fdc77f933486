"""The report triage's persistence activities: one activity type per step (so replay
detects reordered steps by their types), all writing through `store.reports.ReportStore`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from models.report import ReportReceipt, ReportStep, ReportStepRecord
from store.reports import ReportStore


def report_activities(store: ReportStore) -> list[Callable[..., Any]]:
    return [_persist_activity(store, step) for step in ReportStep]


def _persist_activity(store: ReportStore, step: ReportStep) -> Callable[..., Any]:
    def persist(record: ReportStepRecord) -> ReportReceipt:
        if record.step is not step:
            raise ValueError(f"{step.activity_name} got a {record.step.value} record")
        written = store.record_step(record)
        activity.logger.debug(
            "persisted report %s seq %d%s",
            step.value,
            record.seq,
            "" if written else " (already there)",
            extra={"step": step.value, "seq": record.seq, "written": written},
        )
        return ReportReceipt(step=step, seq=record.seq, status=record.state.status, written=written)

    persist.__name__ = persist.__qualname__ = step.activity_name
    persist.__annotations__ = {"record": ReportStepRecord, "return": ReportReceipt}
    return activity.defn(name=step.activity_name)(persist)
