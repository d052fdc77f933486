"""Reports from the public app and grid workers (R13; DESIGN §6 `POST /reports`): the bodies,
the triage workflow's input, state and steps, and the rules they follow. No database
imports: the workflow, its activities and the API share these.

A report is triaged by its kind: an `opinion` or `request` is referred to the department
that owns it; an `emergency` alerts the duty supervisor and waits for a supervisor's
acknowledgement; a `dispute` becomes a mediation case. What a dispute report needs to
become a case: the parties it names must include at least one respondent; the reporter
stands in as the applicant unless the parties name one (a grid worker reporting other
people's dispute names the applicant); the dispute type is `other` unless given.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from models.case import SYSTEM, Actor, CaseInput, IntakeRequest, NotificationDraft, PartyIn, Strict
from models.enums import (
    Channel,
    DisputeType,
    PartyRole,
    ReportChannel,
    ReportKind,
    ReportStatus,
    Role,
)
from models.policy import Policy

# The workflow and its messages by name: the API starts and updates it without importing
# workflow code (tests/test_layers.py).
REPORT_WORKFLOW = "ReportTriageWorkflow"
SUBMISSION = "submission"
ACKNOWLEDGE = "acknowledge"
RETRIAGE = "retriage"
ILLEGAL_REPORT_COMMAND = "IllegalReportCommand"

REFERRED_KINDS = frozenset({ReportKind.opinion, ReportKind.request})
OPEN = frozenset({ReportStatus.received, ReportStatus.awaiting_acknowledgement})
# What `Strict` lets through in a text field, said in the schema too, so a client (and the
# contract test's generator) can know before it sends: no control characters but tab and
# newlines.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Case ids of reports that became cases: the same report always names the same case.
_CASE_NAMESPACE = uuid.UUID("3b0f8a52-6c1e-4f5d-9a7e-5e2d1c0b9f41")


def report_workflow_id(report_no: str) -> str:
    """Also the subject of the report's data key (core/envelope.py)."""
    return f"report-{report_no}"


def report_number(token: str, when: datetime) -> str:
    """Non-personal, like a case number: the day and 12 hex digits of a random or keyed token."""
    return f"RP{when:%Y%m%d}-{token[:12].upper()}"


def case_id_of_report(report_no: str) -> str:
    return str(uuid.uuid5(_CASE_NAMESPACE, report_no))


def case_number(case_id: str, when: datetime) -> str:
    """A case number as intake makes it (cases/intake.py `case_no_for`; a test holds them
    equal): the workflow may not import that module."""
    return f"HC{when:%Y%m%d}-{case_id.replace('-', '')[:8].upper()}"


def default_department(town: str) -> str:
    """属地管理: an opinion or request that names no department goes to the government of
    the town or street it comes from."""
    if town.endswith("街道"):
        return f"{town}办事处"
    if town.endswith(("镇", "乡")):
        return f"{town}人民政府"
    return town


# --- bodies (the API's contract) --------------------------------------------------------


class Reporter(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    phone: str = Field(min_length=5, max_length=32, pattern=PRINTABLE)


class ReportFacts(Strict):
    """What the reporter said; all of it but the channel and place is personal."""

    channel: ReportChannel
    summary: str = Field(min_length=1, max_length=5000, pattern=PRINTABLE)
    town: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    community: str | None = Field(default=None, max_length=64, pattern=PRINTABLE)
    reporter: Reporter


class _Referral(Strict):
    department: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=PRINTABLE,
        description="the department that owns it; default: the town's or street's government",
    )


