"""SQLModel tables of the case store (DESIGN §5). Imported by activities and the API only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC, written and read back with its zone on every database: SQLite keeps
    no zone, so what it hands back is marked UTC here, once, instead of at every read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=64, index=True)
    town: str | None = Field(default=None, max_length=64, index=True)
    community: str | None = Field(default=None, max_length=64)
    specialty: str | None = Field(default=None, max_length=64)
    active: bool = True


class Mediator(SQLModel, table=True):
    __tablename__ = "mediators"

    id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=64)
    name: str = Field(max_length=100)
    title: str | None = Field(default=None, max_length=100)
    capacity: int = Field(default=5, ge=0)
    active: bool = True


class Contact(SQLModel, table=True):
    """Whom a non-party audience of the outbox reaches (DESIGN §6): `police_liaison`,
    `duty_supervisor`, `supervisors`, `org:<id>`, `mediator:<id>` (a mediator without a row
    of their own is reached through their organisation's). Work numbers of officials and
    mediation bodies, not parties' personal data: kept in clear so that an admin can change
    them in this table, and out of log lines all the same (notify/senders.py)."""

    __tablename__ = "contacts"

    audience: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)  # the office, post or person the number reaches
    phone: str = Field(max_length=32)


LIST_FILTERS = (
    "dispute_type",
    "mediator_id",
    "org_id",
    "risk_level",
    "status",
    "town",
    "overdue",
    "non_public",
)


class Case(SQLModel, table=True):
    """Read model of a case (DESIGN §6): every persisted step writes its full state here."""

    __tablename__ = "cases"
    # The list filters on each of these and orders by (created_at DESC, id): migration 0004.
    __table_args__ = (
        Index("ix_cases_listing", "created_at", "id"),
        *(
            Index(f"ix_cases_{column}_listing", column, "created_at", "id")
            for column in LIST_FILTERS
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    case_no: str = Field(unique=True, max_length=32)
    workflow_id: str = Field(unique=True, max_length=80)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    status: str = Field(max_length=32)
    dispute_type: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    risk_level: str = Field(max_length=8)
    town: str = Field(max_length=64)
    community: str | None = Field(default=None, max_length=64)
    summary: str = Field(default="")
    non_public: bool = False
    org_id: str | None = Field(default=None, max_length=64)
    mediator_id: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    overdue: bool = False
    acceptance_due: datetime | None = _ts()
    mediation_due: datetime | None = _ts()
    judicial_confirmation_until: datetime | None = _ts()
    next_follow_up_due: datetime | None = _ts()
    last_seq: int = 0
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = _ts()
    erased_at: datetime | None = _ts()  # personal data erased (DESIGN §9)


class Party(SQLModel, table=True):
    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=64)
    position: int
    role: str = Field(max_length=16)
    # Sealed with the case's data key (core/envelope.py): "sealed:<base64>".
    name: str
    phone: str = Field(max_length=255)
    id_number: str | None = Field(default=None, max_length=255)
    address: str | None = None


class CaseEvent(SQLModel, table=True):
    """Append-only timeline; one row per workflow step."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", max_length=64)
    seq: int
    kind: str = Field(max_length=40)
    status: str = Field(max_length=32)
    actor_id: str = Field(max_length=64)
    actor_role: str | None = Field(default=None, max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Notification(SQLModel, table=True):
    """Outbox; a delivery adapter sends and stamps `sent_at`."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_unsent", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # A case's id, or a public report's workflow id (its emergency alerts, R13): no foreign
    # key since migration 0011.
    case_id: str = Field(index=True, max_length=64)
    seq: int
    kind: str = Field(max_length=32)
    audience: str = Field(max_length=64)
    dedupe_key: str = Field(unique=True, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = _ts()
    # Delivery bookkeeping (notify/outbox.py): tries so far, when the next may start (a
    # lease while one is in flight, a backoff after a failure), the last error, the claim
    # token holding the lease, and when the message was given up (a dead letter).
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=200)
    claimed_by: str | None = Field(default=None, max_length=32)
    dead_at: datetime | None = _ts()


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    principal_id: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=64)
    resource: str = Field(max_length=200)
    case_id: str | None = Field(default=None, max_length=64, index=True)
    status_code: int


class ApiPrincipal(SQLModel, table=True):
    __tablename__ = "api_principals"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    org_id: str | None = Field(default=None, foreign_key="organizations.id", max_length=64)
    mediator_id: str | None = Field(default=None, foreign_key="mediators.id", max_length=64)
    token_hash: str = Field(unique=True, max_length=128)
    active: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # DESIGN §9: a token ends at `expires_at`, or at once when revoked (migration 0009).
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = _ts()


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` as its principal sent it (DESIGN §6): bound to the request it
    first came with, and, for a command, to the answer that request got. Only digests: a
    key is the client's string, and may say anything."""

    __tablename__ = "idempotency_keys"

    key_digest: str = Field(primary_key=True, max_length=64)  # of (principal, key)
    principal_id: str = Field(max_length=64, index=True)
    request_hash: str = Field(max_length=64)  # of (route, body)
    case_id: str = Field(max_length=64, index=True)
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsoleSession(SQLModel, table=True):
    """A browser console sign-in (DESIGN §10): its own random id, never the API token. Only
    the id's digest is kept; the CSRF secret its forms must carry; when it ends."""

    __tablename__ = "console_sessions"

    id_digest: str = Field(primary_key=True, max_length=64)
    principal_id: str = Field(foreign_key="api_principals.id", index=True, max_length=64)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # What the session signs in to: the console, or the codec server for the Temporal UI
    # (api/codec.py); one is never the other (migration 0009).
    purpose: str = Field(
        default="console", max_length=16, sa_column_kwargs={"server_default": "console"}
    )


class RouteDecisionRow(SQLModel, table=True):
    """Routing's answer, once per case and step (activities/routing.py): routing weighs the
    mediators' current load, so run again (a local activity whose worker died before its
    workflow task completed) it answers what it answered the first time."""

    __tablename__ = "route_decisions"

    case_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)  # the case's last step when it was routed
    decision: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DataKey(SQLModel, table=True):
    """A case's data key (DESIGN §9), wrapped by the keyring: `<key id>:<base64>`. Erasure
    sets `wrapped` to NULL and keeps the row, so the key is never made again."""

    __tablename__ = "data_keys"

    subject: str = Field(primary_key=True, max_length=80)  # the case's workflow id
    wrapped: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    erased_at: datetime | None = _ts()


class Report(SQLModel, table=True):
    """A report from the public app or a grid worker and its triage (R13): the read model
    its workflow (`report-<report_no>`) writes at every step. The reporter's name and phone
    and the summary are sealed with the report's own data key (core/envelope.py); the
    lookup code is kept only as a hash."""

    __tablename__ = "reports"

    report_no: str = Field(primary_key=True, max_length=32)
    workflow_id: str = Field(unique=True, max_length=80)
    kind: str = Field(max_length=16, index=True)
    channel: str = Field(max_length=16)
    status: str = Field(max_length=32, index=True)
    town: str = Field(max_length=64)
    community: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=100)
    case_id: str | None = Field(default=None, max_length=64, index=True)
    case_no: str | None = Field(default=None, max_length=32)
    code_hash: str = Field(max_length=64)
    reporter_name: str  # sealed
    reporter_phone: str  # sealed
    summary: str  # sealed
    alerts: int = 0
    last_seq: int = 0
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = _ts()
    acknowledged_at: datetime | None = _ts()
