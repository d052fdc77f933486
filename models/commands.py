"""Commands: the API bodies of DESIGN §6, and one typed Update input per command (the body's
fields plus the actor who sent it).

API clients send the bodies; the API adds the authenticated actor, so nobody can speak for
somebody else.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StrictBool, model_validator

from models.case import SYSTEM, Actor, Strict
from models.enums import FollowUpResult, PartyRole, RejectionGround, RiskLevel, Role

# Error types of a refused command, as the API maps them: the validator said no (409), or
# the roster knows no such organisation or mediator (422).
ILLEGAL = "IllegalTransition"
UNKNOWN_ASSIGNEE = "UnknownAssignee"


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


# Who may send which command (DESIGN §7). The API checks it before the Update, and the
# workflow's validator again with the assignment, so a command that reaches Temporal some
# other way is held to the same table.
MEDIATION_ACTIONS = frozenset(
    {
        Action.accept,
        Action.decline,
        Action.sessions,
        Action.agreement,
        Action.judicial_confirmation,
        Action.extend,
        Action.terminate,
        Action.refuse,
        Action.follow_ups,
        Action.reopen,
        Action.risk,
    }
)
MAY_ACT: dict[Role, frozenset[Action]] = {
    Role.officer: frozenset({Action.reject, Action.withdraw, Action.risk_ack}),
    Role.mediator: MEDIATION_ACTIONS,
    Role.supervisor: frozenset(Action),
    Role.admin: frozenset(),
}


Text = Field(min_length=1, max_length=2000)
Name = Annotated[str, Field(min_length=1, max_length=100)]  # a person, as written down


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
    attendees: list[Name] = Field(default_factory=list, max_length=100)


class Undertaking(Strict):
    """What one side undertakes to do (R7)."""

    party_position: PartyRole  # whose undertaking
    obligation: str = Field(min_length=1, max_length=2000)


class AgreementBody(Strict):
    """R7 and the People's Mediation Law art. 28–29: the facts and the points in dispute,
    what was agreed and each side's undertakings, the manner and deadline of performance."""

    terms: str = Field(min_length=1, max_length=10000)
    performance_due: date | None = None
    signed_by_parties: StrictBool
    written: StrictBool
    facts: str = Field(min_length=1, max_length=5000)
    points_in_dispute: str = Field(min_length=1, max_length=2000)
    undertakings: list[Undertaking] = Field(default_factory=list, max_length=20)
    performance_manner: str = Field(min_length=1, max_length=2000)
    # R14: settled on the spot at the mediator's first session (oral or written): the
    # mediation closes as `resolved_on_site`, and the case is still followed up.
    on_site: StrictBool = False


class JudicialConfirmationBody(Strict):
    """R8: the parties apply for judicial confirmation jointly (PML art. 33)."""

    jointly_applied: StrictBool
    note: str | None = Field(default=None, max_length=2000)


class RejectBody(Strict):
    """R2: the ground the law gives for not accepting the dispute, and what was found."""

    ground: RejectionGround
    reason: str = Text


class ConsentBody(Strict):
    both_parties_consent: StrictBool
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


# --- Update inputs: one per command, the body's fields plus the actor -------------------


class CommandInput(Strict):
    """What an Update receives: its API body's fields, and the actor the API authenticated."""

    actor: Actor = SYSTEM

    @model_validator(mode="before")
    @classmethod
    def _from_legacy_command(cls, data: Any) -> Any:
        """Cases started before typed inputs sent every Update one wrapper,
        `{"action": …, "actor": …, "<slot>": {body}, "<other slots>": null}`. Their histories
        must still replay (and their running cases finish), so that shape still decodes."""
        if isinstance(data, dict) and "action" in data:
            body: dict[str, Any] = next(
                (v for k, v in data.items() if k not in ("action", "actor") and v is not None),
                {},
            )
            return {**body, **({"actor": data["actor"]} if "actor" in data else {})}
        return data

    @classmethod
    def body_type(cls) -> type[Strict]:
        """The API body this input carries."""
        return next(
            b for b in cls.__mro__[1:] if issubclass(b, Strict) and not issubclass(b, CommandInput)
        )


class AcceptInput(AcceptBody, CommandInput):
    pass


class ReasonInput(ReasonBody, CommandInput):
    """The commands whose body is a reason alone."""


class DeclineInput(ReasonInput):
    pass


class AssignInput(AssignBody, CommandInput):
    pass


class SessionInput(SessionBody, CommandInput):
    pass


class AgreementInput(AgreementBody, CommandInput):
    # Agreements recorded before the body asked for these (older histories) decode too.
    facts: str = Field(default="", max_length=5000)
    points_in_dispute: str = Field(default="", max_length=2000)
    performance_manner: str = Field(default="", max_length=2000)


class JudicialConfirmationInput(JudicialConfirmationBody, CommandInput):
    # Confirmations recorded before the body asked (older histories) were accepted as joint
    # applications; they must decode, and pass the rule again, on replay.
    jointly_applied: StrictBool = True


class ExtendInput(ConsentBody, CommandInput):
    pass


class TerminateInput(ReasonInput):
    pass


class RefuseInput(ReasonInput):
    pass


class FollowUpInput(FollowUpBody, CommandInput):
    pass


class ReopenInput(ConsentBody, CommandInput):
    pass


class WithdrawInput(ReasonInput):
    pass


class RiskInput(RiskBody, CommandInput):
    pass


class RiskAckInput(RiskAckBody, CommandInput):
    pass


class RejectInput(RejectBody, CommandInput):
    # Rejections recorded before grounds were an enumeration (older histories) had none.
    ground: RejectionGround | None = None  # type: ignore[assignment]


INPUT_OF: dict[Action, type[CommandInput]] = {
    Action.accept: AcceptInput,
    Action.decline: DeclineInput,
    Action.assign: AssignInput,
    Action.sessions: SessionInput,
    Action.agreement: AgreementInput,
    Action.judicial_confirmation: JudicialConfirmationInput,
    Action.extend: ExtendInput,
    Action.terminate: TerminateInput,
    Action.refuse: RefuseInput,
    Action.follow_ups: FollowUpInput,
    Action.reopen: ReopenInput,
    Action.withdraw: WithdrawInput,
    Action.risk: RiskInput,
    Action.risk_ack: RiskAckInput,
    Action.reject: RejectInput,
}
ACTION_OF_UPDATE: dict[str, Action] = {a.update_name: a for a in Action}


def command_input(action: Action, body: Strict, actor: Actor = SYSTEM) -> CommandInput:
    """The Update input for an API body sent by `actor`."""
    return INPUT_OF[action].model_validate({**dict(body), "actor": actor})
