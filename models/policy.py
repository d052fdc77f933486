"""The Policy (DESIGN §4): every number the workflow enforces, snapshotted into each case."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from models.enums import RiskLevel


class PolicyError(ValueError):
    """The policy file cannot be used (unreadable, unknown key, bad value)."""


class Policy(BaseModel):
    """Legal defaults; durations are ISO-8601 strings in TOML (`P1D`, `PT2H`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acceptance_timeout: timedelta = timedelta(days=1)
    acceptance_timeout_red: timedelta = timedelta(hours=2)
    max_routing_attempts: int = Field(default=3, ge=1)
    supervisor_reminder_every: timedelta = timedelta(days=1)
    risk_ack_sla: timedelta = timedelta(hours=2)
    mediation_deadline: timedelta = timedelta(days=30)
    labor_mediation_deadline: timedelta = timedelta(days=15)
    deadline_reminder_before: timedelta = timedelta(days=3)
    extension: timedelta = timedelta(days=30)
    max_extensions: int = Field(default=1, ge=0)
    judicial_confirmation_window: timedelta = timedelta(days=30)
    first_follow_up_after: timedelta = timedelta(days=7)
    follow_up_every_red: timedelta = timedelta(days=30)
    follow_up_every_yellow: timedelta = timedelta(days=90)
    follow_up_every_green: timedelta = timedelta(days=180)
    follow_up_overdue_after: timedelta = timedelta(days=3)
    # R9: visits in a row that find the agreement not (fully) performed or nobody to ask
    # before the case is referred on (court, or arbitration for labor) and the supervisors
    # are told. Three: a red case's quarter, a green one's eighteen months.
    max_unsettled_visits: int = Field(default=3, ge=1)
    labor_arbitration_limitation: timedelta = timedelta(days=365)
    collective_headcount: int = Field(default=10, ge=2)
    # Not a legal period: how long a step may keep failing to reach the case store before
    # the duty supervisor is alerted (it is then retried in the background, and the case
    # stays workable). Snapshotted like the rest, so tests can shorten it.
    step_alert_after: timedelta = timedelta(minutes=1)
    # How long a closed case's personal data is kept before the retention schedule erases
    # it (DESIGN §9; PIPL art. 47). Ten years: the archive period the centre's mediation
    # files are kept under; set it to the archive rules in force. Not used by the workflow.
    retention: timedelta = timedelta(days=3650)

    def follow_up_every(self, risk: RiskLevel) -> timedelta:
        return {
            RiskLevel.red: self.follow_up_every_red,
            RiskLevel.yellow: self.follow_up_every_yellow,
            RiskLevel.green: self.follow_up_every_green,
        }[risk]

    def acceptance_timeout_for(self, risk: RiskLevel) -> timedelta:
        return self.acceptance_timeout_red if risk is RiskLevel.red else self.acceptance_timeout


# The shortest duration a policy may set. Zero or less would fire a deadline at once and
# spin a repeating reminder without pause; a second is what the demo policies use.
SHORTEST = timedelta(seconds=1)


def too_short(policy: Policy) -> list[str]:
    """Each duration of `policy` below SHORTEST, as `key = value`, in the model's order.

    Checked where a policy is loaded (worker and API start), not by the model itself: the
    model also decodes the policy snapshots in running cases' histories, which must go on
    replaying whatever a later release thinks of them."""
    written = policy.model_dump(mode="json")  # durations as the file writes them: PT0S
    return [
        f"{key} = {written[key]}"
        for key, value in policy
        if isinstance(value, timedelta) and value < SHORTEST
    ]


def load_policy(path: Path | str | None) -> Policy:
    """The built-in defaults when `path` is None, else the TOML file (unknown keys are
    errors, and so is a duration under a second)."""
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except ValueError as exc:
        raise PolicyError(f"invalid policy file {path}: {exc}") from exc
    if short := too_short(policy):
        raise PolicyError(
            f"invalid policy file {path}: {'; '.join(short)}: every duration must be at "
            f"least {int(SHORTEST.total_seconds())} second (zero would fire at once, or "
            "repeat without pause)"
        )
    return policy
