"""Pydantic DTOs shared by the workflow, its activities and the API (no database imports)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from models.enums import (
    CaseStatus,
    Channel,
    DisputeType,
    NotificationKind,
    Outcome,
    PartyRole,
    RiskFlag,
    RiskLevel,
    Role,
    Specialty,
)
from models.policy import Policy


def _printable(value: str) -> str:
    """Text a database and a person can hold: no NUL or other control characters (tab and
    newlines aside) and no lone surrogates. PostgreSQL refuses both, so letting them in
    would leave a started case that can never be recorded."""
    for ch in value:
        code = ord(ch)
        if (code < 32 and ch not in "\t\n\r") or code == 127 or 0xD800 <= code <= 0xDFFF:
            raise ValueError("text must not contain control characters or invalid Unicode")
    return value


class Strict(BaseModel):
    """Unknown fields are an error everywhere (the API contract rejects them with 422), and
    every text field must be printable text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_printable(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _printable(value)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    _printable(item)
        return value


# --- intake -----------------------------------------------------------------------------


class PartyIn(Strict):
    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)


class IntakeRequest(Strict):
    dispute_type: DisputeType
    channel: Channel
    summary: str = Field(min_length=1, max_length=5000)
    town: str = Field(min_length=1, max_length=64)
    community: str | None = Field(default=None, max_length=64)
    parties: list[PartyIn] = Field(
        min_length=2,
        max_length=500,
        # The rule below, stated in the schema too, so a client can know before it sends.
        json_schema_extra={
            "allOf": [
                {"contains": {"required": ["role"], "properties": {"role": {"const": role}}}}
                for role in ("applicant", "respondent")
            ]
        },
    )
    risk_flags: list[RiskFlag] = Field(default_factory=list, max_length=len(RiskFlag))
    headcount: StrictInt | None = Field(default=None, ge=1, le=100000)
    claimed_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    non_public: StrictBool = False
    court_or_police_accepted: StrictBool = False
    # A professional mediation body's specialty: routing tries the body of that specialty
    # before the local ones (activities/routing.py).
    category: Specialty | None = None

    @model_validator(mode="after")
    def _needs_both_sides(self) -> IntakeRequest:
        roles = {p.role for p in self.parties}
        if PartyRole.applicant not in roles or PartyRole.respondent not in roles:
            raise ValueError("parties need at least one applicant and one respondent")
        return self


class Actor(Strict):
    """Who commanded a step: a principal, or the workflow itself (`system`)."""

    principal_id: str = "system"
    role: Role | None = None
    org_id: str | None = None
    mediator_id: str | None = None  # a mediator principal's own id (older histories: none)


SYSTEM = Actor()


class CaseInput(Strict):
    """The workflow's input: the intake plus the policy snapshot it runs under (and, for a
    run that continued another as new, what that run had come to)."""

    case_id: str
    case_no: str
    idempotency_key: str | None = None
    intake: IntakeRequest
    policy: Policy
    registered_by: Actor = SYSTEM
    carried: CarriedOver | None = None


# --- live state -------------------------------------------------------------------------


class CarriedOver(Strict):
    """A run's state when it continued as new: the case, and its timers' memory (which
    reminders went out for which due date, when each repeating one fires next), so the next
    run neither repeats a step nor restarts a clock."""

    state: CaseState
    reminded_for: datetime | None = None  # the mediation due date already reminded of
    acceptance_reminded_for: datetime | None = None
    follow_up_reminded_for: datetime | None = None
    labor_notice_due: datetime | None = None
    next_at: dict[str, datetime] = Field(default_factory=dict)  # repeating timers
    runs: int = 1  # runs so far, this one included


class Assignment(Strict):
    org_id: str
    org_name: str
    mediator_id: str | None = None
    mediator_name: str | None = None


class Deadlines(Strict):
    acceptance_due: datetime | None = None
    mediation_due: datetime | None = None
    judicial_confirmation_until: datetime | None = None
    next_follow_up_due: datetime | None = None


class Agreement(Strict):
    terms: str
    performance_due: date | None
    agreed_at: datetime
    judicial_confirmed_at: datetime | None = None
    judicial_window_open: bool = True
    on_site: bool = False  # R14: settled on the spot at the mediator's first session
    # R8: the window outlives the case's closure (cases closed since JUDICIAL_AFTER_CLOSURE:
    # their workflow waits for it); the 30 days run from the agreement, whatever the status.
    confirmable_after_closure: bool = False


