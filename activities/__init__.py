"""Activities: persistence, risk screening, routing — the only code with side effects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from activities.persistence import persist_activities
from activities.risk import screen_risk
from activities.routing import RoutingActivities
from core.crypto import Keyring
from store.steps import CaseStore


def all_activities(engine: Engine, keyring: Keyring) -> list[Callable[..., Any]]:
    routing = RoutingActivities(engine)
    return [
        *persist_activities(CaseStore(engine, keyring)),
        screen_risk,
        routing.route_case,
        routing.resolve_assignment,
    ]
