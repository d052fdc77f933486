"""What a click or a request does: intake and the case commands, the one path both the JSON
API (api/routes) and the browser console (console/) take. Each answers with the case as
the principal may see it, or raises HTTPException with the status DESIGN §6 gives."""

from __future__ import annotations

import asyncio

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.access import (
    MAY_INTAKE,
    actor_of,
    require_action,
    require_own_assignment,
    require_readable,
    require_role,
)
from api.cases import case_out, load_case, present
from api.deps import Principal, Runtime
from api.idempotency import Key, claim, remember_answer
from api.schemas import CaseOut
from cases.intake import new_case_input, start_case
from core.redact import remember_names
from models.case import CaseState, IntakeRequest, Strict
from models.commands import MEDIATION_ACTIONS, UNKNOWN_ASSIGNEE, AcceptBody, Action, command_input
from models.enums import CaseStatus

NOT_IN_TIME = (
    "the command did not finish in time; it may still be recorded: retry with the same "
    "Idempotency-Key to get its answer"
)
UNREACHABLE = "the workflow service is not reachable; try again"


async def register(
    rt: Runtime, principal: Principal, body: IntakeRequest, idempotency_key: str | None
) -> tuple[CaseOut, bool]:
    """Intake (DESIGN §6): the case once registered, screened and routed, and whether this
    request created it (False: the key's case, seen before)."""
    require_role(principal, MAY_INTAKE, "register cases")
    remember_names(p.name for p in body.parties)
    key = Key.of(principal.id, idempotency_key, "POST /cases", body) if idempotency_key else None
    case = new_case_input(body, rt.policy, key.digest if key else None, actor_of(principal))
    created = True
    if key is not None:
        if not (await rt.db(lambda s: claim(s, key, case.case_id))).first:
            created = False
            seen = await rt.db(lambda s: load_case(s, case.case_id))
            if seen is not None and seen.status != CaseStatus.registered.value:
                return await present(rt, principal, require_readable(principal, seen)), False
            # A repeat while the first request's case is still being routed: the start below
            # joins that workflow, and its registration Update (same id) answers when routed.
    state = None
    try:
        async with asyncio.timeout(rt.settings.command_timeout):
            state = await start_case(rt.client, rt.settings.task_queue, case)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise HTTPException(
            503, "the case is not routed yet; retry with the same Idempotency-Key"
        ) from None
    except WorkflowAlreadyStartedError:
        created = False  # the key's case ran and closed already: its row answers
    except RPCError:
        raise HTTPException(503, UNREACHABLE) from None

    def answer(session: Session) -> CaseOut:
        # With the registration's state in hand, the row is only needed for scope and parties.
        row = load_case(session, case.case_id, scope_only=state is not None)
        if row is None:  # the intake step is persisted before registration answers
            raise HTTPException(503, "the case is not recorded yet; retry with the same key")
        if not created:  # a repeat sees no more than its principal may read
            require_readable(principal, row)
        return case_out(session, principal, row, state, rt.keys)

    return await rt.db(answer), created


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
        raise HTTPException(503, UNREACHABLE) from None
    return state


async def perform(
    rt: Runtime,
    principal: Principal,
    case_id: str,
    action: Action,
    body: Strict,
    idempotency_key: str | None,
) -> CaseOut:
    """One command: authorise, then its one workflow Update; the state after its step is
    persisted. The same key again answers the first answer and records nothing."""
    require_action(principal, action)
    case = require_readable(
        principal, await rt.db(lambda s: load_case(s, case_id, scope_only=True))
    )
    if case.erased_at is not None:  # its key is gone: nothing can be sealed for it again
        raise HTTPException(409, "the case's personal data was erased; it takes no commands")
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
            s, principal, load_case(s, case_id, scope_only=True) or case, state, rt.keys
        )
    )
