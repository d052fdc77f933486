"""One route per command (DESIGN §6): each runs exactly one workflow Update.

The workflow decides whether a command is legal (its validator); this module only
authenticates, authorises, checks the body and translates the answer: 409 when the
validator says no, with its reason.
"""
# No `from __future__ import annotations` here: FastAPI must see the body classes that the
# route factory closes over.

import asyncio

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.access import (
    actor_of,
    require_action,
    require_own_assignment,
    require_readable,
)
from api.cases import case_out, load_case, present
from api.deps import Principal, PrincipalDep, Runtime, RuntimeDep
from api.idempotency import IdempotencyKeyHeader, Key, claim, remember_answer
from api.problems import error_responses
from api.schemas import CaseOut
from models.case import CaseState, Strict
from models.commands import (
    INPUT_OF,
    MEDIATION_ACTIONS,
    UNKNOWN_ASSIGNEE,
    AcceptBody,
    Action,
    command_input,
)

NOT_IN_TIME = (
    "the command did not finish in time; it may still be recorded: retry with the same "
    "Idempotency-Key to get its answer"
)
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


async def _run_update(
    rt: Runtime,
    workflow_id: str,
    action: Action,
    body: Strict,
    principal: Principal,
    key: Key | None,
) -> CaseState:
    """The command's one Update, under the key's Update id when there is a key: Temporal
    runs an Update id once per case, so a retry joins (or reads) the first."""
    handle = rt.client.get_workflow_handle(workflow_id)
    try:
        async with asyncio.timeout(rt.settings.command_timeout):
            state: CaseState = await handle.execute_update(
                action.update_name,
                command_input(action, body, actor_of(principal)),
                id=key.update_id if key else None,
                result_type=CaseState,
            )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # The SDK turns the cancellation of its wait into its own error type.
        raise HTTPException(503, NOT_IN_TIME) from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_ASSIGNEE:
            raise _unknown_assignee(cause) from None
        raise HTTPException(409, _update_refusal(exc)) from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise HTTPException(409, "the case is closed") from None
        raise HTTPException(503, "the workflow service is not reachable; try again") from None
    return state


def _make_route(action: Action, body_type: type[Strict]) -> None:
    async def run_command(
        case_id: str,
        body: body_type,  # type: ignore[valid-type]
        rt: RuntimeDep,
        principal: PrincipalDep,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> CaseOut:
        require_action(principal, action)
        case = require_readable(
            principal, await rt.db(lambda s: load_case(s, case_id, scope_only=True))
        )
        if action in MEDIATION_ACTIONS:
            require_own_assignment(principal, case)
        _check_body(body, principal)
        key = None
        if idempotency_key:
            key = Key.of(principal.id, idempotency_key, f"POST {case_id}/{action.value}", body)
            first_answer = (await rt.db(lambda s: claim(s, key, case_id))).answer
            if first_answer is not None:
                return await present(rt, principal, case, CaseState.model_validate(first_answer))
        state = await _run_update(rt, case.workflow_id, action, body, principal, key)
        if key is not None:
            answer = state.model_dump(mode="json")
            await rt.db(lambda s: remember_answer(s, key, answer))
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
