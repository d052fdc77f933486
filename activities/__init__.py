"""Activities: persistence, risk screening, routing — the only code with side effects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from activities.persistence import CaseStore
from activities.risk import screen_risk
from activities.routing import RoutingActivities
from mediation.crypto import Keyring


def all_activities(engine: Engine, keyring: Keyring) -> list[Callable[..., Any]]:
    routing = RoutingActivities(engine)
    return [
        *CaseStore(engine, keyring).activities(),
        screen_risk,
        routing.route_case,
        routing.resolve_assignment,
    ]
