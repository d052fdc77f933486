"""The case as its last persisted step left it: the store is the read model (DESIGN §6).

Every step the workflow persists writes the full case representation into the case's row,
in the same transaction as its timeline row, before the command or intake that caused it
answers. So a read of the row sees at least every step whose answer has been returned, by
anyone, and no read needs the workflow (no query: no server round trip, no worker task).
The commands offered are worked out again at read time, by the same rules the workflow's
validators use, so a window that closed since the last step is not offered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models.case import CaseState
from models.policy import Policy
from models.tables import Case
from workflows import rules


def current_state(row: Case, now: datetime | None = None) -> CaseState:
    state = CaseState.model_validate(row.state)
    policy = Policy.model_validate(row.policy)
    state.allowed_actions = rules.allowed_actions(state, policy, now or datetime.now(UTC))
    return state
