"""Response bodies of the case API (DESIGN §6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from models.case import Assignment, CaseState, Deadlines
from models.enums import CaseStatus, Channel, DisputeType, Outcome, PartyRole, RiskLevel


class PartyOut(BaseModel):
    role: PartyRole
    name: str
    phone: str
    id_number: str | None
    address: str | None
    masked: bool


class CaseOut(BaseModel):
    case_id: str
    case_no: str
    workflow_id: str
    status: CaseStatus
    dispute_type: DisputeType
    risk_level: RiskLevel
    channel: Channel
    town: str
    community: str | None
    non_public: bool
    assignment: Assignment | None
    deadlines: Deadlines
    outcome: Outcome | None
    allowed_actions: list[str]
    risk_alert_open: bool
    overdue: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    parties: list[PartyOut]

    @classmethod
    def build(cls, state: CaseState, parties: list[PartyOut], allowed: list[str]) -> CaseOut:
        return cls(
            **state.model_dump(
                include={
                    "case_id",
                    "case_no",
                    "workflow_id",
                    "status",
                    "dispute_type",
                    "risk_level",
                    "channel",
                    "town",
                    "community",
                    "non_public",
                    "assignment",
                    "deadlines",
                    "outcome",
                    "risk_alert_open",
                    "overdue",
                    "created_at",
                    "updated_at",
                    "closed_at",
                }
            ),
            allowed_actions=allowed,
            parties=parties,
        )


class CaseSummary(BaseModel):
    case_id: str
    case_no: str
    status: CaseStatus
    dispute_type: DisputeType
    risk_level: RiskLevel
    town: str
    community: str | None
    org_id: str | None
    mediator_id: str | None
    overdue: bool
    outcome: Outcome | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> CaseSummary:
        return cls(
            case_id=row.id,
            case_no=row.case_no,
            status=row.status,
            dispute_type=row.dispute_type,
            risk_level=row.risk_level,
            town=row.town,
            community=row.community,
            org_id=row.org_id,
            mediator_id=row.mediator_id,
            overdue=row.overdue,
            outcome=row.outcome,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class CasePage(BaseModel):
    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


class EventOut(BaseModel):
    seq: int
    kind: str
    status: CaseStatus
    actor_id: str
    actor_role: str | None
    occurred_at: datetime
    detail: dict[str, Any]


class NotificationOut(BaseModel):
    kind: str
    audience: str
    created_at: datetime
    sent_at: datetime | None


class OrgCount(BaseModel):
    id: str
    name: str | None = Field(description="the organisation's name; null if the roster lost it")
    count: int


class TimeSummary(BaseModel):
    """Durations of `count` cases or events: the median (mean of the two middle values when
    their number is even) and the 90th percentile by nearest rank (the ⌈0.9·n⌉-th smallest);
    null when there are none."""

    count: int
    median: float | None
    p90: float | None


class DeadlineShare(BaseModel):
    """Cases whose first round of mediation concluded within the legal period (R5, R6): it
    starts at the first assignment for a labor dispute, at acceptance otherwise, and lasts
    the case's policy's mediation period plus one `extension` per extension granted before
    it concluded. Concluded: the first agreement, or without one the closure. Within: an
    agreement at or before the deadline, or a closure strictly before it. Counted: accepted
    cases that concluded, and open ones already past their deadline (not within)."""

    concluded: int
    within: int
    share: float | None = Field(description="within / concluded; null when none concluded")


class RedRisk(BaseModel):
    """Red-risk alerts (R3) of the cases: each `risk_alert` step paired with the first
    `risk_acknowledged` after it."""

    cases: int = Field(description="cases with at least one red-risk alert")
    alerts: int
    acknowledged: int
    unacknowledged: int = Field(description="alerts with no acknowledgement (yet)")
    escalations: int = Field(description="re-escalations: an alert not acknowledged in the SLA")
    minutes_to_acknowledge: TimeSummary


class FollowUps(BaseModel):
    """Follow-up visits (R9) recorded for the cases."""

    visits: int
    by_result: dict[str, int]
    on_time: int = Field(
        description="visits recorded on or before their due date (no follow_up_due step "
        "between the agreement or the previous visit and the visit)"
    )
    on_time_share: float | None


class Stats(BaseModel):
    """Statistics of the cases registered in the period (by the Asia/Shanghai date of
    `created_at`) assigned to `org_id` and in `town`, as filtered; all cases when unfiltered.
    Counts by a column leave out cases where it is empty (an unassigned case in `by_org`,
    an open case in `by_outcome`)."""

    total: int
    by_status: dict[str, int]
    by_dispute_type: dict[str, int]
    by_org: dict[str, int]
    by_town: dict[str, int]
    by_risk_level: dict[str, int]
    closed: int
    resolved: int = Field(description="closed cases with outcome resolved or resolved_on_site")
    resolution_rate: float | None = Field(description="resolved / closed")
    median_days_to_close: float | None = Field(description="the same as days_to_close.median")
    overdue: int = Field(description="cases flagged overdue now (a follow-up visit overdue)")
    period_from: date | None
    period_to: date | None
    org_id: str | None
    town: str | None
    by_channel: dict[str, int]
    by_outcome: dict[str, int]
    organizations: list[OrgCount] = Field(description="by_org with names, largest first")
    hours_to_accept: TimeSummary = Field(
        description="hours from registration to the first acceptance, for accepted cases"
    )
    days_to_close: TimeSummary = Field(
        description="days from registration to closed_at, for closed cases"
    )
    within_deadline: DeadlineShare
    red_risk: RedRisk
    follow_ups: FollowUps
