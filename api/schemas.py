"""Response bodies of the case API (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

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


class Stats(BaseModel):
    total: int
    by_status: dict[str, int]
    by_dispute_type: dict[str, int]
    by_org: dict[str, int]
    by_town: dict[str, int]
    by_risk_level: dict[str, int]
    closed: int
    resolved: int
    resolution_rate: float | None
    median_days_to_close: float | None
    overdue: int
