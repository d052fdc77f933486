"""Persisting a step twice (a retried or replayed activity) writes nothing new, and an
older snapshot never overwrites a newer one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cases.intake import new_case_input, workflow_id_for
from models.case import CaseState, NotificationDraft, Step, StepRecord
from models.enums import CaseStatus, NotificationKind
from models.policy import Policy
from store.steps import CaseStore
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import case_row, events, intake, notifications


def _record(case, step: Step, seq: int, status: CaseStatus, **kw) -> StepRecord:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 27, tzinfo=UTC) + timedelta(minutes=seq)
    state = CaseState(
        case_id=case.case_id,
        case_no=case.case_no,
        workflow_id=workflow_id_for(case.case_id),
        status=status,
        dispute_type=case.intake.dispute_type,
        channel=case.intake.channel,
        town=case.intake.town,
        seq=seq,
        created_at=at,
        updated_at=at,
    )
    return StepRecord(
        step=step, seq=seq, occurred_at=at, actor={"principal_id": "system"}, state=state, **kw
    )


def test_replayed_steps_write_once_and_never_regress(engine: Engine) -> None:
    store = CaseStore(engine, TEST_DATA_KEYS)
    case = new_case_input(intake(), Policy())
    first = _record(case, Step.intake, 1, CaseStatus.registered, intake=case)
    alert = _record(
        case,
        Step.risk_alert,
        2,
        CaseStatus.registered,
        notifications=[
            NotificationDraft(kind=NotificationKind.risk_alert, audience="police_liaison")
        ],
    )
    later = _record(case, Step.supervisor_escalation, 3, CaseStatus.awaiting_supervisor)
    assert store.record_step(first) is True
    assert store.record_step(alert) is True
    assert store.record_step(later) is True
    # A retry of earlier steps after the later one was written:
    assert store.record_step(first) is False
    assert store.record_step(alert) is False
    assert [e.seq for e in events(engine, case.case_id)] == [1, 2, 3]
    assert len(notifications(engine, case.case_id)) == 1
    row = case_row(engine, case.case_id)
    assert row is not None and (row.status, row.last_seq) == ("awaiting_supervisor", 3)
