"""Caseload statistics for officers and supervisors."""

from __future__ import annotations

from statistics import median

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import col, select

from api.access import MAY_SEE_STATS, require_role
from api.deps import PrincipalDep, SessionDep
from api.problems import error_responses
from api.schemas import Stats
from models.enums import CaseStatus, Outcome
from models.tables import Case

router = APIRouter(prefix="/api/v1", tags=["stats"], responses=error_responses(401, 403))
RESOLVED = (Outcome.resolved.value, Outcome.resolved_on_site.value)


@router.get("/stats", response_model=Stats)
def stats(session: SessionDep, principal: PrincipalDep) -> Stats:
    require_role(principal, MAY_SEE_STATS, "see statistics")

    def by(column: object) -> dict[str, int]:
        rows = session.exec(select(column, func.count()).group_by(column)).all()  # type: ignore[call-overload]
        return {str(k): n for k, n in rows if k is not None}

    closed_rows = session.exec(
        select(Case.outcome, Case.created_at, Case.closed_at).where(
            Case.status == CaseStatus.closed.value
        )
    ).all()
    days = [
        (closed - created).total_seconds() / 86400
        for _outcome, created, closed in closed_rows
        if closed is not None
    ]
    resolved = sum(1 for outcome, _c, _d in closed_rows if outcome in RESOLVED)
    return Stats(
        total=session.exec(select(func.count()).select_from(Case)).one(),
        by_status=by(Case.status),
        by_dispute_type=by(Case.dispute_type),
        by_org=by(Case.org_id),
        by_town=by(Case.town),
        by_risk_level=by(Case.risk_level),
        closed=len(closed_rows),
        resolved=resolved,
        resolution_rate=round(resolved / len(closed_rows), 4) if closed_rows else None,
        median_days_to_close=round(median(days), 4) if days else None,
        overdue=session.exec(select(func.count()).select_from(Case).where(col(Case.overdue))).one(),
    )
