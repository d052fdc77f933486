"""The case workflow's steps and what they carry: the ledger that numbers and persists them,
whom each notifies, the search attributes operators find a case by, and the inputs of the
screening and routing activities.

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from models import search_attributes as sa
from models.case import (
    SYSTEM,
    Actor,
    Assignment,
    CaseInput,
    CaseState,
    NotificationDraft,
    ResolveAssignmentInput,
    RiskScreeningInput,
    RouteRequest,
    Step,
    StepRecord,
    StuckStep,
)
from models.commands import UNKNOWN_ASSIGNEE, Action, CommandInput
from models.enums import DUTY_SUPERVISOR, POLICE_LIAISON, NotificationKind, Outcome
from workflows.patches import baseline, patched

T = TypeVar("T")
U = TypeVar("U")
W = TypeVar("W")

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[UNKNOWN_ASSIGNEE, "ValueError"],
)
# Steps take milliseconds; a short timeout makes a crashed worker's activity retry soon.
ACTIVITY_TIMEOUT = timedelta(seconds=10)

PARTIES = "parties"
SUPERVISORS = "supervisors"
MEDIATOR = "mediator"  # the assigned mediator (or organisation), as the case stands at the step

K = NotificationKind
RISK_ALERTS = ((K.risk_alert, POLICE_LIAISON), (K.risk_alert, DUTY_SUPERVISOR))  # R3: at once
# Whom each step notifies, whatever the case. Closure and the R5 notice carry detail and are
# passed to `Ledger.record` by the step itself.
STEP_NOTICES: dict[Step, tuple[tuple[NotificationKind, str], ...]] = {
    Step.assignment: ((K.assignment, MEDIATOR),),
    Step.acceptance_reminder: ((K.acceptance_reminder, MEDIATOR),),
    Step.supervisor_escalation: ((K.supervisor_alert, SUPERVISORS),),
    Step.supervisor_reminder: ((K.supervisor_alert, SUPERVISORS),),
    Step.deadline_reminder: ((K.deadline_reminder, MEDIATOR),),
    Step.follow_up_due: ((K.follow_up_due, MEDIATOR),),
    Step.follow_up_overdue: ((K.follow_up_overdue, MEDIATOR), (K.follow_up_overdue, SUPERVISORS)),
    Step.risk_alert: RISK_ALERTS,
    Step.risk_escalation: (*RISK_ALERTS, (K.supervisor_alert, SUPERVISORS)),
}


def mediator_audience(assignment: Assignment | None) -> str:
    if assignment is None:
        return SUPERVISORS
    return (
        f"mediator:{assignment.mediator_id}"
        if assignment.mediator_id
        else f"org:{assignment.org_id}"
    )


def notice(
    kind: NotificationKind, audience: str, detail: dict[str, Any] | None = None
) -> NotificationDraft:
    return NotificationDraft(kind=kind, audience=audience, detail=detail or {})


def step_notices(step: Step, state: CaseState) -> list[NotificationDraft]:
    return [
        notice(kind, mediator_audience(state.assignment) if who == MEDIATOR else who)
        for kind, who in STEP_NOTICES.get(step, ())
    ]


def closing_notices(outcome: Outcome, routes: bool) -> list[NotificationDraft]:
    """The parties hear the outcome and, when it ends mediation without settling, the other
    routes open to them (R1, R5, R6)."""
    detail = {"outcome": outcome.value}
    closure = notice(NotificationKind.closure, PARTIES, detail)
    if routes:
        return [notice(NotificationKind.termination_routes, PARTIES, detail), closure]
    return [closure]


def search_attributes_of(state: CaseState) -> dict[str, Any]:
    """What operators find a case by: nothing personal."""
    return {
        sa.CASE_STATUS.name: state.status.value,
        sa.DISPUTE_TYPE.name: state.dispute_type.value,
        sa.RISK_LEVEL.name: state.risk_level.value,
        sa.ORG_ID.name: state.assignment.org_id if state.assignment else None,
        sa.OVERDUE.name: state.overdue,
    }


def search_attribute_updates(
    before: dict[str, Any], after: dict[str, Any]
) -> list[SearchAttributeUpdate[Any]]:
    updates: list[SearchAttributeUpdate[Any]] = []
    for key in sa.ALL:
        value = after[key.name]
        if before.get(key.name, object()) == value:
            continue
        updates.append(key.value_unset() if value is None else key.value_set(value))
    return updates


def initial_state(inp: CaseInput, workflow_id: str, now: datetime) -> CaseState:
    intake = inp.intake
    return CaseState(
        case_id=inp.case_id,
        case_no=inp.case_no,
        workflow_id=workflow_id,
        dispute_type=intake.dispute_type,
        channel=intake.channel,
        town=intake.town,
        community=intake.community,
        non_public=intake.non_public,
        created_at=now,
        updated_at=now,
    )


def screening_input(inp: CaseInput) -> RiskScreeningInput:
    intake = inp.intake
    return RiskScreeningInput(
        summary=intake.summary,
        risk_flags=intake.risk_flags,
        headcount=intake.headcount,
        collective_headcount=inp.policy.collective_headcount,
    )


def route_request(inp: CaseInput, state: CaseState) -> RouteRequest:
    intake = inp.intake
    return RouteRequest(
        case_id=state.case_id,
        dispute_type=intake.dispute_type,
        town=intake.town,
        community=intake.community,
        risk_level=state.risk_level,
        risk_flags=intake.risk_flags,
        excluded_mediators=state.excluded_mediators,
        category=intake.category,
        at_seq=state.seq,
    )


# Cases started since this patch run their steps as local activities: same types, same
# order, but executed inside the workflow task instead of one server round trip each (a
# command is one workflow task). Cases started before keep their scheduled activities.
LOCAL_STEPS = "local-steps-2026-11"
# A local activity's result is kept only when its workflow task completes: a worker that
# dies before that runs the task again from the start, and the steps again. That is safe
# for what comes out the same every time (a write of the same step, a screening, a lookup),
# not for routing, which weighs the mediators' current load: a second run can pick another
# mediator while the first one's assignment step is already in the store (the crash test
# caught two assignment notices). Since this patch routing is a scheduled activity again,
# its decision in history before anything is written from it.
DURABLE_ROUTING = "durable-routing-2026-11"
# Since BASELINE (workflows/patches.py) routing is a local activity again, made safe by the
# activity itself: it keeps its answer per (case, step) in the store (activities/routing.py),
# so a second run answers what the first one did. One workflow task and one activity round
# trip fewer at intake, and at every re-route.


def number_step(what: str, step: str, state: Any) -> None:
    """The next step of a case or a report (`state`: its seq, updated_at and status):
    numbered, stamped with the workflow's time, and logged (nothing personal)."""
    state.seq += 1
    state.updated_at = workflow.now()
    status = state.status.value
    workflow.logger.info(
        "%s step %s (seq %d), status %s",
        what,
        step,
        state.seq,
        status,
        extra={"step": step, "seq": state.seq, "status": status},
    )


