"""Caseload statistics for a period (DESIGN §6 `/stats` and `/reports/monthly`).

Which cases count: those registered in the period, by the local date (Asia/Shanghai) of
their `created_at`, narrowed by the organisation they are assigned to now and their town.
Every figure is about those cases, whenever its events happened. The figures are pure
functions of the case rows and their timeline (`case_events`); `gather` fetches both.

Durations: acceptance in hours, closure in days, red-risk acknowledgement in minutes; each
as a median (`statistics.median`: the mean of the two middle values when their number is
even) and a 90th percentile by nearest rank (the smallest value at least 90 % of the values
are at or below: the ⌈0.9·n⌉-th smallest), so p90 is always a value that occurred.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from statistics import median
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api.schemas import DeadlineShare, FollowUps, OrgCount, RedRisk, Stats, TimeSummary
from core.i18n import ZONE as CENTRE
from models.enums import CaseStatus, DisputeType, Outcome
from models.policy import Policy
from models.tables import Case, CaseEvent, Organization

RESOLVED = (Outcome.resolved.value, Outcome.resolved_on_site.value)
HOUR, DAY, MINUTE = 3600.0, 86400.0, 60.0
# The timeline steps the figures read (models.case.Step values).
KINDS = (
    "assignment",
    "accepted",
    "extension",
    "agreement",
    "closure",
    "reopened",
    "risk_alert",
    "risk_acknowledged",
    "risk_escalation",
    "follow_up_due",
    "follow_up",
)


@dataclass(frozen=True)
class Scope:
    """Which cases the figures are about: registered from `first` to `last` (local dates,
    both included; None: unbounded), assigned to `org_id`, in `town` (None: any)."""

    first: date | None = None
    last: date | None = None
    org_id: str | None = None
    town: str | None = None


def local_midnight(day: date) -> datetime | None:
    """The moment `day` begins in the centre's zone, in UTC; None when that moment is
    outside what a datetime can hold (the first or the last day of the calendar)."""
    try:
        return datetime.combine(day, time(), tzinfo=CENTRE).astimezone(UTC)
    except OverflowError:
        return None


def month_scope(month: str) -> Scope:
    """`YYYY-MM` as the first and last day of that month."""
    year, number = (int(part) for part in month.split("-"))
    if number == 12:
        return Scope(first=date(year, 12, 1), last=date(year, 12, 31))
    return Scope(first=date(year, number, 1), last=date(year, number + 1, 1) - timedelta(days=1))


def case_filter(scope: Scope) -> ColumnElement[bool]:
    """`scope` as a WHERE clause on the cases table."""
    conditions: list[ColumnElement[bool]] = []
    start = local_midnight(scope.first) if scope.first else None
    if start is not None:
        conditions.append(col(Case.created_at) >= start)
    if scope.last is not None and scope.last < date.max:
        end = local_midnight(scope.last + timedelta(days=1))
        if end is not None:
            conditions.append(col(Case.created_at) < end)
    if scope.org_id is not None:
        conditions.append(col(Case.org_id) == scope.org_id)
    if scope.town is not None:
        conditions.append(col(Case.town) == scope.town)
    clause: ColumnElement[bool] = true()
    for condition in conditions:
        clause = clause & condition
    return clause


# --- the rows the figures are computed from --------------------------------------------------


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    at: datetime
    result: str | None = None  # a follow-up visit's result


@dataclass
class CaseFacts:
    """One case as the figures need it: its row's columns and its timeline, in order."""

    id: str
    status: str
    dispute_type: str
    channel: str
    risk_level: str
    town: str
    org_id: str | None
    outcome: str | None
    overdue: bool
    created_at: datetime
    closed_at: datetime | None
    policy: dict[str, Any]
    events: list[Event] = field(default_factory=list)


def fetch(session: Session, scope: Scope) -> list[CaseFacts]:
    """The cases in `scope` with the timeline events the figures read."""
    where = case_filter(scope)
    table = Case.__table__.c  # type: ignore[attr-defined]
    columns = [getattr(table, f.name) for f in fields(CaseFacts) if f.name != "events"]
    rows = session.execute(sa_select(*columns).where(where)).all()
    cases = {r[0]: CaseFacts(*r) for r in rows}
    if not cases:
        return []
    in_scope = select(Case.id).where(where)
    events = session.exec(
        select(CaseEvent.case_id, CaseEvent.seq, CaseEvent.kind, CaseEvent.occurred_at).where(
            col(CaseEvent.kind).in_(KINDS), col(CaseEvent.case_id).in_(in_scope)
        )
    ).all()
    # A visit's result is the only detail read; other steps' details (an agreement's
    # terms, a session's summary) are free text about people and are not fetched.
    results = dict(
        ((case_id, seq), detail.get("result"))
        for case_id, seq, detail in session.exec(
            select(CaseEvent.case_id, CaseEvent.seq, CaseEvent.detail).where(
                CaseEvent.kind == "follow_up", col(CaseEvent.case_id).in_(in_scope)
            )
        ).all()
    )
    for case_id, seq, kind, at in events:
        if case_id in cases:
            cases[case_id].events.append(Event(seq, kind, at, results.get((case_id, seq))))
    for case in cases.values():
        case.events.sort(key=lambda e: e.seq)
    return list(cases.values())


