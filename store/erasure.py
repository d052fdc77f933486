"""Erasure of a closed case's personal data (DESIGN §9; PIPL art. 47): on request
(`POST /cases/{id}/erase`, `mediation erase`) or when the policy's retention has run out
(the retention schedule, activities/retention.py).

In one transaction: the case's data key is destroyed, so its Temporal history (every
payload was sealed with it) and anything sealed in the store can never be opened again;
every personal field becomes TOMBSTONE; the idempotency answers (which held the parties as
answered) and the routing answers are deleted; undelivered notices are given up. What
statistics count — status, type, channel, town, risk, assignment, outcome, dates, the
timeline's kinds — stays, and a timeline row says when and on what legal basis the case
was erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from core.db import session_scope
from core.envelope import TOMBSTONE, DataKeys, case_subject
from models.enums import CaseStatus, ErasureBasis
from models.policy import SHORTEST, Policy
from models.tables import (
    AuditLog,
    Case,
    CaseEvent,
    IdempotencyKey,
    Notification,
    Party,
    utcnow,
)
from store.sealing import FREE_TEXT_DETAIL, PARTY_FIELDS
from store.steps import forget_routing

ERASED_STEP = "erased"


class NotErasable(ValueError):
    """The case cannot be erased now (it is not closed, or its workflow still runs)."""


NOT_CLOSED = "only a closed case can be erased"
STILL_RUNNING = "the case's workflow still runs (a judicial-confirmation window is open)"


def why_not_erasable(case: Case) -> str | None:
    """What the store alone can tell: an erased case is erased again (idempotent)."""
    if case.erased_at is None and case.status != CaseStatus.closed.value:
        return NOT_CLOSED
    return None


@dataclass(frozen=True)
class Erasure:
    case_id: str
    erased_at: datetime
    already: bool  # it had been erased before: nothing was done


async def workflow_finished(client: Client, workflow_id: str) -> bool:
    """A closed case may still have a running workflow (R8's judicial-confirmation window):
    its data key must outlive it."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return True  # its history is gone already (the namespace's retention)
        raise
    return described.status is not WorkflowExecutionStatus.RUNNING


def erase_case(
    engine: Engine,
    keys: DataKeys,
    case_id: str,
    basis: ErasureBasis,
    actor_id: str,
    audit: bool = False,
) -> Erasure:
    """Erase now. Raises LookupError for an unknown case, NotErasable for an open one; a
    case erased before answers `already` (idempotent). Call `workflow_finished` first.
    `audit`: write the audit row here (the CLI and the retention job; the API's requests
    are audited by its middleware)."""
    with session_scope(engine) as s:
        case = s.get(Case, case_id)
        if case is None:
            raise LookupError(case_id)
        if case.erased_at is not None:
            return Erasure(case_id, case.erased_at, already=True)
        if (why := why_not_erasable(case)) is not None:
            raise NotErasable(why)
        now = utcnow()
        _tombstone(s, case)
        keys.destroy(case_subject(case_id), s)
        s.add(
            CaseEvent(
                case_id=case_id,
                seq=case.last_seq + 1,
                kind=ERASED_STEP,
                status=case.status,
                actor_id=actor_id,
                detail={"basis": basis.value},
                occurred_at=now,
            )
        )
        case.erased_at = now
        s.add(case)
        if audit:
            s.add(
                AuditLog(
                    at=now,
                    principal_id=actor_id,
                    action=f"erase ({basis.value})"[:64],
                    resource=f"/api/v1/cases/{case_id}",
                    case_id=case_id,
                    status_code=200,
                )
            )
        return Erasure(case_id, now, already=False)


def _tombstone(s: Session, case: Case) -> None:
    case.summary = TOMBSTONE
    agreement = case.state.get("agreement")
    if agreement:
        case.state = {**case.state, "agreement": {**agreement, "terms": TOMBSTONE}}
    for party in s.exec(select(Party).where(Party.case_id == case.id)).all():
        for field in PARTY_FIELDS:
            if getattr(party, field) is not None:
                setattr(party, field, TOMBSTONE)
        s.add(party)
    for event in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all():
        if FREE_TEXT_DETAIL & event.detail.keys():
            event.detail = {
                k: TOMBSTONE if k in FREE_TEXT_DETAIL else v for k, v in event.detail.items()
            }
            s.add(event)
    s.exec(delete(IdempotencyKey).where(col(IdempotencyKey.case_id) == case.id))  # type: ignore[call-overload]
    forget_routing(s, case.id)  # closed before its closing step let go of them
    s.exec(
        update(Notification)  # type: ignore[call-overload]
        .where(col(Notification.case_id) == case.id, col(Notification.sent_at).is_(None))
        .where(col(Notification.dead_at).is_(None))
        .values(dead_at=utcnow(), last_error="the case was erased")
    )


def due_for_erasure(engine: Engine, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """Closed, not yet erased cases whose retention (their own policy's) ended by `now`:
    (case id, workflow id), oldest first."""
    with session_scope(engine) as s:
        rows = s.exec(
            select(Case.id, Case.workflow_id, Case.closed_at, Case.policy)
            .where(
                col(Case.status) == CaseStatus.closed.value,
                col(Case.erased_at).is_(None),
                col(Case.closed_at) <= now - SHORTEST,
            )
            .order_by(col(Case.closed_at))
            .limit(limit)
        ).all()
    return [
        (case_id, workflow_id)
        for case_id, workflow_id, closed_at, policy in rows
        if closed_at is not None and closed_at + Policy.model_validate(policy).retention <= now
    ]
