"""`POST /cases/{id}/erase` (DESIGN §6, §9): a supervisor erases a closed case's personal
data on a lawful request, as the retention schedule does when the retention ends."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict

from api.access import require_role
from api.cases import readable_case
from api.deps import PrincipalDep, RuntimeDep
from api.problems import error_responses
from models.enums import ErasureBasis, Role
from store.erasure import (
    STILL_RUNNING,
    NotErasable,
    erase_case,
    why_not_erasable,
    workflow_finished,
)

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])
MAY_ERASE = {Role.supervisor}


class EraseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ErasureBasis  # the legal basis; no free text, as nothing personal may stay


class ErasureOut(BaseModel):
    case_id: str
    erased_at: datetime
    already_erased: bool


@router.post(
    "/{case_id}/erase",
    response_model=ErasureOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def erase(
    case_id: str, body: EraseBody, rt: RuntimeDep, principal: PrincipalDep
) -> ErasureOut:
    """Destroy the case's data key and replace its personal fields with a tombstone; the
    case still counts in statistics. Only a closed case whose workflow has finished (409
    otherwise); erasing again answers the first erasure."""
    require_role(principal, MAY_ERASE, "erase a case")
    case = await readable_case(rt, principal, case_id)
    if (why := why_not_erasable(case)) is not None:
        raise HTTPException(409, why)
    if case.erased_at is None and not await workflow_finished(rt.client, case.workflow_id):
        raise HTTPException(409, STILL_RUNNING)
    try:
        done = await asyncio.to_thread(
            erase_case, rt.engine, rt.keys, case_id, body.reason, principal.id
        )
    except NotErasable as exc:
        raise HTTPException(409, str(exc)) from None
    return ErasureOut(case_id=done.case_id, erased_at=done.erased_at, already_erased=done.already)
