"""Starting a case: ids derived from the idempotency key, the policy snapshotted at intake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from models.case import SYSTEM, Actor, CaseInput, CaseState, IntakeRequest
from models.policy import Policy
from workflows.case import MediationCaseWorkflow

_KEY_NAMESPACE = uuid.UUID("6f1c3f0e-4b1e-4a8e-9b63-2d0c8f8e5a11")


def case_id_for(idempotency_key: str | None) -> str:
    """The same key always names the same case; without a key every intake is new."""
    if idempotency_key:
        return str(uuid.uuid5(_KEY_NAMESPACE, idempotency_key))
    return str(uuid.uuid4())


def workflow_id_for(case_id: str) -> str:
    return f"case-{case_id}"


def case_no_for(case_id: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return f"HC{when:%Y%m%d}-{case_id.replace('-', '')[:8].upper()}"


def new_case_input(
    intake: IntakeRequest, policy: Policy, idempotency_key: str | None = None, actor: Actor = SYSTEM
) -> CaseInput:
    case_id = case_id_for(idempotency_key)
    return CaseInput(
        case_id=case_id,
        case_no=case_no_for(case_id),
        idempotency_key=idempotency_key,
        intake=intake,
        policy=policy,
        registered_by=actor,
    )


async def start_case(client: Client, task_queue: str, case: CaseInput) -> CaseState:
    """Start the case's workflow and answer with the case once it is registered, screened
    and routed (update-with-start: one request). The same case again (a retried intake)
    joins the running workflow, and its registration Update, by id, answers once."""
    start = WithStartWorkflowOperation(
        MediationCaseWorkflow.run,
        case,
        id=workflow_id_for(case.case_id),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    state: CaseState = await client.execute_update_with_start_workflow(
        MediationCaseWorkflow.registration,
        start_workflow_operation=start,
        id=f"registration-{case.case_id}",
    )
    return state