class CaseState(Strict):
    """Everything the workflow knows about a case; the query returns it whole, and the store
    keeps it as the case's read model. Fields it no longer has (from older snapshots and
    histories) are ignored when it is read back."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    workflow_id: str
    status: CaseStatus = CaseStatus.registered
    dispute_type: DisputeType
    channel: Channel
    town: str
    community: str | None = None
    non_public: bool = False
    risk_level: RiskLevel = RiskLevel.green
    risk_reasons: list[str] = Field(default_factory=list)
    risk_alert_open: bool = False
    risk_escalations: int = 0
    collective: bool = False  # R11: flag, headcount or words; never below yellow
    assignment: Assignment | None = None
    routing_attempts: int = 0
    excluded_mediators: list[str] = Field(default_factory=list)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    extensions_used: int = 0
    arbitration_notice_sent: bool = False
    sessions_held: int = 0
    agreement: Agreement | None = None
    not_performed_count: int = 0
    unsettled_visits: int = 0  # R9: visits in a row that did not confirm performance
    overdue: bool = False
    outcome: Outcome | None = None
    seq: int = 0
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    allowed_actions: list[str] = Field(default_factory=list)


# --- persistence ------------------------------------------------------------------------


class Step(StrEnum):
    """Each persisted step has an activity type of its own, named `persist_<step>`."""

    intake = "intake"
    risk_screening = "risk_screening"
    risk_alert = "risk_alert"
    risk_escalation = "risk_escalation"
    risk_acknowledged = "risk_acknowledged"
    risk_changed = "risk_changed"
    assignment = "assignment"
    acceptance_reminder = "acceptance_reminder"
    acceptance_timeout = "acceptance_timeout"
    declined = "declined"
    accepted = "accepted"
    supervisor_escalation = "supervisor_escalation"
    supervisor_reminder = "supervisor_reminder"
    session = "session"
    deadline_reminder = "deadline_reminder"
    arbitration_notice = "arbitration_notice"
    extension = "extension"
    agreement = "agreement"
    judicial_confirmation = "judicial_confirmation"
    judicial_window_closed = "judicial_window_closed"
    follow_up_due = "follow_up_due"
    follow_up_overdue = "follow_up_overdue"
    follow_up = "follow_up"
    reopened = "reopened"
    closure = "closure"

    @property
    def activity_name(self) -> str:
        return f"persist_{self.value}"


class NotificationDraft(Strict):
    kind: NotificationKind
    audience: str
    detail: dict[str, Any] = Field(default_factory=dict)


class StuckStep(Strict):
    """A step the case store would not take within the policy's bound: the duty
    supervisor's alert (ids and the error's type only)."""

    case_id: str
    seq: int
    step: Step
    error: str


class StepRecord(Strict):
    """One transition: the case snapshot after it, its timeline event, its outbox entries."""

    step: Step
    seq: int
    occurred_at: datetime
    actor: Actor
    detail: dict[str, Any] = Field(default_factory=dict)
    state: CaseState
    notifications: list[NotificationDraft] = Field(default_factory=list)
    intake: CaseInput | None = None  # only on the intake step: creates the case and parties


class StepReceipt(Strict):
    """What a persisted step leaves in the case's history. A local activity's marker keeps
    its result, not its input, so this is what tells the step to operators and auditors
    (GET /cases/{id}/history): which step, when, on whose command, and the case's standing
    after it. Nothing personal: staff names and ids, levels, outcomes."""

    step: Step
    seq: int
    occurred_at: datetime
    actor: Actor
    written: bool  # False: it had been written before (a retry or a replay)
    status: CaseStatus
    risk_level: RiskLevel
    outcome: Outcome | None = None
    assignment: Assignment | None = None
    result: str | None = None  # a follow-up visit's result

    @classmethod
    def of(cls, record: StepRecord, written: bool) -> StepReceipt:
        s = record.state
        return cls(
            step=record.step,
            seq=record.seq,
            occurred_at=record.occurred_at,
            actor=record.actor,
            written=written,
            status=s.status,
            risk_level=s.risk_level,
            outcome=s.outcome,
            assignment=s.assignment,
            result=record.detail.get("result"),
        )


# --- activities' other inputs and results -------------------------------------------------


class RiskScreeningInput(Strict):
    summary: str
    risk_flags: list[RiskFlag]
    headcount: int | None
    collective_headcount: int


class RiskMatch(Strict):
    """A lexicon entry the summary matched: its category code and the lexicon's own phrase
    (parts joined by "+"), never the words around it."""

    category: str
    phrase: str


class RiskAssessment(Strict):
    level: RiskLevel
    reasons: list[str] = Field(default_factory=list)
    # Optional, so that results recorded before them still decode on replay.
    matches: list[RiskMatch] = Field(default_factory=list)
    negated: list[RiskMatch] = Field(default_factory=list)  # hits a negator cancelled


class RouteRequest(Strict):
    case_id: str
    dispute_type: DisputeType
    town: str
    community: str | None
    risk_level: RiskLevel
    risk_flags: list[RiskFlag]
    excluded_mediators: list[str] = Field(default_factory=list)
    category: str | None = None  # the intake's: a professional body's specialty
    # The case's last step when it is routed: routing answers once per (case, at_seq).
    at_seq: int | None = None


class RouteDecision(Strict):
    assignment: Assignment | None = None
    reason: str


class ResolveAssignmentInput(Strict):
    org_id: str
    mediator_id: str | None = None


CarriedOver.model_rebuild()
CaseInput.model_rebuild()
