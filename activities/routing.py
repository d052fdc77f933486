"""Routing (DESIGN §1): which mediation body, and which of its mediators, takes a case.

Load is counted from the case store (open cases per mediator), not kept as a counter, so
it can never drift from the cases themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import insert_ignore, session_scope
from models.case import Assignment, ResolveAssignmentInput, RouteDecision, RouteRequest
from models.commands import UNKNOWN_ASSIGNEE
from models.enums import CaseStatus, DisputeType, OrgKind, RiskFlag, RiskLevel
from models.tables import Case, Mediator, Organization, RouteDecisionRow
from store.roster import UnknownAssignee, resolve_assignment

# (kind, scope): scope is community, town or district; `SPECIALTY` scope is the district's
# professional bodies of the intake's category.
Candidate = tuple[OrgKind, str]
SPECIALTY = "specialty"


def candidate_kinds(req: RouteRequest) -> list[Candidate]:
    """Bodies to try, in order (DESIGN §1). A category named at intake goes to the
    professional body of that specialty first; a professional body takes nothing else."""
    local = [
        (OrgKind.five_elders_studio, "community"),
        (OrgKind.veterans_mediation_room, "community"),
        (OrgKind.town_mediation_committee, "town"),
    ]
    womens = (OrgKind.womens_federation_marriage_committee, "district")
    specialty = [(OrgKind.professional_mediation_org, SPECIALTY)] if req.category else []
    match req.dispute_type:
        case DisputeType.labor:
            return [(OrgKind.union_labor_committee, "district"), *specialty, local[2]]
        case DisputeType.marriage:
            return [*specialty, womens, local[2]]
        case DisputeType.family:
            serious = (
                req.risk_level is RiskLevel.red or RiskFlag.domestic_violence in req.risk_flags
            )
            return [womens, *specialty, *local] if serious else [*specialty, *local, womens]
        case DisputeType.neighbor:
            return [*specialty, *local]
        case _:
            return [*specialty, local[2]]


def specialty_of(category: str | None) -> str | None:
    """A category as the roster writes specialties: trimmed, lower case."""
    return category.strip().lower() if category and category.strip() else None


class RoutingActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _orgs(
        self, session: object, kind: OrgKind, scope: str, req: RouteRequest
    ) -> list[Organization]:
        stmt = select(Organization).where(Organization.kind == kind.value, Organization.active)
        if scope == SPECIALTY:
            wanted = specialty_of(req.category)
            if wanted is None:
                return []
            found = session.exec(stmt.order_by(Organization.id))  # type: ignore[attr-defined]
            return [o for o in found if specialty_of(o.specialty) == wanted]
        if scope == "community":
            if not req.community:
                return []
            stmt = stmt.where(
                Organization.town == req.town, Organization.community == req.community
            )
        elif scope == "town":
            stmt = stmt.where(Organization.town == req.town)
        return list(session.exec(stmt.order_by(Organization.id)))  # type: ignore[attr-defined]

    @staticmethod
    def _pick_mediator(session: object, org_id: str, excluded: set[str]) -> Mediator | None:
        mediators = [
            m
            for m in session.exec(  # type: ignore[attr-defined]
                select(Mediator)
                .where(Mediator.org_id == org_id, Mediator.active)
                .order_by(Mediator.id)
            )
            if m.id not in excluded and m.capacity > 0
        ]
        if not mediators:
            return None
        load = dict(
            session.exec(  # type: ignore[attr-defined]
                select(Case.mediator_id, func.count())
                .where(Case.status != CaseStatus.closed.value)
                .where(Case.mediator_id.in_([m.id for m in mediators]))  # type: ignore[union-attr]
                .group_by(Case.mediator_id)
            ).all()
        )
        free = [m for m in mediators if load.get(m.id, 0) < m.capacity]
        if not free:
            return None
        return min(free, key=lambda m: (load.get(m.id, 0) / m.capacity, m.id))

    @activity.defn
    def route_case(self, req: RouteRequest) -> RouteDecision:
        """The case's next mediator, or none. Asked again for the same step (`at_seq`), it
        answers as it did the first time: the first answer may be in the store already."""
        with session_scope(self.engine) as session:
            if req.at_seq is None:  # from a case that knew no `at_seq` (before the baseline)
                return self._decide(session, req)
            key = (req.case_id, req.at_seq)
            made = session.get(RouteDecisionRow, key)
            if made is None:
                decision = self._decide(session, req)
                row = {
                    "case_id": req.case_id,
                    "seq": req.at_seq,
                    "decision": decision.model_dump(mode="json"),
                    "created_at": datetime.now(UTC),
                }
                if insert_ignore(session, RouteDecisionRow, row):
                    return decision
                made = session.get(RouteDecisionRow, key)  # a concurrent run's, committed
                assert made is not None
            return RouteDecision.model_validate(made.decision)

    def _decide(self, session: object, req: RouteRequest) -> RouteDecision:
        excluded = set(req.excluded_mediators)
        for kind, scope in candidate_kinds(req):
            for org in self._orgs(session, kind, scope, req):
                mediator = self._pick_mediator(session, org.id, excluded)
                if mediator is not None:
                    return RouteDecision(
                        assignment=Assignment(
                            org_id=org.id,
                            org_name=org.name,
                            mediator_id=mediator.id,
                            mediator_name=mediator.name,
                        ),
                        reason=f"{kind.value} ({scope})",
                    )
        return RouteDecision(assignment=None, reason="no mediation body with a free mediator")

    @activity.defn
    def resolve_assignment(self, req: ResolveAssignmentInput) -> Assignment:
        """Names for a supervisor's assignment; unknown or mismatched ids fail for good."""
        with session_scope(self.engine) as session:
            try:
                return resolve_assignment(session, req.org_id, req.mediator_id)
            except UnknownAssignee as exc:
                raise ApplicationError(
                    str(exc), exc.field, type=UNKNOWN_ASSIGNEE, non_retryable=True
                ) from None