def org_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(
        select(Organization.id, Organization.name).where(col(Organization.id).in_(wanted))
    ).all()
    return dict(rows)


# --- the figures -----------------------------------------------------------------------------


def p90(values: Sequence[float]) -> float:
    """Nearest rank: the ⌈0.9·n⌉-th smallest value."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def summary(values: Sequence[float]) -> TimeSummary:
    if not values:
        return TimeSummary(count=0, median=None, p90=None)
    return TimeSummary(
        count=len(values), median=round(median(values), 4), p90=round(p90(values), 4)
    )


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def first(events: Iterable[Event], kind: str) -> Event | None:
    return next((e for e in events if e.kind == kind), None)


def hours_to_accept(case: CaseFacts) -> float | None:
    """From registration (`created_at`) to the first `accepted` step."""
    accepted = first(case.events, "accepted")
    return (accepted.at - case.created_at).total_seconds() / HOUR if accepted else None


def days_to_close(case: CaseFacts) -> float | None:
    """From registration to `closed_at`, for a closed case."""
    if case.status != CaseStatus.closed.value or case.closed_at is None:
        return None
    return (case.closed_at - case.created_at).total_seconds() / DAY


DEFAULTS = Policy()
DURATION = TypeAdapter(timedelta)


@lru_cache(maxsize=256)
def _duration(key: str, written: str | None) -> timedelta:
    try:
        return getattr(DEFAULTS, key) if written is None else DURATION.validate_python(written)
    except ValidationError:
        return getattr(DEFAULTS, key)


def policy_duration(case: CaseFacts, key: str) -> timedelta:
    """A duration of the policy the case ran under (its snapshot, as written: `P30D`); the
    legal default when the snapshot lacks it or cannot be read. Parsed once per value."""
    written = case.policy.get(key)
    return _duration(key, None if written is None else str(written))


def mediation_period(case: CaseFacts) -> timedelta:
    """R5: 15 days for labor disputes, R6: a month for the rest. The same rule as
    workflows.rules.mediation_period, which the API may not import (tests/test_layers.py)."""
    if case.dispute_type == DisputeType.labor.value:
        return policy_duration(case, "labor_mediation_deadline")
    return policy_duration(case, "mediation_deadline")


def within_deadline(case: CaseFacts, now: datetime) -> bool | None:
    """Whether the case's first round of mediation concluded within its legal period; None
    when it does not count (never accepted, or still within the period).

    The period starts at the first `assignment` for a labor dispute (R5: when the labor
    mediation body receives it), else at the first `accepted` step (R6); it lasts the
    case's policy's mediation period, plus `extension` for each extension recorded before
    the round concluded. The round concludes at the first `agreement` after acceptance or,
    without one, at `closure`. Within: an agreement at or before the deadline, or a closure
    strictly before it (a case whose period runs out is closed at the deadline itself). An
    open case past its deadline with neither counts as not within."""
    accepted = first(case.events, "accepted")
    if accepted is None:
        return None
    labor = case.dispute_type == DisputeType.labor.value
    start = (first(case.events, "assignment") if labor else None) or accepted
    after = [e for e in case.events if e.seq > accepted.seq]
    end = first(after, "agreement") or first(after, "closure")
    extensions = sum(
        1 for e in case.events if e.kind == "extension" and (end is None or e.seq < end.seq)
    )
    deadline = start.at + mediation_period(case) + extensions * policy_duration(case, "extension")
    if end is None:
        return False if now > deadline else None
    if end.kind == "agreement":
        return end.at <= deadline
    return end.at < deadline


@dataclass
class RiskFigures:
    cases: int = 0
    alerts: int = 0
    escalations: int = 0
    unacknowledged: int = 0
    minutes: list[float] = field(default_factory=list)


def risk_alerts(cases: Iterable[CaseFacts]) -> RiskFigures:
    """Each `risk_alert` paired with the first `risk_acknowledged` after it: minutes between
    them; an alert with no acknowledgement after it is unacknowledged."""
    out = RiskFigures()
    for case in cases:
        raised: datetime | None = None
        alerted = False
        for e in case.events:
            if e.kind == "risk_alert":
                if raised is not None:  # a new alert while one is open: the first stays open
                    out.unacknowledged += 1
                raised, alerted = e.at, True
                out.alerts += 1
            elif e.kind == "risk_acknowledged" and raised is not None:
                out.minutes.append((e.at - raised).total_seconds() / MINUTE)
                raised = None
            elif e.kind == "risk_escalation":
                out.escalations += 1
        out.unacknowledged += raised is not None
        out.cases += alerted
    return out


def follow_up_visits(case: CaseFacts) -> list[tuple[str, bool]]:
    """Each recorded visit's result, and whether it was recorded on or before its due date.

    The workflow records `follow_up_due` at the moment a visit falls due when none has been
    recorded by then; so a visit is on time when no `follow_up_due` came between it and the
    step that set its due date (the agreement, the previous visit, a reopening)."""
    visits: list[tuple[str, bool]] = []
    fell_due = False
    for e in case.events:
        if e.kind in ("agreement", "reopened"):
            fell_due = False
        elif e.kind == "follow_up_due":
            fell_due = True
        elif e.kind == "follow_up":
            visits.append((e.result or "unknown", not fell_due))
            fell_due = False
    return visits


def compute(
    cases: Sequence[CaseFacts], names: dict[str, str], scope: Scope, now: datetime
) -> Stats:
    """Every figure of `Stats` for `cases` (see the module's docstring and Stats' fields)."""

    def by(attribute: str) -> dict[str, int]:
        counts = Counter(getattr(c, attribute) for c in cases)
        return {str(k): n for k, n in sorted(counts.items(), key=_order) if k is not None}

    closed = [c for c in cases if c.status == CaseStatus.closed.value]
    resolved = sum(1 for c in closed if c.outcome in RESOLVED)
    closing = [d for c in cases if (d := days_to_close(c)) is not None]
    accepting = [h for c in cases if (h := hours_to_accept(c)) is not None]
    verdicts = [v for c in cases if (v := within_deadline(c, now)) is not None]
    risk = risk_alerts(cases)
    visits = [v for c in cases for v in follow_up_visits(c)]
    on_time = sum(1 for _result, timely in visits if timely)
    by_org = by("org_id")
    return Stats(
        total=len(cases),
        by_status=by("status"),
        by_dispute_type=by("dispute_type"),
        by_org=by_org,
        by_town=by("town"),
        by_risk_level=by("risk_level"),
        closed=len(closed),
        resolved=resolved,
        resolution_rate=share(resolved, len(closed)),
        median_days_to_close=round(median(closing), 4) if closing else None,
        overdue=sum(1 for c in cases if c.overdue),
        period_from=scope.first,
        period_to=scope.last,
        org_id=scope.org_id,
        town=scope.town,
        by_channel=by("channel"),
        by_outcome=by("outcome"),
        organizations=[
            OrgCount(id=org, name=names.get(org), count=n)
            for org, n in sorted(by_org.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        hours_to_accept=summary(accepting),
        days_to_close=summary(closing),
        within_deadline=DeadlineShare(
            concluded=len(verdicts),
            within=sum(verdicts),
            share=share(sum(verdicts), len(verdicts)),
        ),
        red_risk=RedRisk(
            cases=risk.cases,
            alerts=risk.alerts,
            acknowledged=len(risk.minutes),
            unacknowledged=risk.unacknowledged,
            escalations=risk.escalations,
            minutes_to_acknowledge=summary(risk.minutes),
        ),
        follow_ups=FollowUps(
            visits=len(visits),
            by_result=dict(sorted(Counter(result for result, _t in visits).items())),
            on_time=on_time,
            on_time_share=share(on_time, len(visits)),
        ),
    )


def _order(item: tuple[object, int]) -> tuple[int, str]:
    """Counts largest first, then by key: a stable order for clients and reports."""
    key, n = item
    return (-n, str(key))


def gather(session: Session, scope: Scope, now: datetime | None = None) -> Stats:
    """The statistics of the cases in `scope`, as of `now`."""
    cases = fetch(session, scope)
    names = org_names(session, (c.org_id for c in cases if c.org_id))
    return compute(cases, names, scope, now or datetime.now(UTC))
