"""Reports from the public app and grid workers (R13; DESIGN §6 `POST /reports`).

Officers and supervisors submit them (the public-app gateway is an officer principal); the
reporter follows one by its number and the code given at submission, without an account,
and sees its progress only; supervisors acknowledge an emergency and re-triage a report.
The triage workflow (workflows/report.py) decides what is legal; this module authorises,
starts or updates it by name (the API imports no workflow code), and reads the store.
(`GET /reports/monthly`, the statistics spreadsheet, is api/routes/stats.py: its router is
included first, so that path never reaches `/{report_no}` here.)
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.access import MAY_INTAKE, actor_of, require_role
from api.deps import Principal, PrincipalDep, Runtime, RuntimeDep
from api.idempotency import IdempotencyKeyHeader, Key, claim
from api.problems import error_responses
from core.redact import remember_names
from models.enums import ReportChannel, ReportKind, ReportStatus, Role
from models.policy import Policy
from models.report import (
    ACKNOWLEDGE,
    REPORT_WORKFLOW,
    RETRIAGE,
    SUBMISSION,
    AcknowledgeBody,
    AcknowledgeInput,
    ReportBody,
    ReportInput,
    ReportState,
    RetriageBody,
    RetriageInput,
    Triage,
    facts_of,
    report_number,
    report_workflow_id,
    triage_of,
)
from models.tables import IdempotencyKey, Report, utcnow
from store.reports import code_hash, load_report, lookup_code, opened_facts, report_with_code

router = APIRouter(prefix="/api/v1/reports", tags=["public reports"])
NO_SUCH_REPORT = "no such report, or not with this code"
UNREACHABLE = "the workflow service is not reachable; try again"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {**error_responses(404)[404], "description": NO_SUCH_REPORT}
}
COMMAND_RESPONSES = {**error_responses(401, 403, 409, 422, 503), **NOT_FOUND}
ReportNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
MAY_TRIAGE = {Role.supervisor}


class ReportProgress(BaseModel):
    """What the reporter sees: the report's progress, nothing of what anyone said."""

    report_no: str
    kind: ReportKind
    status: ReportStatus
    department: str | None = Field(description="where an opinion or request was referred")
    case_no: str | None = Field(description="the mediation case a dispute became")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ReportReceipt(ReportProgress):
    code: str = Field(
        description="the reporter's lookup code: shown at submission only (a retry with the "
        "same Idempotency-Key shows it again); the store keeps only its hash"
    )


class ReportOut(ReportProgress):
    """A supervisor's view after a command: the report's standing, still nothing personal."""

    channel: ReportChannel
    town: str
    community: str | None
    case_id: str | None
    alerts: int = Field(description="alerts sent for the current emergency")
    retriages: int
    acknowledged_at: datetime | None


def supervisor(p: PrincipalDep) -> Principal:
    """Runs before the body is read: anyone else gets 403 whatever they send."""
    require_role(p, MAY_TRIAGE, "acknowledge or re-triage reports")
    return p


SupervisorDep = Annotated[Principal, Depends(supervisor)]