async def run_activity(
    name: str,
    arg: Any,
    result_type: type[T] | None,
    *,
    decision: bool = False,
    kept: bool = False,
    within: timedelta | None = None,
) -> T:
    """One activity with the case's timeout and retry policy. Every step is short (a store
    write, a roster read, a screening), idempotent, and needs no worker of its own; a
    `decision` that may come out differently when run again is kept in history first,
    unless the activity keeps it itself (`kept`: asked again, it answers the same).
    `within`: give up (ActivityError) after the attempts that fit in that long; without it,
    retried until it does."""
    local = patched(LOCAL_STEPS)
    if local and decision and not (kept and baseline()) and patched(DURABLE_ROUTING):
        local = False
    execute: Any = workflow.execute_local_activity if local else workflow.execute_activity
    result: T = await execute(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=ACTIVITY_RETRY if within is None else retries_within(within),
    )
    return result


async def in_turn(beside: bool, first: Awaitable[T], then: Awaitable[U]) -> tuple[T, U]:
    """`first`, then `then`; `beside` (since the SIDE_BY_SIDE baseline), both at once,
    started in that order, so the commands they schedule keep that order. Neither starts
    before it is awaited here: a step's number and snapshot are taken when it starts."""
    if beside:
        a, b = await asyncio.gather(first, then)
        return a, b
    return await first, await then


def retries_within(bound: timedelta, policy: RetryPolicy = ACTIVITY_RETRY) -> RetryPolicy:
    """`policy`, with as many attempts as its backoff lets start within `bound` (at least
    one). By count rather than by a schedule-to-close timeout, whose meaning for local
    activities that back off is the SDK's to decide."""
    started, interval, attempts = timedelta(0), policy.initial_interval, 1
    ceiling = policy.maximum_interval or interval * 100
    while started + interval <= bound:
        started += interval
        interval = min(interval * policy.backoff_coefficient, ceiling)
        attempts += 1
    return dataclasses.replace(policy, maximum_attempts=attempts)