def _printable_in_schema(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        for option in (prop, *prop.get("anyOf", [])):
            if option.get("type") == "string":
                option.setdefault("pattern", PRINTABLE)


class ReportParty(PartyIn):
    """A party as a report names it: the intake's party, with `Strict`'s rule on text
    stated in its schema."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_printable_in_schema)


def _respondents_listed(parties: list[PartyIn]) -> list[PartyIn]:
    if not any(p.role is PartyRole.respondent for p in parties):
        raise ValueError("a dispute names at least one respondent")
    return parties


class _Dispute(Strict):
    dispute_type: DisputeType = DisputeType.other
    parties: list[ReportParty] = Field(
        min_length=1,
        max_length=499,  # the case's 500, the reporter included
        description="at least one respondent; the reporter is the applicant unless one is named",
        json_schema_extra={
            "contains": {"required": ["role"], "properties": {"role": {"const": "respondent"}}}
        },
    )

    @model_validator(mode="after")
    def _needs_a_respondent(self) -> Any:
        _respondents_listed(list(self.parties))
        return self


class OpinionReport(_Referral, ReportFacts):
    kind: Literal[ReportKind.opinion]


class RequestReport(_Referral, ReportFacts):
    kind: Literal[ReportKind.request]


class EmergencyReport(ReportFacts):
    kind: Literal[ReportKind.emergency]


class DisputeReport(_Dispute, ReportFacts):
    kind: Literal[ReportKind.dispute]


ReportBody = Annotated[
    OpinionReport | RequestReport | EmergencyReport | DisputeReport, Field(discriminator="kind")
]


class _Retriage(Strict):
    reason: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)


class RetriageToOpinion(_Referral, _Retriage):
    kind: Literal[ReportKind.opinion]


class RetriageToRequest(_Referral, _Retriage):
    kind: Literal[ReportKind.request]


class RetriageToEmergency(_Retriage):
    kind: Literal[ReportKind.emergency]


class RetriageToDispute(_Dispute, _Retriage):
    kind: Literal[ReportKind.dispute]


RetriageBody = Annotated[
    RetriageToOpinion | RetriageToRequest | RetriageToEmergency | RetriageToDispute,
    Field(discriminator="kind"),
]


class AcknowledgeBody(Strict):
    note: str = Field(
        default="", max_length=1000, pattern=PRINTABLE, description="what was done about it"
    )


# --- the workflow's messages -------------------------------------------------------------


class Triage(Strict):
    """How a report is handled: its kind and what that kind needs."""

    kind: ReportKind
    department: str | None = None
    dispute_type: DisputeType | None = None
    parties: list[PartyIn] = Field(default_factory=list)


def triage_of(body: Strict) -> Triage:
    """The kind-specific part of a report or re-triage body."""
    return Triage.model_validate(body.model_dump(include=set(Triage.model_fields)))


def facts_of(body: ReportFacts) -> ReportFacts:
    return ReportFacts.model_validate(body.model_dump(include=set(ReportFacts.model_fields)))


class ReportState(Strict):
    """Everything the workflow knows about a report, nothing personal: the store keeps it
    as the report's row, and a continued or resumed run starts from it."""

    model_config = ConfigDict(extra="ignore")

    report_no: str
    workflow_id: str
    kind: ReportKind
    channel: ReportChannel
    town: str
    community: str | None = None
    status: ReportStatus = ReportStatus.received
    department: str | None = None
    dispute_type: DisputeType | None = None
    case_id: str | None = None
    case_no: str | None = None
    alerts: int = 0  # alerts sent for the current emergency (the first and each re-alert)
    retriages: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None  # a principal id
    seq: int = 0
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class ReportInput(Strict):
    """The workflow's input. `policy`: snapshotted at submission (the re-alert period, and
    the case a dispute becomes). `carried`: the state a continued run, or a run resumed by
    a re-triage after the report had closed, starts from; such a run records no intake."""

    report_no: str
    facts: ReportFacts
    triage: Triage
    policy: Policy
    submitted_by: Actor = SYSTEM
    code_hash: str | None = None  # of the lookup code; only for the first run's intake
    carried: ReportState | None = None


class AcknowledgeInput(Strict):
    note: str = ""
    actor: Actor


class RetriageInput(Strict):
    triage: Triage
    reason: str
    actor: Actor


class ReportStep(StrEnum):
    """Each persisted step has an activity type of its own, `persist_report_<step>`."""

    received = "received"
    referred = "referred"
    alerted = "alerted"
    realerted = "realerted"
    acknowledged = "acknowledged"
    case_opened = "case_opened"
    retriaged = "retriaged"

    @property
    def activity_name(self) -> str:
        return f"persist_report_{self.value}"


class ReportIntake(Strict):
    """On the `received` step only: what creates the row (sealed there)."""

    facts: ReportFacts
    code_hash: str
    policy: Policy


class ReportStepRecord(Strict):
    step: ReportStep
    seq: int
    occurred_at: datetime
    actor: Actor
    state: ReportState
    notifications: list[NotificationDraft] = Field(default_factory=list)
    intake: ReportIntake | None = None


class ReportReceipt(Strict):
    """What a persisted step leaves in history: nothing personal."""

    step: ReportStep
    seq: int
    status: ReportStatus
    written: bool  # False: written before (a retry or a replay)


# --- rules ------------------------------------------------------------------------------


def case_input_of(
    state: ReportState, facts: ReportFacts, triage: Triage, policy: Policy, actor: Actor
) -> CaseInput:
    """The case a dispute report becomes: the intake the API would build from the same
    facts, the reporter as applicant unless the parties name one."""
    parties = _respondents_listed(list(triage.parties))
    if not any(p.role is PartyRole.applicant for p in parties):
        reporter = facts.reporter
        parties.insert(
            0, PartyIn(role=PartyRole.applicant, name=reporter.name, phone=reporter.phone)
        )
    intake = IntakeRequest(
        dispute_type=triage.dispute_type or DisputeType.other,
        channel=Channel(facts.channel.value),
        summary=facts.summary,
        town=facts.town,
        community=facts.community,
        parties=parties,
    )
    case_id = case_id_of_report(state.report_no)
    return CaseInput(
        case_id=case_id,
        case_no=case_number(case_id, state.updated_at),
        intake=intake,
        policy=policy,
        registered_by=actor,
    )


def why_not_acknowledge(state: ReportState, inp: AcknowledgeInput) -> str | None:
    if inp.actor.role is not Role.supervisor:
        return "only a supervisor acknowledges an emergency"
    if state.status is not ReportStatus.awaiting_acknowledgement:
        return "the report is not awaiting acknowledgement"
    return None


def why_not_retriage(state: ReportState, inp: RetriageInput) -> str | None:
    new = inp.triage
    if inp.actor.role is not Role.supervisor:
        return "only a supervisor re-triages a report"
    if state.case_id is not None:
        return f"the report became case {state.case_no}: act on the case"
    department = new.department or default_department(state.town)
    if new.kind is state.kind and (
        new.kind not in REFERRED_KINDS or department == state.department
    ):
        return f"the report is already triaged as {state.kind.value}"
    if new.kind is ReportKind.dispute:
        try:
            _respondents_listed(new.parties)
        except ValueError as exc:
            return str(exc)
    return None
