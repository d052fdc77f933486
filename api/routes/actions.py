"""One route per command (DESIGN §6): each runs exactly one workflow Update.

The workflow decides whether a command is legal (its validator); this module only
authenticates, authorises, checks the body and translates the answer: 409 when the
validator says no, with its reason.
"""
# No `from __future__ import annotations` here: FastAPI must see the body classes that the
# route factory closes over.

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
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
from models.commands import INPUT_OF, UNKNOWN_ASSIGNEE, AcceptBody, Action, command_input

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])
RESPONSES = error_responses(401, 403, 404, 409, 422, 503)


def _check_body(body: Strict, principal: Principal) -> None:
    if (
        isinstance(body, AcceptBody)
        and principal.mediator_id
        and body.mediator_id != principal.mediator_id
    ):
        raise HTTPException(403, "a mediator accepts cases for themself only")


def _unknown_assignee(cause: ApplicationError) -> RequestValidationError:
    """The roster (through the workflow's resolver) knows no such organisation or mediator."""
    field = str(cause.details[0]) if cause.details else "org_id"
    error = {"loc": ("body", field), "msg": cause.message, "type": "value_error"}
    return RequestValidationError([error])


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
        case = require_readable(
            principal, await rt.db(lambda s: load_case(s, case_id, scope_only=True))
        )
        if action in MEDIATION_ACTIONS:
            require_own_assignment(principal, case)
        _check_body(body, principal)
        handle = rt.client.get_workflow_handle(case.workflow_id)
        try:
            state: CaseState = await handle.execute_update(
                action.update_name,
                command_input(action, body, actor_of(principal)),
                result_type=CaseState,
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_ASSIGNEE:
                raise _unknown_assignee(cause) from None
            raise HTTPException(409, _update_refusal(exc)) from None
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise HTTPException(409, "the case is closed") from None
            raise HTTPException(503, "the workflow service is not reachable; try again") from None
        return await rt.db(
            lambda s: case_out(
                s, principal, load_case(s, case_id, scope_only=True) or case, state, rt.keyring
            )
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


for _action, _input in INPUT_OF.items():
    _make_route(_action, _input.body_type())
