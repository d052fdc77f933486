"""ReportTriageWorkflow: one short workflow per public report, `report-<report_no>` (R13).

Triage by kind: an opinion or request is referred to its department and the report closes;
an emergency alerts the duty supervisor through the outbox at once and again every
`risk_ack_sla` until a supervisor acknowledges it (an Update); a dispute becomes a
mediation case, started as a child workflow that outlives the report (ParentClosePolicy
ABANDON) with the intake the API would build. A supervisor may re-triage (an Update): a
report that had closed is resumed by the same Update, sent with a start (update-with-start)
that carries the report's state from the store.

Every step is persisted by an activity of its own type (`persist_report_<step>`), under
one lock, so steps are numbered in the order they happened.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.case import SYSTEM, Actor, NotificationDraft
    from models.enums import DUTY_SUPERVISOR, NotificationKind, ReportKind, ReportStatus
    from models.report import (
        ACKNOWLEDGE,
        ILLEGAL_REPORT_COMMAND,
        REFERRED_KINDS,
        REPORT_WORKFLOW,
        RETRIAGE,
        SUBMISSION,
        AcknowledgeInput,
        ReportInput,
        ReportIntake,
        ReportReceipt,
        ReportState,
        ReportStep,
        ReportStepRecord,
        RetriageInput,
        case_input_of,
        default_department,
        why_not_acknowledge,
        why_not_retriage,
    )
    from workflows.case import MediationCaseWorkflow
    from workflows.steps import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, SUPERVISORS, number_step


@workflow.defn(name=REPORT_WORKFLOW)
class ReportTriageWorkflow:
    @workflow.init
    def __init__(self, inp: ReportInput) -> None:
        self.input = inp
        self.triage = inp.triage  # as it stands: a re-triage replaces it
        now = workflow.now()
        self.state = (
            inp.carried.model_copy(deep=True)
            if inp.carried is not None
            else ReportState(
                report_no=inp.report_no,
                workflow_id=workflow.info().workflow_id,
                kind=inp.triage.kind,
                channel=inp.facts.channel,
                town=inp.facts.town,
                community=inp.facts.community,
                created_at=now,
                updated_at=now,
            )
        )
        self.lock = asyncio.Lock()
        self.triaged = inp.carried is not None  # the submission Update answers then

    @workflow.run
    async def run(self, inp: ReportInput) -> ReportState:
        if inp.carried is None:
            async with self.lock:
                if inp.code_hash is None:
                    raise ApplicationError("a new report needs its lookup code's hash")
                intake = ReportIntake(facts=inp.facts, code_hash=inp.code_hash, policy=inp.policy)
                await self._record(ReportStep.received, inp.submitted_by, intake=intake)
                await self._triage(inp.submitted_by)
                self.triaged = True
        # A re-triage runs in its Update's handler; an emergency's alerts run here. The
        # report is done when it is neither awaiting acknowledgement nor being re-triaged.
        while True:
            await workflow.wait_condition(lambda: self._awaiting() or self._settled())
            if not self._awaiting():
                return self._view()
            await self._watch_acknowledgement()

    # --- triage -----------------------------------------------------------------------------

    async def _triage(self, actor: Actor) -> None:
        """Carry out the report's current triage. Called under the lock."""
        s, kind = self.state, self.triage.kind
        s.kind = kind
        if kind in REFERRED_KINDS:
            s.status = ReportStatus.referred_department
            s.department = self.triage.department or default_department(s.town)
            s.closed_at = workflow.now()
            await self._record(ReportStep.referred, actor)
        elif kind is ReportKind.emergency:
            s.status, s.department, s.closed_at = ReportStatus.awaiting_acknowledgement, None, None
            s.alerts = 1
            await self._record(ReportStep.alerted, actor, notify=self._alerts())
        else:
            await self._open_case(actor)

    async def _open_case(self, actor: Actor) -> None:
        """The dispute becomes a case: its own workflow, which routes it and lives on after
        the report closes. Its registration Update is only intake's way of answering; the
        case proceeds without it."""
        s = self.state
        s.updated_at = workflow.now()  # the case number's date
        try:
            case = case_input_of(s, self.input.facts, self.triage, self.input.policy, actor)
        except ValueError as exc:  # the bodies' rules make it a case; never retry forever
            _refuse(f"the dispute cannot become a case ({type(exc).__name__})")
            raise
        await workflow.start_child_workflow(
            MediationCaseWorkflow.run,
            case,
            id=f"case-{case.case_id}",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary="mediation case of a public report",
        )
        s.case_id, s.case_no = case.case_id, case.case_no
        s.dispute_type = case.intake.dispute_type
        s.status, s.department, s.closed_at = ReportStatus.case_opened, None, workflow.now()
        await self._record(ReportStep.case_opened, actor)

    # --- emergencies ----------------------------------------------------------------------

    def _awaiting(self) -> bool:
        return self.state.status is ReportStatus.awaiting_acknowledgement

    def _settled(self) -> bool:
        return workflow.all_handlers_finished() and not self.lock.locked()

    def _alerts(self) -> list[NotificationDraft]:
        """The duty supervisor at once (a risk alert: the outbox never gives one up); each
        re-alert also reaches the supervisors. Ids only: the words are the outbox's."""
        s = self.state
        detail = {"report_no": s.report_no, "report_kind": s.kind.value, "alert": s.alerts}
        alerts = [NotificationDraft(kind=NotificationKind.risk_alert, audience=DUTY_SUPERVISOR)]
        if s.alerts > 1:
            alerts.append(
                NotificationDraft(kind=NotificationKind.supervisor_alert, audience=SUPERVISORS)
            )
        return [a.model_copy(update={"detail": detail}) for a in alerts]

    async def _watch_acknowledgement(self) -> None:
        """Re-alert every `risk_ack_sla` (R3's period) until acknowledged or re-triaged."""
        every = self.input.policy.risk_ack_sla
        while self._awaiting():
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            try:
                await workflow.wait_condition(
                    lambda: not self._awaiting(),
                    timeout=every,
                    timeout_summary="emergency re-alert",
                )
            except TimeoutError:
                async with self.lock:
                    if self._awaiting():
                        self.state.alerts += 1
                        await self._record(ReportStep.realerted, notify=self._alerts())

    async def _continue_as_new(self) -> None:
        """A long-unacknowledged emergency keeps its history bounded: a fresh run carries
        the state and goes on alerting."""
        await workflow.wait_condition(self._settled)
        carried = self.input.model_copy(
            update={"triage": self.triage, "carried": self.state, "code_hash": None}
        )
        workflow.continue_as_new(carried)

    # --- commands -------------------------------------------------------------------------

    @workflow.update(name=SUBMISSION)
    async def submission(self) -> ReportState:
        """The API's answer to a new report (sent with the start): once it is triaged."""
        await workflow.wait_condition(lambda: self.triaged)
        return self._view()

    @workflow.update(name=ACKNOWLEDGE)
    async def acknowledge(self, inp: AcknowledgeInput) -> ReportState:
        async with self.lock:
            _refuse(why_not_acknowledge(self.state, inp))
            s = self.state
            s.status, s.acknowledged_by = ReportStatus.acknowledged, inp.actor.principal_id
            s.acknowledged_at = s.closed_at = workflow.now()
            await self._record(ReportStep.acknowledged, inp.actor)
            return self._view()

    @acknowledge.validator
    def _may_acknowledge(self, inp: AcknowledgeInput) -> None:
        _refuse(why_not_acknowledge(self.state, inp))

    @workflow.update(name=RETRIAGE)
    async def retriage(self, inp: RetriageInput) -> ReportState:
        async with self.lock:  # checked again: the report may have moved on meanwhile
            _refuse(why_not_retriage(self.state, inp))
            s = self.state
            self.triage = inp.triage
            s.kind, s.status, s.closed_at = inp.triage.kind, ReportStatus.received, None
            s.retriages += 1
            s.acknowledged_at = s.acknowledged_by = None
            await self._record(ReportStep.retriaged, inp.actor)
            await self._triage(inp.actor)
            return self._view()

    @retriage.validator
    def _may_retriage(self, inp: RetriageInput) -> None:
        _refuse(why_not_retriage(self.state, inp))

    @workflow.query
    def current_state(self) -> ReportState:
        """The live state, for operators; the API reads the store."""
        return self._view()

    # --- plumbing -------------------------------------------------------------------------

    def _view(self) -> ReportState:
        return self.state.model_copy(deep=True)

    async def _record(
        self,
        step: ReportStep,
        actor: Actor = SYSTEM,
        *,
        notify: list[NotificationDraft] | None = None,
        intake: ReportIntake | None = None,
    ) -> None:
        """Number the step and persist it: a short store write, as a local activity."""
        s = self.state
        number_step("report", step.value, s)
        record = ReportStepRecord(
            step=step,
            seq=s.seq,
            occurred_at=s.updated_at,
            actor=actor,
            state=self._view(),
            notifications=notify or [],
            intake=intake,
        )
        await workflow.execute_local_activity(
            step.activity_name,
            record,
            result_type=ReportReceipt,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )


def _refuse(reason: str | None) -> None:
    """A refused command: in a validator it never enters history; in a handler the Update
    fails (the API answers 409 with the reason), not the workflow."""
    if reason is not None:
        raise ApplicationError(reason, type=ILLEGAL_REPORT_COMMAND, non_retryable=True)
