"""What the console's pages show, read the way the API reads it (the store is the read
model; scope and masking from api/access.py): the queues of each role, and a case's page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException
from sqlmodel import Session, col, select

from api.access import scope_filter
from api.deps import Principal, Runtime
from api.routes import history as history_route
from api.routes.cases import case_notifications, timeline
from api.routes.documents import case_file
from api.routes.roster import MediatorOut, OrganizationOut, list_mediators, list_organizations
from api.schemas import CaseOut, CaseSummary, EventOut, NotificationOut
from cases.documents import Document
from cases.history import HistoryEntry
from core.i18n import Translator, catalogue
from models.enums import CaseStatus, Role
from models.tables import Case, Organization

QUEUE_SIZE = 50
FOLLOW_UP_HORIZON = timedelta(days=7)  # "follow-ups due": due within a week, or overdue
FREE_TEXT = (
    "summary",
    "facts",
    "points_in_dispute",
    "terms",
    "performance_manner",
    "notes",
    "note",
    "reason",
)
# detail key → (its label, the catalogue section of its values)
ENUM_DETAIL = {
    "result": ("field.result", "follow_up_result"),
    "outcome": ("field.outcome", "outcome"),
    "risk_level": ("field.risk_level", "risk_level"),
    "level": ("field.risk_level", "risk_level"),
    "basis": ("field.basis", "erasure_basis"),
    "ground": ("field.ground", "rejection_ground"),
}


@dataclass
class Queue:
    key: str  # catalogue key of its heading
    items: list[CaseSummary]
    due: dict[str, datetime | None] = field(default_factory=dict)  # case id → the due date shown


def _rows(session: Session, principal: Principal, *where: Any, order: Any = None) -> list[Case]:
    stmt = select(Case).where(scope_filter(principal), *where)
    stmt = stmt.order_by(order if order is not None else col(Case.created_at).desc())
    return list(session.exec(stmt.limit(QUEUE_SIZE)).all())


def _queue(key: str, rows: list[Case], due: str | None = None) -> Queue:
    dates = {r.id: getattr(r, due) for r in rows} if due else {}
    return Queue(key, [CaseSummary.from_row(r) for r in rows], dates)


def _soonest_due(
    session: Session, p: Principal, key: str, status: CaseStatus, due: str, *where: Any
) -> Queue:
    """The cases in `status`, the one due soonest first."""
    order = col(getattr(Case, due)).asc()
    return _queue(key, _rows(session, p, Case.status == status.value, *where, order=order), due)


def mediator_queues(session: Session, p: Principal) -> list[Queue]:
    """ "My work": to accept, in mediation by due date, follow-ups due (DESIGN §10)."""
    mine = [] if p.mediator_id is None else [col(Case.mediator_id).in_([p.mediator_id, None])]
    soon = col(Case.next_follow_up_due) <= datetime.now(UTC) + FOLLOW_UP_HORIZON
    return [
        _soonest_due(
            session,
            p,
            "home.awaiting_acceptance",
            CaseStatus.awaiting_acceptance,
            "acceptance_due",
            *mine,
        ),
        _soonest_due(
            session, p, "home.in_mediation", CaseStatus.in_mediation, "mediation_due", *mine
        ),
        _soonest_due(
            session,
            p,
            "home.follow_ups",
            CaseStatus.follow_up,
            "next_follow_up_due",
            soon,
            *mine,
        ),
    ]


def supervisor_queues(session: Session, p: Principal) -> list[Queue]:
    """Escalations: waiting for a supervisor, red alerts not acknowledged, overdue."""
    open_ = Case.status != CaseStatus.closed.value
    red = [
        r
        for r in _rows(session, p, Case.risk_level == "red", open_)
        if r.state.get("risk_alert_open")
    ]
    return [
        _queue(
            "home.awaiting_supervisor",
            _rows(
                session,
                p,
                Case.status == CaseStatus.awaiting_supervisor.value,
                order=col(Case.created_at).asc(),
            ),
        ),
        _queue("home.red_alerts", red),
        _queue("home.overdue", _rows(session, p, col(Case.overdue), open_)),
    ]


@dataclass
class CasePage:
    case: CaseOut
    events: list[EventOut]
    notifications: list[NotificationOut]
    history: list[HistoryEntry] | None  # None: not available now
    organizations: list[OrganizationOut]
    mediators: list[MediatorOut]
    documents: list[Document]


async def case_page(rt: Runtime, p: Principal, case: CaseOut) -> CasePage:
    def read(s: Session) -> tuple[Any, ...]:
        org = case.assignment.org_id if case.assignment else None
        return (
            timeline(case.case_id, s, p, rt),
            case_notifications(case.case_id, s, p),
            list_organizations(s, p) if p.role is Role.supervisor else [],
            list_mediators(s, p, None if p.role is Role.supervisor else org),
            case_file(s, p, case.case_id, rt.keys).documents(),
        )

    events, notes, orgs, mediators, documents = await rt.db(read)
    try:
        story = (await history_route.case_history(case.case_id, rt, p)).entries
    except HTTPException:
        story = None
    return CasePage(case, events, notes, story, orgs, mediators, documents)


# The workflow's own reasons (its words, in English) → the catalogue's.
SYSTEM_REASONS = {
    "already accepted by a court or the police (R2)": "system_reason.court_or_police",
    "collective dispute: centre joint mediation (R11)": "system_reason.collective",
    "routing attempts exhausted (R12)": "system_reason.routing_exhausted",
    "no agreement within the labor mediation period (R5)": "system_reason.labor_period",
    "mediation period ended without agreement (R6)": "system_reason.period_ended",
    "performance confirmed (R9)": "system_reason.performed",
    "agreement not performed (R9)": "system_reason.not_performed",
    "performance not confirmed after repeated follow-up visits (R9)": (
        "system_reason.unsettled_visits"
    ),
}


def event_details(event: EventOut, t: Translator) -> list[str]:
    """What a timeline row says beyond its kind, in words (codes translated, free text as
    written, ids left out)."""
    out = []
    for key, (label, section) in ENUM_DETAIL.items():
        value = event.detail.get(key)
        if isinstance(value, str) and value:
            out.append(t("pair.label_value", label=t(label), value=t.enum(section, value)))
    for key in FREE_TEXT:
        value = event.detail.get(key)
        if not isinstance(value, str) or not value:
            continue
        if value in SYSTEM_REASONS:
            value = t(SYSTEM_REASONS[value])
        elif event.actor_role is None:
            continue  # the workflow's own words not yet in the catalogue: its outcome says it
        out.append(t("pair.label_value", label=t.field(key, event.kind), value=value))
    for u in event.detail.get("undertakings") or []:
        if isinstance(u, dict) and isinstance(u.get("obligation"), str):
            who = t.enum("party_role", str(u.get("party_position")))
            out.append(t("pair.label_value", label=who, value=u["obligation"]))
    return out


def history_line(entry: HistoryEntry, t: Translator) -> str:
    match entry.code:
        case "step":
            return t(f"step.{entry.step}")
        case "command":
            return t("history.command", action=t(f"action.{entry.action}"))
        case "timer_set":
            return t("history.timer_set", at=t.when(entry.fires_at))
        case "timer_fired":
            return t("history.timer_fired")
        case "retrying" | "failed":
            return t("history.problem")
        case "started" | "continued" | "completed" | "terminated":
            return t(f"history.{entry.code}")
        case "continued_as_new":
            return t("history.continued")
    return t("history.ended")


def audience(value: str, t: Translator, names: dict[str, str]) -> str:
    """`parties`, `police_liaison`, … or `mediator:<id>`, `org:<id>` (with the name), in words."""
    kind, _, ident = value.partition(":")
    key = f"audience.{kind}"
    if key not in catalogue():
        return t("audience.other")
    return t(key, name=names.get(ident, ident)) if ident else t(key)


def org_names(session: Session) -> dict[str, str]:
    return {o.id: o.name for o in session.exec(select(Organization)).all()}


def audience_names(page: CasePage) -> dict[str, str]:
    """Ids a notification's audience may name → who that is."""
    names = {m.id: m.name for m in page.mediators}
    names |= {o.id: o.name for o in page.organizations}
    if page.case.assignment:
        a = page.case.assignment
        names[a.org_id] = a.org_name
        if a.mediator_id and a.mediator_name:
            names[a.mediator_id] = a.mediator_name
    return names
