"""Case reads and intake helpers shared by the case routes: store look-ups, live state."""

from __future__ import annotations

import asyncio
import time

from fastapi import HTTPException
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from api.access import (
    MAY_READ_CASES,
    mask_id_number,
    mask_name,
    mask_phone,
    permitted_actions,
    require_readable,
    require_role,
    sees_personal_data,
)
from api.deps import Principal, Runtime
from api.schemas import CaseOut, PartyOut
from core.crypto import Keyring
from core.redact import remember_names
from models.case import CaseState
from models.enums import CaseStatus
from models.tables import Case, Party


def load_case(session: Session, case_id: str) -> Case | None:
    return session.get(Case, case_id)


def stored_state(case: Case) -> CaseState:
    return CaseState.model_validate(case.state)


async def live_state(client: Client, case: Case) -> CaseState:
    """The workflow's own answer while the case is open; the store's snapshot once closed
    (or, degraded, when Temporal cannot be reached)."""
    if case.status == CaseStatus.closed.value:
        return stored_state(case)
    try:
        handle = client.get_workflow_handle(case.workflow_id)
        state: CaseState = await handle.query("current_state", result_type=CaseState)
        return state
    except RPCError:
        return stored_state(case)


def parties_out(
    session: Session, principal: Principal, case: Case, keyring: Keyring
) -> list[PartyOut]:
    rows = session.exec(
        select(Party).where(Party.case_id == case.id).order_by(col(Party.position))
    ).all()
    full = sees_personal_data(principal, case)
    remember_names(p.name for p in rows)
    out = []
    for p in rows:
        phone = keyring.open(p.phone) or ""
        id_number = keyring.open(p.id_number)
        out.append(
            PartyOut(
                role=p.role,  # type: ignore[arg-type]
                name=p.name if full else mask_name(p.name),
                phone=phone if full else mask_phone(phone),
                id_number=id_number if full else mask_id_number(id_number),
                address=p.address if full else None,
                masked=not full,
            )
        )
    return out


def case_out(
    session: Session, principal: Principal, case: Case, state: CaseState, keyring: Keyring
) -> CaseOut:
    return CaseOut.build(
        state,
        parties_out(session, principal, case, keyring),
        permitted_actions(principal, state.allowed_actions),
    )


async def readable_case(rt: Runtime, principal: Principal, case_id: str) -> Case:
    """The case, if this principal may read cases and this one is in their scope."""
    require_role(principal, MAY_READ_CASES, "read cases")
    return require_readable(principal, await rt.db(lambda s: load_case(s, case_id)))


async def present(rt: Runtime, principal: Principal, case: Case) -> CaseOut:
    """The case as this principal may see it, with its live state."""
    state = await live_state(rt.client, case)
    return await rt.db(lambda s: case_out(s, principal, case, state, rt.keyring))


async def wait_for_row(rt: Runtime, case_id: str, seconds: float = 15) -> Case:
    """The intake step writes the case row; answer only once it is there."""
    deadline = time.monotonic() + seconds
    while True:
        row = await rt.db(lambda s: load_case(s, case_id))
        if row is not None:
            return row
        if time.monotonic() > deadline:
            raise HTTPException(
                503, "the case was started but is not recorded yet; retry with the same key"
            )
        await asyncio.sleep(0.05)
