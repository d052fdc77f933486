"""One route per command (DESIGN §6): each runs exactly one workflow Update.

The workflow decides whether a command is legal (its validator); this module only
authenticates, authorises, checks the body and translates the answer: 409 when the
validator says no, with its reason.
"""
# No `from __future__ import annotations` here: FastAPI must see the body classes that the
# route factory closes over.

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
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
from api.deps import Principal, PrincipalDep, RuntimeDep
from api.problems import error_responses
from api.schemas import CaseOut
from models.case import CaseState, Strict
from models.commands import BODY_OF, AcceptBody, Action, AssignBody, Command
from models.tables import Mediator, Organization

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])
RESPONSES = error_responses(401, 403, 404, 409, 422, 503)


def _check_body(action: Action, body: Strict, principal: Principal, session: Session) -> None:
    if (
        isinstance(body, AcceptBody)
        and principal.mediator_id
        and body.mediator_id != principal.mediator_id
    ):
        raise HTTPException(403, "a mediator accepts cases for themself only")
    if isinstance(body, AssignBody):
        org = session.get(Organization, body.org_id)
        if org is None or not org.active:
            raise _invalid("org_id", "unknown organisation")
        if body.mediator_id is not None:
            mediator = session.get(Mediator, body.mediator_id)
            if mediator is None or mediator.org_id != org.id or not mediator.active:
                raise _invalid("mediator_id", "the mediator does not belong to that organisation")


def _invalid(field: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": msg, "type": "value_error"}])


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
        principal: PrincipalDep,
    ) -> CaseOut:
        require_action(principal, action)
        case = require_readable(principal, await rt.db(lambda s: load_case(s, case_id)))
        if action in MEDIATION_ACTIONS:
            require_own_assignment(principal, case)
        await rt.db(lambda s: _check_body(action, body, principal, s))
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
        return await rt.db(
            lambda s: case_out(s, principal, load_case(s, case_id) or case, state, rt.keyring)
        )

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
