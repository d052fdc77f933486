"""Commands: the API bodies of DESIGN §6, and the Update inputs (body + the actor who sent it).

API clients send the bodies; the API adds the authenticated actor, so nobody can speak for
somebody else.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import Field

from models.case import SYSTEM, Actor, Strict
from models.enums import FollowUpResult, RiskLevel


class Action(StrEnum):
    """Commands on a case; values are the API's path segments and `allowed_actions` entries."""

    accept = "accept"
    decline = "decline"
    assign = "assign"
    sessions = "sessions"
    agreement = "agreement"
    judicial_confirmation = "judicial-confirmation"
    extend = "extend"
    terminate = "terminate"
    refuse = "refuse"
    follow_ups = "follow-ups"
    reopen = "reopen"
    withdraw = "withdraw"
    risk = "risk"
    risk_ack = "risk/ack"
    reject = "reject"

    @property
    def update_name(self) -> str:
        return self.value.replace("-", "_").replace("/", "_")


Text = Field(min_length=1, max_length=2000)


class AcceptBody(Strict):
    mediator_id: str = Field(min_length=1, max_length=64)


class ReasonBody(Strict):
    reason: str = Text


class AssignBody(Strict):
    org_id: str = Field(min_length=1, max_length=64)
    mediator_id: str | None = Field(default=None, max_length=64)
    reason: str = Text


class SessionBody(Strict):
    held_at: datetime
    summary: str = Text
    attendees: list[str] = Field(default_factory=list, max_length=100)


class AgreementBody(Strict):
    terms: str = Field(min_length=1, max_length=10000)
    performance_due: date | None = None
    signed_by_parties: bool
    written: bool


class JudicialConfirmationBody(Strict):
    note: str | None = Field(default=None, max_length=2000)


class ConsentBody(Strict):
    both_parties_consent: bool
    reason: str = Text


class FollowUpBody(Strict):
    result: FollowUpResult
    notes: str = Field(default="", max_length=5000)
    visited_at: datetime


class RiskBody(Strict):
    level: RiskLevel
    reason: str = Text


class RiskAckBody(Strict):
    note: str = Text


BODY_OF: dict[Action, type[Strict]] = {
    Action.accept: AcceptBody,
    Action.decline: ReasonBody,
    Action.assign: AssignBody,
    Action.sessions: SessionBody,
    Action.agreement: AgreementBody,
    Action.judicial_confirmation: JudicialConfirmationBody,
    Action.extend: ConsentBody,
    Action.terminate: ReasonBody,
    Action.refuse: ReasonBody,
    Action.follow_ups: FollowUpBody,
    Action.reopen: ConsentBody,
    Action.withdraw: ReasonBody,
    Action.risk: RiskBody,
    Action.risk_ack: RiskAckBody,
    Action.reject: ReasonBody,
}


B = TypeVar("B", bound=Strict)


class Command(Strict):
    """What every Update receives: the action, its body and the actor who sent it."""

    action: Action
    actor: Actor = SYSTEM
    accept: AcceptBody | None = None
    reason: ReasonBody | None = None
    assign: AssignBody | None = None
    session: SessionBody | None = None
    agreement: AgreementBody | None = None
    judicial: JudicialConfirmationBody | None = None
    consent: ConsentBody | None = None
    follow_up: FollowUpBody | None = None
    risk: RiskBody | None = None
    risk_ack: RiskAckBody | None = None

    def body(self, kind: type[B]) -> B:
        value = getattr(self, _SLOT[kind])
        if not isinstance(value, kind):
            raise ValueError(f"{self.action.value} needs a {kind.__name__} body")
        return value

    @classmethod
    def of(cls, action: Action, body: Strict, actor: Actor = SYSTEM) -> Command:
        slot = _SLOT[type(body)]
        return cls.model_validate({"action": action, "actor": actor, slot: body})


_SLOT: dict[type[Strict], str] = {
    AcceptBody: "accept",
    ReasonBody: "reason",
    AssignBody: "assign",
    SessionBody: "session",
    AgreementBody: "agreement",
    JudicialConfirmationBody: "judicial",
    ConsentBody: "consent",
    FollowUpBody: "follow_up",
    RiskBody: "risk",
    RiskAckBody: "risk_ack",
}
