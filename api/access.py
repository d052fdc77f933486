"""Who may do what (DESIGN §7), and what they may see. Routes ask; nothing else decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlalchemy import ColumnElement, and_, false, true

from api.deps import Principal, PrincipalDep
from models.case import Actor
from models.commands import MAY_ACT, Action
from models.enums import Role
from models.tables import Case
from store.sealing import FREE_TEXT_DETAIL

MAY_INTAKE = {Role.officer, Role.supervisor}
MAY_SEE_STATS = {Role.officer, Role.supervisor}
MAY_READ_CASES = {Role.officer, Role.mediator, Role.supervisor}
MAY_ADMINISTER = {Role.admin}  # accounts and the roster; no case data (MAY_READ_CASES)


def actor_of(p: Principal) -> Actor:
    return Actor(principal_id=p.id, role=p.role, org_id=p.org_id, mediator_id=p.mediator_id)


def require_role(p: Principal, allowed: set[Role] | frozenset[Role], what: str) -> None:
    if p.role not in allowed:
        raise HTTPException(403, f"a {p.role.value} may not {what}")


def administrator(p: PrincipalDep) -> Principal:
    """The admin routes' dependency: it runs before the body is read, so anyone else gets
    403 whatever they send."""
    require_role(p, MAY_ADMINISTER, "manage accounts or the roster")
    return p


AdminDep = Annotated[Principal, Depends(administrator)]


def require_action(p: Principal, action: Action) -> None:
    if action not in MAY_ACT[p.role]:
        raise HTTPException(403, f"the {p.role.value} role may not '{action.value}' a case")


def read_scope(p: Principal) -> dict[str, object] | None:
    """The cases a principal may read, as column == value conditions (all must hold); None
    when they may read none. The list's SQL filter and the per-case check both come from
    here, so they cannot disagree. Non-public cases (R10) stay with the assigned
    organisation and the supervisors. A mediator principal always names its mediator
    (store/principals.py); one that does not (made before that rule) reads nothing."""
    match p.role:
        case Role.supervisor:
            return {}
        case Role.officer:
            return {"non_public": False}
        case Role.mediator if p.org_id is not None and p.mediator_id is not None:
            return {"org_id": p.org_id}
    return None


def scope_filter(p: Principal) -> ColumnElement[bool]:
    """`read_scope` as a WHERE clause on the cases table."""
    scope = read_scope(p)
    if scope is None:
        return false()
    return and_(true(), *(getattr(Case, column) == value for column, value in scope.items()))


def can_read(p: Principal, case: Case) -> bool:
    """`read_scope` checked on one case."""
    scope = read_scope(p)
    return scope is not None and all(getattr(case, c) == v for c, v in scope.items())


def require_readable(p: Principal, case: Case | None) -> Case:
    """Cases outside a principal's scope do not exist for them (404, not 403)."""
    if case is None or not can_read(p, case):
        raise HTTPException(404, "no such case")
    return case


def require_own_assignment(p: Principal, case: Case) -> None:
    """A mediator acts only on cases assigned to them (or to nobody yet)."""
    if p.role is Role.mediator and case.mediator_id not in (None, p.mediator_id):
        raise HTTPException(403, "the case is assigned to another mediator")


def sees_personal_data(p: Principal, case: Case) -> bool:
    """Officers (intake), supervisors and the assigned mediator need contact details."""
    if p.role in (Role.officer, Role.supervisor):
        return True
    mine = p.mediator_id is not None and p.mediator_id == case.mediator_id
    return p.role is Role.mediator and mine


def mask_detail(detail: dict[str, object]) -> dict[str, object]:
    return {k: ("[masked]" if k in FREE_TEXT_DETAIL else v) for k, v in detail.items()}


def permitted_actions(p: Principal, allowed: list[str]) -> list[str]:
    return [a for a in allowed if Action(a) in MAY_ACT[p.role]]


def mask_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if name else name


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_id_number(value: str | None) -> str | None:
    return None if value is None else "*" * (len(value) - 4) + value[-4:]