# --- submission -----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=ReportReceipt,
    responses={
        200: {"description": "the same Idempotency-Key was seen before: that report"},
        **error_responses(401, 403, 422, 503),
    },
)
async def submit_report(
    body: Annotated[ReportBody, Body()],
    rt: RuntimeDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ReportReceipt:
    """Take a report and triage it by kind (R13); answer once it is triaged, with its number
    and the reporter's lookup code. The same `Idempotency-Key` from the same principal with
    the same body names the same report (200, the same code)."""
    require_role(principal, MAY_INTAKE, "submit reports")
    remember_names([body.reporter.name, *(p.name for p in triage_of(body).parties)])
    key = Key.of(principal.id, idempotency_key, "POST /reports", body) if idempotency_key else None
    if key is None:
        report_no, first = report_number(uuid.uuid4().hex, utcnow()), True
    else:
        report_no, first = await rt.db(lambda s: _claimed_number(s, key))
    code = await asyncio.to_thread(lookup_code, rt.keys, report_no)
    if not first:  # a repeat: a report past its triage answers from the store
        row = await rt.db(lambda s: load_report(s, report_no))
        if row is not None and row.status != ReportStatus.received.value:
            response.status_code = 200
            return _receipt(row, code)
    inp = ReportInput(
        report_no=report_no,
        facts=facts_of(body),
        triage=triage_of(body),
        policy=rt.policy,
        submitted_by=actor_of(principal),
        code_hash=code_hash(report_no, code),
    )
    created = first
    try:
        async with asyncio.timeout(rt.settings.command_timeout):
            await _start(rt, inp, join=key is not None)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise HTTPException(
            503, "the report is not triaged yet; retry with the same Idempotency-Key"
        ) from None
    except WorkflowAlreadyStartedError:
        if key is None:  # another report drew the same number: vanishingly rare
            raise HTTPException(503, "the report was not taken; try again") from None
        created = False  # the key's report ran and closed already: its row answers
    except RPCError:
        raise HTTPException(503, UNREACHABLE) from None
    row = await rt.db(lambda s: load_report(s, report_no))
    if row is None:  # the intake step is persisted before the submission Update answers
        raise HTTPException(503, "the report is not recorded yet; retry with the same key")
    if not created:
        response.status_code = 200
    return _receipt(row, code)


def _claimed_number(session: Session, key: Key) -> tuple[str, bool]:
    """The key's report number (made from the key the first time), and whether this request
    stored the key. The same key with another body answers 422 (api/idempotency.py)."""
    seen = session.get(IdempotencyKey, key.digest)
    if seen is not None and seen.request_hash == key.request_hash:
        number = seen.case_id  # the number given that day
    else:
        token = hashlib.sha256(f"report|{key.digest}".encode()).hexdigest()
        number = report_number(token, utcnow())
    return number, claim(session, key, number).first


async def _start(rt: Runtime, inp: ReportInput, join: bool) -> ReportState:
    """Start the report's workflow and wait for its triage (update-with-start). A keyed
    retry joins the running workflow and its submission Update by their ids."""
    start: WithStartWorkflowOperation[Any, ReportState] = WithStartWorkflowOperation(
        REPORT_WORKFLOW,
        inp,
        id=report_workflow_id(inp.report_no),
        task_queue=rt.settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=(
            WorkflowIDConflictPolicy.USE_EXISTING if join else WorkflowIDConflictPolicy.FAIL
        ),
        result_type=ReportState,
    )
    state: ReportState = await rt.client.execute_update_with_start_workflow(
        SUBMISSION,
        start_workflow_operation=start,
        id=f"submission-{inp.report_no}",
        result_type=ReportState,
    )
    return state


def _receipt(row: Report, code: str) -> ReportReceipt:
    return ReportReceipt.model_validate({**_progress(row).model_dump(), "code": code})


def _progress(row: Report) -> ReportProgress:
    return ReportProgress.model_validate(row, from_attributes=True)


# --- the reporter's lookup ------------------------------------------------------------------


@router.get(
    "/{report_no}", response_model=ReportProgress, responses={**error_responses(422), **NOT_FOUND}
)
async def report_progress(
    report_no: ReportNo,
    rt: RuntimeDep,
    code: Annotated[
        str | None, Query(max_length=64, description="the code given at submission")
    ] = None,
) -> ReportProgress:
    """No account needed: the number and its code. A wrong or missing code answers exactly
    as an unknown number does (404)."""
    row = await rt.db(lambda s: report_with_code(s, report_no, code))
    if row is None:
        raise HTTPException(404, NO_SUCH_REPORT)
    return _progress(row)


# --- supervisors' commands ------------------------------------------------------------------


@router.post("/{report_no}/acknowledge", response_model=ReportOut, responses=COMMAND_RESPONSES)
async def acknowledge_report(
    report_no: ReportNo, body: AcknowledgeBody, rt: RuntimeDep, principal: SupervisorDep
) -> ReportOut:
    """A supervisor takes charge of an emergency: its re-alerts stop and it closes."""
    row = await _existing(rt, report_no)
    handle = rt.client.get_workflow_handle(row.workflow_id)
    inp = AcknowledgeInput(note=body.note, actor=actor_of(principal))
    return _out(await _answer(rt, handle.execute_update(ACKNOWLEDGE, inp, result_type=ReportState)))


@router.post("/{report_no}/retriage", response_model=ReportOut, responses=COMMAND_RESPONSES)
async def retriage_report(
    report_no: ReportNo,
    body: Annotated[RetriageBody, Body()],
    rt: RuntimeDep,
    principal: SupervisorDep,
) -> ReportOut:
    """Triage the report again as another kind (a "request" that is really a dispute). A
    report that closed is resumed: its workflow runs again from the state in the store."""
    row = await _existing(rt, report_no)
    if row.case_id is not None:
        raise HTTPException(409, f"the report became case {row.case_no}: act on the case")
    triage = triage_of(body)
    remember_names(p.name for p in triage.parties)
    carried = ReportState.model_validate(row.state)
    facts = await rt.db(lambda s: opened_facts(s, rt.keys, row))
    start: WithStartWorkflowOperation[Any, ReportState] = WithStartWorkflowOperation(
        REPORT_WORKFLOW,
        ReportInput(
            report_no=row.report_no,
            facts=facts,
            triage=Triage(
                kind=carried.kind,
                department=carried.department,
                dispute_type=carried.dispute_type,
            ),
            policy=Policy.model_validate(row.policy),
            submitted_by=actor_of(principal),
            carried=carried,
        ),
        id=row.workflow_id,
        task_queue=rt.settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=ReportState,
    )
    inp = RetriageInput(triage=triage, reason=body.reason, actor=actor_of(principal))
    update = rt.client.execute_update_with_start_workflow(
        RETRIAGE, inp, start_workflow_operation=start, result_type=ReportState
    )
    return _out(await _answer(rt, update))


async def _existing(rt: Runtime, report_no: str) -> Report:
    row = await rt.db(lambda s: load_report(s, report_no))
    if row is None:
        raise HTTPException(404, NO_SUCH_REPORT)
    return row


async def _answer(rt: Runtime, update: Any) -> ReportState:
    """The Update's answer, or the status DESIGN §6 gives its failure."""
    try:
        async with asyncio.timeout(rt.settings.command_timeout):
            state: ReportState = await update
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise HTTPException(503, "the command did not finish in time; look again") from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else None
        raise HTTPException(409, reason or "the report cannot take this command now") from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise HTTPException(409, "the report is closed") from None
        raise HTTPException(503, UNREACHABLE) from None
    return state


def _out(state: ReportState) -> ReportOut:
    return ReportOut.model_validate(state.model_dump())
