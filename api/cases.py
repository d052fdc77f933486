"""Case reads shared by the case routes: the store's row, as a principal may see it."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, func
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from api.access import (
    MAY_READ_CASES,
    mask_id_number,
    mask_name,
    mask_phone,
    permitted_actions,
    require_readable,
    require_role,
    scope_filter,
    sees_personal_data,
)
from api.deps import Principal, Runtime
from api.schemas import CaseOut, CasePage, CaseSummary, PartyOut
from cases.read import current_state
from core.envelope import DataKeys
from core.redact import remember_names
from models.case import CaseState
from models.tables import Case
from store.sealing import opened_parties

_CASE = select(Case).where(Case.id == bindparam("case_id"))
# JSON and text that a command's route never reads: it answers with the state its Update
# returned.
_HEAVY = (Case.state, Case.policy, Case.summary)
_CASE_SCOPE = _CASE.options(*(defer(c) for c in _HEAVY))  # type: ignore[arg-type]


def load_case(session: Session, case_id: str, *, scope_only: bool = False) -> Case | None:
    """The case's row; `scope_only` leaves its state, policy and summary. By statements
    built once: `Session.get` builds its query each time, and with the deferred columns
    took twice as long as this (0.56 against 0.27 ms of CPU with its session, 0.43
    against 0.37 without them), on every request that names a case."""
    stmt = _CASE_SCOPE if scope_only else _CASE
    return session.exec(stmt, params={"case_id": case_id}).one_or_none()


def query_cases(
    session: Session,
    principal: Principal,
    filters: Mapping[str, object],
    page: int = 1,
    page_size: int = 20,
) -> CasePage:
    """A page of the cases this principal may read, newest first; `filters` are column ==
    value conditions (None: not filtered)."""
    require_role(principal, MAY_READ_CASES, "read cases")
    stmt = select(Case).where(scope_filter(principal))
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(Case, column) == value)
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


def parties_out(
    session: Session, principal: Principal, case: Case, keys: DataKeys
) -> list[PartyOut]:
    rows = opened_parties(session, keys, case.id)
    full = sees_personal_data(principal, case)
    remember_names(p.name for p in rows)
    return [
        PartyOut(
            role=p.role,  # type: ignore[arg-type]
            name=p.name if full else mask_name(p.name),
            phone=p.phone if full else mask_phone(p.phone),
            id_number=p.id_number if full else mask_id_number(p.id_number),
            address=p.address if full else None,
            masked=not full,
        )
        for p in rows
    ]


def case_out(
    session: Session, principal: Principal, case: Case, state: CaseState | None, keys: DataKeys
) -> CaseOut:
    """The case as this principal may see it: in `state` (an Update's answer, once its step
    is persisted), or as the store has it (None)."""
    state = state or current_state(case)
    return CaseOut.build(
        state,
        parties_out(session, principal, case, keys),
        permitted_actions(principal, state.allowed_actions),
    )


async def readable_case(rt: Runtime, principal: Principal, case_id: str) -> Case:
    """The case, if this principal may read cases and this one is in their scope."""
    require_role(principal, MAY_READ_CASES, "read cases")
    return require_readable(principal, await rt.db(lambda s: load_case(s, case_id)))


async def read_case(rt: Runtime, principal: Principal, case_id: str) -> CaseOut:
    """GET /cases/{id}: the case as the store has it, if this principal may read it; one
    session (the read every click and every poll takes)."""
    require_role(principal, MAY_READ_CASES, "read cases")

    def read(session: Session) -> CaseOut:
        case = require_readable(principal, load_case(session, case_id))
        return case_out(session, principal, case, None, rt.keys)

    return await rt.db(read)


async def present(
    rt: Runtime, principal: Principal, case: Case, state: CaseState | None = None
) -> CaseOut:
    """The case as this principal may see it: as the store has it, or (the answer to a
    command) the state its Update returned once its step was persisted."""
    return await rt.db(lambda s: case_out(s, principal, case, state, rt.keys))
