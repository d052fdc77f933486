"""The roster: organisations and mediators with their current load."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import select

from api.deps import PrincipalDep, SessionDep
from api.problems import error_responses
from models.enums import CaseStatus
from models.tables import Case, Mediator, Organization

router = APIRouter(prefix="/api/v1", tags=["roster"], responses=error_responses(401, 422))


class OrganizationOut(BaseModel):
    id: str
    name: str
    kind: str
    town: str | None
    community: str | None
    specialty: str | None
    mediators: int
    active_cases: int


class MediatorOut(BaseModel):
    id: str
    org_id: str
    name: str
    title: str | None
    capacity: int
    active_cases: int


def _open_cases_by(session: SessionDep, column: object) -> dict[str, int]:
    rows = session.exec(
        select(column, func.count()).where(Case.status != CaseStatus.closed.value).group_by(column)  # type: ignore[call-overload]
    ).all()
    return {k: n for k, n in rows if k is not None}


@router.get("/organizations", response_model=list[OrganizationOut])
def list_organizations(session: SessionDep, _principal: PrincipalDep) -> list[OrganizationOut]:
    load = _open_cases_by(session, Case.org_id)
    staff = dict(
        session.exec(select(Mediator.org_id, func.count()).group_by(Mediator.org_id)).all()
    )  # type: ignore[arg-type]
    orgs = session.exec(
        select(Organization).where(Organization.active).order_by(Organization.id)
    ).all()
    return [
        OrganizationOut(
            **o.model_dump(exclude={"active"}),
            mediators=staff.get(o.id, 0),
            active_cases=load.get(o.id, 0),
        )
        for o in orgs
    ]


@router.get("/mediators", response_model=list[MediatorOut])
def list_mediators(
    session: SessionDep, _principal: PrincipalDep, org_id: str | None = None
) -> list[MediatorOut]:
    load = _open_cases_by(session, Case.mediator_id)
    stmt = select(Mediator).where(Mediator.active)
    if org_id is not None:
        stmt = stmt.where(Mediator.org_id == org_id)
    return [
        MediatorOut(**m.model_dump(exclude={"active"}), active_cases=load.get(m.id, 0))
        for m in session.exec(stmt.order_by(Mediator.id)).all()
    ]
