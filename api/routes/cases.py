"""Intake and reads of cases (DESIGN §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from api.access import (
    MAY_READ_CASES,
    mask_detail,
    require_readable,
    require_role,
    sees_personal_data,
)
from api.cases import load_case, query_cases, read_case
from api.commands import register
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.idempotency import IdempotencyKeyHeader
from api.problems import error_responses
from api.schemas import CaseOut, CasePage, EventOut, NotificationOut
from models.case import IntakeRequest
from models.enums import CaseStatus, DisputeType, RiskLevel
from models.tables import Notification
from store.sealing import opened_events

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
    case, created = await register(rt, principal, body, idempotency_key)
    if not created:
        response.status_code = 200
    return case


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
    case_no: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CasePage:
    filters = {
        "status": status,
        "dispute_type": dispute_type,
        "org_id": org_id,
        "mediator_id": mediator_id,
        "town": town,
        "risk_level": risk_level,
        "overdue": overdue,
        "case_no": case_no,
    }
    return query_cases(session, principal, filters, page, page_size)


@router.get("/{case_id}", response_model=CaseOut, responses=NOT_FOUND)
async def get_case(case_id: str, rt: RuntimeDep, principal: PrincipalDep) -> CaseOut:
    return await read_case(rt, principal, case_id)


@router.get("/{case_id}/timeline", response_model=list[EventOut], responses=NOT_FOUND)
def timeline(
    case_id: str, session: SessionDep, principal: PrincipalDep, rt: RuntimeDep
) -> list[EventOut]:
    require_role(principal, MAY_READ_CASES, "read cases")
    case = require_readable(principal, load_case(session, case_id))
    full = sees_personal_data(principal, case)
    rows = opened_events(session, rt.keys, case_id)
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
