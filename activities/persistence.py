"""The persistence activities: one activity type per workflow step, all writing through
`store.steps.CaseStore.record_step` (so replay detects reordered steps by their types)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from models.case import Step, StepReceipt, StepRecord, StuckStep
from store.steps import CaseStore


def persist_activities(store: CaseStore) -> list[Callable[..., Any]]:
    """One activity definition per step, and the alert for a step that will not go in."""

    @activity.defn(name="alert_stuck_step")
    def alert_stuck_step(stuck: StuckStep) -> bool:
        return store.alert_stuck_step(stuck)

    return [*(_persist_activity(store, step) for step in Step), alert_stuck_step]


def one_per_step(
    step: Any, record_type: type, receipt_type: type, write: Callable[[Any], Any]
) -> Callable[..., Any]:
    """The activity named after `step` (`persist_<step>`), taking that step's records only:
    one activity type per step, so replay detects reordered steps by their types. Cases and
    public reports (activities/report.py) both make theirs here."""

    def persist(record: Any) -> Any:
        if record.step is not step:
            raise ValueError(f"{step.activity_name} got a {record.step.value} record")
        return write(record)

    persist.__name__ = persist.__qualname__ = step.activity_name
    persist.__annotations__ = {"record": record_type, "return": receipt_type}
    return activity.defn(name=step.activity_name)(persist)


def _persist_activity(store: CaseStore, step: Step) -> Callable[..., Any]:
    def write(record: StepRecord) -> StepReceipt:
        written = store.record_step(record)
        # DEBUG: the workflow's own line for the step ("case step …") is the INFO one.
        activity.logger.debug(
            "persisted %s seq %d%s",
            step.value,
            record.seq,
            "" if written else " (already there)",
            extra={"step": step.value, "seq": record.seq, "written": written},
        )
        return StepReceipt.of(record, written)

    return one_per_step(step, StepRecord, StepReceipt, write)