class Ledger:
    """Numbers and persists a case's steps: one activity type per step (so replay catches a
    reordering), the search attributes upserted when they change.

    A step the store will not take within `alert_after` (cases since BOUNDED, which sets
    `bounded`) raises a supervisor alert and is kept trying in the background, in order,
    so the case's lock is free for the next command; `landed` tells a command whose step
    waits there when it is in."""

    def __init__(
        self, state: CaseState, view: Callable[[], CaseState], alert_after: timedelta
    ) -> None:
        self.state = state
        self.view = view
        self.alert_after = alert_after
        self.search_attributes: dict[str, Any] = {}  # as last upserted
        self.bounded = False
        # Cases since the baseline (workflows/patches.py): a step only notes what the
        # search attributes should become, and the workflow publishes them once its lock is
        # free: one upsert per command or timer, not one per step.
        self.deferred = False
        self.wanted: dict[str, Any] | None = None
        self.unrecorded: list[StepRecord] = []  # in step order
        self.draining: asyncio.Task[None] | None = None

    async def record(
        self,
        step: Step,
        actor: Actor = SYSTEM,
        *,
        detail: dict[str, Any] | None = None,
        notify: list[NotificationDraft] | None = None,
        intake: CaseInput | None = None,
    ) -> None:
        s = self.state
        number_step("case", step.value, s)
        wanted = search_attributes_of(s)
        if self.deferred:
            self.wanted = wanted
        elif wanted != self.search_attributes:
            self._upsert(wanted)
        record = StepRecord(
            step=step,
            seq=s.seq,
            occurred_at=s.updated_at,
            actor=actor,
            detail=detail or {},
            state=self.view(),
            notifications=[*step_notices(step, s), *(notify or [])],
            intake=intake,
        )
        # The result is a StepReceipt (older histories: a bool); the workflow needs neither.
        if not self.bounded:
            await run_activity(step.activity_name, record, None)
            return
        try:
            await run_activity(step.activity_name, record, None, within=self.alert_after)
        except (ActivityError, ApplicationError) as exc:  # a local activity's: the latter
            await self._hold(record, exc)

    def unpublished(self) -> bool:
        """Whether the search attributes steps noted differ from the ones upserted."""
        return self.wanted is not None and self.wanted != self.search_attributes

    def publish(self) -> None:
        """Upsert the search attributes the steps noted, if they changed."""
        if self.unpublished():
            assert self.wanted is not None
            self._upsert(self.wanted)
        self.wanted = None

    def _upsert(self, wanted: dict[str, Any]) -> None:
        updates = search_attribute_updates(self.search_attributes, wanted)
        self.search_attributes = wanted
        workflow.upsert_search_attributes(updates)

    def landed(self, after: int, upto: int) -> bool:
        """Whether the steps numbered after `after` up to `upto` are all in the store."""
        return not any(after < r.seq <= upto for r in self.unrecorded)

    async def _hold(self, record: StepRecord, exc: Exception) -> None:
        """Alert the duty supervisor, then keep trying the step (a scheduled activity, its
        retries in history) without holding up the case."""
        cause: BaseException = exc
        while cause.__cause__ is not None:  # the innermost says why
            cause = cause.__cause__
        error = type(cause).__name__
        if isinstance(cause, ApplicationError) and cause.type:
            error = cause.type
        workflow.logger.error(
            "case step %s (seq %d) not recorded within %s: supervisor alerted, still trying",
            record.step.value,
            record.seq,
            self.alert_after,
            extra={"step": record.step.value, "seq": record.seq, "error": error},
        )
        bisect.insort(self.unrecorded, record, key=lambda r: r.seq)  # steps side by side
        stuck = StuckStep(
            case_id=record.state.case_id, seq=record.seq, step=record.step, error=error
        )
        try:
            await run_activity("alert_stuck_step", stuck, None, within=self.alert_after)
        except (ActivityError, ApplicationError):
            workflow.logger.error("the alert about step seq %d could not be written", record.seq)
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self.unrecorded:
            record = self.unrecorded[0]
            await run_activity(record.step.activity_name, record, None, decision=True)
            self.unrecorded.remove(record)


async def resolve_assignment(org_id: str, mediator_id: str | None) -> Assignment:
    """Names for an assignment; the roster decides membership (one place: the store). A
    refusal reaches the command's caller as UNKNOWN_ASSIGNEE, with the field it is about."""
    request = ResolveAssignmentInput(org_id=org_id, mediator_id=mediator_id)
    try:
        return await run_activity("resolve_assignment", request, Assignment)
    except ActivityError as exc:
        cause = exc.cause
        if not isinstance(cause, ApplicationError):
            raise
        raise ApplicationError(cause.message, *cause.details, type=UNKNOWN_ASSIGNEE) from exc


def validated(cls: type[W]) -> type[W]:
    """Give every command's Update a validator that asks the workflow's `_check` (which asks
    `rules.why_not`): an illegal command never enters history, and no command can be added
    without one."""
    for action in Action:
        handler = getattr(cls, action.update_name)

        def validate(self: Any, inp: CommandInput, action: Action = action) -> None:
            self._check(action, inp)

        validate.__name__ = validate.__qualname__ = f"validate_{action.update_name}"
        validate.__signature__ = inspect.signature(handler).replace(  # type: ignore[attr-defined]
            return_annotation=None
        )
        handler.validator(validate)
    return cls
