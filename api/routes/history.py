"""A case's workflow history for people (DESIGN §6), and decoded raw events for supervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.cases import readable_case
from api.deps import PrincipalDep, RuntimeDep
from api.problems import error_responses
from cases import history
from core.envelope import Erased
from models.enums import Role

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class HistoryOut(BaseModel):
    case_id: str
    workflow_id: str
    entries: list[history.HistoryEntry]
    events: list[dict[str, Any]] | None = None


@router.get(
    "/{case_id}/history",
    response_model=HistoryOut,
    responses=error_responses(401, 403, 404, 410, 422, 503),
)
async def case_history(
    case_id: str,
    rt: RuntimeDep,
    principal: PrincipalDep,
    raw: Annotated[bool, Query(description="also the decoded events (supervisors)")] = False,
) -> HistoryOut:
    """What happened to the case, when, and on whose command, from its Temporal history."""
    case = await readable_case(rt, principal, case_id)
    if raw and principal.role is not Role.supervisor:
        raise HTTPException(403, "only supervisors read the raw history")
    client = rt.client
    try:
        runs = await history.fetch(client, case.workflow_id)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                404, "the workflow history is no longer kept (retention); see the timeline"
            ) from None
        raise HTTPException(503, "the workflow service is not reachable; try again") from None
    converter = client.data_converter
    try:
        return HistoryOut(
            case_id=case.id,
            workflow_id=case.workflow_id,
            entries=await history.summarise_runs(runs, converter),
            events=[e for h in runs for e in await history.decoded_events(h, converter)]
            if raw
            else None,
        )
    except Erased:
        raise HTTPException(
            410, "the case's personal data was erased: its history can no longer be read"
        ) from None
