"""One route per command (DESIGN §6): each runs exactly one workflow Update.

The workflow decides whether a command is legal (its validator); this module only
authenticates, authorises, checks the body and translates the answer: 409 when the
validator says no, with its reason.
"""
# No `from __future__ import annotations` here: FastAPI must see the body classes that the
# route factory closes over.

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.access import (
    MEDIATION_ACTIONS,
    actor_of,
    require_action,
    require_own_assignment,
    require_readable,
)
from api.cases import case_out, load_case
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import CaseOut
from models.case import CaseState, Strict
from models.commands import BODY_OF, AcceptBody, Action, AssignBody, Command
from models.enums import CaseStatus
from models.tables import Mediator, Organization

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "your role may not do this"},
    404: {"description": "no such case, or outside your scope"},
    409: {"description": "not possible in the case's current state (the reason says why)"},
}


def _check_body(action: Action, body: Strict, principal: PrincipalDep, session: Session) -> None:
    if (
        isinstance(body, AcceptBody)
        and principal.mediator_id
        and body.mediator_id != principal.mediator_id
    ):
        raise HTTPException(403, "a mediator accepts cases for themself only")
    if isinstance(body, AssignBody):
        org = session.get(Organization, body.org_id)
        if org is None or not org.active:
            raise HTTPException(422, "unknown organisation")
        if body.mediator_id is not None:
            mediator = session.get(Mediator, body.mediator_id)
            if mediator is None or mediator.org_id != org.id or not mediator.active:
                raise HTTPException(422, "the mediator does not belong to that organisation")


def _update_refusal(exc: WorkflowUpdateFailedError) -> str:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.message:
        return cause.message
    return "the case cannot take this command now"


def _make_route(action: Action, body_type: type[Strict]) -> None:
    async def run_command(
        case_id: str,
        body: body_type,  # type: ignore[valid-type]
        rt: RuntimeDep,
        session: SessionDep,
        principal: PrincipalDep,
    ) -> CaseOut:
        require_action(principal, action)
        case = require_readable(principal, load_case(session, case_id))
        if action in MEDIATION_ACTIONS:
            require_own_assignment(principal, case)
        _check_body(action, body, principal, session)
        if case.status == CaseStatus.closed.value:
            raise HTTPException(409, "the case is closed")
        handle = (await rt.client()).get_workflow_handle(case.workflow_id)
        try:
            state: CaseState = await handle.execute_update(
                action.update_name,
                Command.of(action, body, actor_of(principal)),
                result_type=CaseState,
            )
        except WorkflowUpdateFailedError as exc:
            raise HTTPException(409, _update_refusal(exc)) from None
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise HTTPException(409, "the case is closed") from None
            raise HTTPException(503, "the workflow service is not reachable; try again") from None
        session.refresh(case)
        return case_out(session, principal, case, state)

    run_command.__name__ = f"case_{action.update_name}"
    router.add_api_route(
        f"/{{case_id}}/{action.value}",
        run_command,
        methods=["POST"],
        response_model=CaseOut,
        responses=RESPONSES,
        summary=f"{action.value} (one workflow Update)",
        operation_id=f"case_{action.update_name}",
    )


for _action, _body in BODY_OF.items():
    _make_route(_action, _body)
