"""Intake and reads of cases (DESIGN §6)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import func
from sqlmodel import col, select
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.access import (
    MAY_INTAKE,
    MAY_READ_CASES,
    actor_of,
    mask_detail,
    require_readable,
    require_role,
    scope_filter,
    sees_personal_data,
)
from api.cases import load_case, present, readable_case
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.idempotency import IdempotencyKeyHeader, Key, claim
from api.problems import error_responses
from api.schemas import CaseOut, CasePage, CaseSummary, EventOut, NotificationOut
from cases.intake import new_case_input, start_case
from core.redact import remember_names
from models.case import IntakeRequest
from models.enums import CaseStatus, DisputeType, RiskLevel
from models.tables import Case, CaseEvent, Notification

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=error_responses(401, 403, 422))
NOT_FOUND = error_responses(404)


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    responses={
        200: {
            "description": "the same Idempotency-Key was seen before: that case",
            "model": CaseOut,
        },
        **error_responses(503),
    },
)
async def intake(
    body: IntakeRequest,
    rt: RuntimeDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CaseOut:
    """Register a dispute and start its workflow; answer once the case is registered,
    screened and routed (its status and assignment, as the store now holds them). The same
    `Idempotency-Key` from the same principal with the same body always names the same
    case: the first request answers 201, every repeat 200 with that case, even after it
    closed; another body under the key answers 422."""
    require_role(principal, MAY_INTAKE, "register cases")
    remember_names(p.name for p in body.parties)
    key = Key.of(principal.id, idempotency_key, "POST /cases", body) if idempotency_key else None
    case = new_case_input(body, rt.policy, key.digest if key else None, actor_of(principal))
    if key is not None:
        first = (await rt.db(lambda s: claim(s, key, case.case_id))).first
        if not first:
            response.status_code = 200
            seen = await rt.db(lambda s: load_case(s, case.case_id))
            if seen is not None and seen.status != CaseStatus.registered.value:
                return await present(rt, principal, require_readable(principal, seen))
            # A repeat while the first request's case is still being routed: the start below
            # joins that workflow, and its registration Update (same id) answers when routed.
    state = None
    try:
        async with asyncio.timeout(rt.settings.command_timeout):
            state = await start_case(rt.client, rt.settings.task_queue, case)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise HTTPException(
            503, "the case is not routed yet; retry with the same Idempotency-Key"
        ) from None
    except WorkflowAlreadyStartedError:
        response.status_code = 200  # the key's case ran and closed already: its row answers
    except RPCError:
        raise HTTPException(503, "the workflow service is not reachable; try again") from None
    # With the registration's state in hand, the row is only needed for scope and parties.
    row = await rt.db(lambda s: load_case(s, case.case_id, scope_only=state is not None))
    if row is None:  # the intake step is persisted before registration answers
        raise HTTPException(503, "the case is not recorded yet; retry with the same key")
    if response.status_code == 200:  # a repeat sees no more than its principal may read
        require_readable(principal, row)
    return await present(rt, principal, row, state)


@router.get("", response_model=CasePage)
def list_cases(
    session: SessionDep,
    principal: PrincipalDep,
    status: CaseStatus | None = None,
    dispute_type: DisputeType | None = None,
    org_id: str | None = None,
    mediator_id: str | None = None,
    town: str | None = None,
    risk_level: RiskLevel | None = None,
    overdue: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CasePage:
    require_role(principal, MAY_READ_CASES, "read cases")
    stmt = select(Case).where(scope_filter(principal))
    filters = {
        Case.status: status,
        Case.dispute_type: dispute_type,
        Case.org_id: org_id,
        Case.mediator_id: mediator_id,
        Case.town: town,
        Case.risk_level: risk_level,
        Case.overdue: overdue,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(Case.created_at).desc(), Case.id)
        .offset((page - 1) * page_size)
        .limit(page_size)  # type: ignore[attr-defined]
    ).all()
    return CasePage(
        items=[CaseSummary.from_row(r) for r in rows],
        page=page,
        page_size=page_size,
        total=total,
    )


@router.get("/{case_id}", response_model=CaseOut, responses=NOT_FOUND)
async def get_case(case_id: str, rt: RuntimeDep, principal: PrincipalDep) -> CaseOut:
    return await present(rt, principal, await readable_case(rt, principal, case_id))


@router.get("/{case_id}/timeline", response_model=list[EventOut], responses=NOT_FOUND)
def timeline(case_id: str, session: SessionDep, principal: PrincipalDep) -> list[EventOut]:
    require_role(principal, MAY_READ_CASES, "read cases")
    case = require_readable(principal, load_case(session, case_id))
    full = sees_personal_data(principal, case)
    rows = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
    ).all()  # type: ignore[arg-type]
    return [
        EventOut.model_validate(r, from_attributes=True).model_copy(
            update={"detail": r.detail if full else mask_detail(r.detail)}
        )
        for r in rows
    ]


@router.get("/{case_id}/notifications", response_model=list[NotificationOut], responses=NOT_FOUND)
def case_notifications(
    case_id: str, session: SessionDep, principal: PrincipalDep
) -> list[NotificationOut]:
    require_role(principal, MAY_READ_CASES, "read cases")
    require_readable(principal, load_case(session, case_id))
    rows = session.exec(
        select(Notification).where(Notification.case_id == case_id).order_by(col(Notification.id))  # type: ignore[arg-type]
    ).all()
    return [NotificationOut.model_validate(r, from_attributes=True) for r in rows]
