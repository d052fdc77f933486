"""Activities: persistence, risk screening, routing — the only code with side effects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from activities.persistence import persist_activities
from activities.report import report_activities
from activities.retention import RetentionActivities
from activities.risk import screen_risk
from activities.routing import RoutingActivities
from core.envelope import DataKeys
from store.reports import ReportStore
from store.steps import CaseStore


def all_activities(engine: Engine, keys: DataKeys) -> list[Callable[..., Any]]:
    routing = RoutingActivities(engine)
    return [
        *persist_activities(CaseStore(engine, keys)),
        screen_risk,
        routing.route_case,
        routing.resolve_assignment,
        RetentionActivities(engine, keys).erase_expired_cases,
        *report_activities(ReportStore(engine, keys)),
    ]
