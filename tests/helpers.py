"""Small helpers for tests: synthetic intakes and reading the case store."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from cases.intake import new_case_input, start_case, workflow_id_for
from models.case import Actor, CaseState, IntakeRequest, PartyIn, Strict
from models.commands import AcceptBody, Action, AgreementBody, command_input
from models.enums import CaseStatus, Channel, DisputeType, PartyRole, RiskFlag, Role
from models.policy import Policy
from models.tables import Case, CaseEvent, Notification, RouteDecisionRow

# Synthetic parties: invented names; phone and ID numbers in reserved-looking ranges.
APPLICANT = PartyIn(
    role=PartyRole.applicant, name="测试甲", phone="13800000001", id_number="500382199001010011"
)
RESPONDENT = PartyIn(
    role=PartyRole.respondent, name="测试乙", phone="13800000002", id_number="500382199002020022"
)


def intake(
    dispute_type: DisputeType = DisputeType.family,
    town: str = "三庙镇",
    community: str | None = "七间社区",
    summary: str = "兄弟二人因老宅分割发生争执",
    flags: list[RiskFlag] | None = None,
    **extra: Any,
) -> IntakeRequest:
    return IntakeRequest(
        dispute_type=dispute_type,
        channel=Channel.walk_in,
        summary=summary,
        town=town,
        community=community,
        parties=[APPLICANT, RESPONDENT],
        risk_flags=flags or [],
        **extra,
    )


async def open_case(
    client: Client, task_queue: str, req: IntakeRequest, policy: Policy
) -> WorkflowHandle[Any, CaseState]:
    """Start a case as intake does (answering once it is routed); its workflow's handle."""
    case = new_case_input(req, policy, idempotency_key=f"test-{uuid.uuid4()}")
    await start_case(client, task_queue, case)
    return client.get_workflow_handle(workflow_id_for(case.case_id), result_type=CaseState)


async def state_of(handle: WorkflowHandle[Any, CaseState]) -> CaseState:
    from workflows.case import MediationCaseWorkflow

    return await handle.query(MediationCaseWorkflow.current_state)


async def eventually(
    handle: WorkflowHandle[Any, CaseState],
    pred: Callable[[CaseState], bool],
    within: float = 30,
    what: str = "condition",
) -> CaseState:
    """Poll the live state until `pred` holds; fails with the last state seen. A query
    needs a live worker: one that times out (the worker killed mid-task, in the crash test)
    is a poll that saw nothing, not a failure."""
    deadline = time.monotonic() + within
    state: CaseState | None = None
    while True:
        try:
            state = await state_of(handle)
        except RPCError as exc:
            if exc.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                raise
        if state is not None and pred(state):
            return state
        if time.monotonic() > deadline:
            last = f"{state.status} {state.outcome}" if state else "none (queries timed out)"
            raise AssertionError(f"timed out waiting for {what}; last state: {last}")
        await asyncio.sleep(0.2)


def case_id(handle: WorkflowHandle[Any, Any]) -> str:
    return handle.id.removeprefix("case-")


def events(engine: Engine, cid: str) -> list[CaseEvent]:
    with Session(engine) as s:
        return list(
            s.exec(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq))
        )


def event_kinds(engine: Engine, cid: str) -> list[str]:
    return [e.kind for e in events(engine, cid)]


def notifications(engine: Engine, cid: str) -> list[Notification]:
    """In the order of the steps that made them (steps written side by side may reach the
    store in either order), each step's in its own order."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(Notification)
                .where(Notification.case_id == cid)
                .order_by(Notification.seq, Notification.id)  # type: ignore[arg-type]
            )
        )


def case_row(engine: Engine, cid: str) -> Case | None:
    with Session(engine) as s:
        return s.get(Case, cid)


def bare_case_row(cid: str, status: str = "in_mediation", **columns: Any) -> Case:
    """A case row written straight into the store, as no intake made it (a mediator's load,
    a row a migration finds): a family case from 三庙镇, nothing personal."""
    now = datetime.now(UTC)
    return Case(
        id=cid,
        case_no=cid[-30:],
        workflow_id=f"case-{cid}",
        status=status,
        dispute_type="family",
        channel="walk_in",
        risk_level="green",
        town="三庙镇",
        created_at=now,
        updated_at=now,
        **columns,
    )


def routed_at(engine: Engine, cid: str) -> list[int]:
    """The steps at which routing's answers for the case are kept (`route_decisions`)."""
    with Session(engine) as s:
        rows = s.exec(select(RouteDecisionRow).where(RouteDecisionRow.case_id == cid)).all()
        return sorted(r.seq for r in rows)


# --- commands ------------------------------------------------------------------------------

OFFICER = Actor(principal_id="p-officer", role=Role.officer)
SUPERVISOR = Actor(principal_id="p-supervisor", role=Role.supervisor)


def mediator_actor(org_id: str) -> Actor:
    return Actor(principal_id=f"p-mediator-{org_id}", role=Role.mediator, org_id=org_id)


async def act(
    handle: WorkflowHandle[Any, CaseState], action: Action, body: Strict, actor: Actor = SUPERVISOR
) -> CaseState:
    """Send one command as its workflow Update; returns the new state."""
    result: CaseState = await handle.execute_update(
        action.update_name, command_input(action, body, actor), result_type=CaseState
    )
    return result


async def accept_assigned(handle: WorkflowHandle[Any, CaseState]) -> CaseState:
    """Wait for routing, then the assigned mediator accepts."""
    s = await eventually(handle, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None and s.assignment.mediator_id is not None
    return await act(
        handle,
        Action.accept,
        AcceptBody(mediator_id=s.assignment.mediator_id),
        mediator_actor(s.assignment.org_id),
    )


async def run(*args: str, env: dict[str, str] | None = None) -> str:
    """A command to its end (`env`: the whole environment, default this process's);
    fails the test on a non-zero exit; returns its stdout."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode()


def notification_kinds(engine: Engine, cid: str) -> list[str]:
    return [n.kind for n in notifications(engine, cid)]


async def stored(
    engine: Engine,
    cid: str,
    pred: Callable[[list[str], list[str]], bool],
    within: float = 20,
    what: str = "rows",
) -> None:
    """Poll the store until `pred(event kinds, notification kinds)` holds.

    Timer-driven steps change the live state a moment before their activity commits, so a
    test that reads rows after seeing the state must wait for the rows themselves."""
    deadline = time.monotonic() + within
    while not pred(event_kinds(engine, cid), notification_kinds(engine, cid)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {event_kinds(engine, cid)}")
        await asyncio.sleep(0.2)


def agreement_json(terms: str = "老宅按份分割", **extra: Any) -> dict[str, Any]:
    """A signed, written agreement as R7 asks for it."""
    return {
        "terms": terms,
        "signed_by_parties": True,
        "written": True,
        "facts": "兄弟二人因父母所留老宅的分割发生争执",
        "points_in_dispute": "老宅如何分割，补偿款多少",
        "undertakings": [
            {"party_position": "applicant", "obligation": "放弃东厢房的份额"},
            {"party_position": "respondent", "obligation": "支付补偿款两万元"},
        ],
        "performance_manner": "一次性银行转账",
        **extra,
    }


def agreement(terms: str = "老宅按份分割", **extra: Any) -> AgreementBody:
    """The same, as the body model the workflow tests send."""
    return AgreementBody.model_validate(agreement_json(terms, **extra))
